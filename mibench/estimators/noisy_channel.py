"""The sample-propagation (SP) estimator of MI through a Gaussian noisy channel.

Goldfeld, van den Berg, Greenewald, Melnyk, Nguyen, Kingsbury & Polyanskiy, "Estimating
Information Flow in Deep Neural Networks", ICML 2019. In a noisy network every hidden layer is
T = S + Z: the clean activation S plus independent noise Z ~ N(0, sigma^2 I) of known scale.
Given samples of the *clean* S, the law of T is a Gaussian mixture, and

    I(X; T) = h(T) - sum_x p(x) h(T | X = x),

with each entropy that of an equal-weight mixture of N(s_i, sigma^2 I) over the relevant
samples. For a layer whose S is a function of the input, every input has a single centre, so
h(T | X = x) = h(Z) and I(X; T) = h(mixture of all centres) - h(Z). For discrete labels y the
same formula gives I(Y; T) = h(T) - sum_y p(y) h(T | Y = y).

The API
-------
``estimate(x, y)`` takes ``y`` = the clean layer S (the centres; never the noisy T, whose noise
the estimator adds itself) and ``x`` = the variable whose information about T is wanted. The
distinct rows of ``x`` define the groups, so one formula serves both uses and no mode switch is
needed:

- ``x`` = the inputs: I(X; T), with X uniform over the given samples. Continuous inputs are all
  distinct (one centre per group); a finite input set sampled with replacement has repeated
  rows, whose centres coincide in a deterministic layer, or form the conditional mixture
  P(T | X = x) when upstream layers are noisy too (propagate several samples per input).
- ``x`` = discrete class labels: I(Y; T).

What is estimated is the MI of the *empirical* joint law of (x, S) pushed through the channel;
as an estimate of the population MI its error is the SP estimator's finite-sample error, which
Goldfeld et al. bound at order 1 / sqrt(n) with a constant growing exponentially in the
dimension, plus the Monte Carlo error reported in the extras (``stderr``, which covers only the
draws). If ``x`` are continuous inputs while S also depends on upstream noise, each sample is
its own group and the estimate is that of I(S; T) >= I(X; T), not I(X; T).

Deep layers
-----------
Beyond the first layer of a noisy network, S_l is not a function of the input: the noise of
the earlier layers spreads it, and h(T_l | X = x) is the entropy of the mixture of
N(s, sigma^2 I) over the law of S_l given x, not h(Z). There the estimator draws, for every
distinct input x of the sample, ``conditional_draws`` fresh draws of S_l given x through the
noisy earlier layers (Goldfeld et al.'s sample propagation), and computes both entropies from
those draws:

    I(X; T_l) = h(T_l) - sum_x p_n(x) h(T_l | X = x),

p_n the inputs' frequencies in the sample, h(T_l | X = x) the entropy of the mixture over x's
draws, and h(T_l) that of the pooled mixture over every input's draws, each weighing
p_n(x) / draws: P(T_l) = sum_x p_n(x) P(T_l | X = x), so the estimate is the exact MI of one
empirical law. The given samples of S_l fix which inputs enter and how often (n = 20,000 over
the 4,096 szt12 patterns sees almost all of them); their values are not used, since a few
samples per input cannot form a conditional mixture.

Why pooled: a mixture over finitely many draws has less entropy than the law it samples
(entropy is concave), and the shortfall shrinks with the draws. Taken from the n given samples,
h(T_l) fell short by about 0.56 nats on the ReLU szt12 layer 2 at n = 20,000 (0.16 at 80,000),
while h(T_l | X) from 256 draws per input fell short by only about 0.08, so the difference
missed the truth by half a nat. From the pooled draws (about a million centres) h(T_l) falls
short by about as much as h(T_l | X), and the two shortfalls largely cancel
(docs/network-layers.md gives the measurements). The standard error in the extras covers the
Monte Carlo points only, not this finite-draw bias. The draws come from the dataset's channel
(:attr:`~mibench.core.contracts.NoisyChannel.conditional_sampler`), which
:meth:`NoisySampleProp.for_channel` hands to the estimator; without it (called directly) the
estimator groups the given samples by x as above.

Its quantity is :data:`~mibench.core.contracts.NOISY_CHANNEL`: ``mibench.run`` runs it only on
datasets that provide a noisy channel (the noisy network layers and linear Gaussian channels),
hands it their clean activations, and sets ``sigma`` to their noise scale
(:meth:`NoisySampleProp.for_channel`); elsewhere its record is ``skipped``. Called directly on
any other pair (x, y) it estimates I(X; Y + Z), which is not I(X; Y).
"""

from __future__ import annotations

import math

import numpy as np

from mibench.core.contracts import NOISY_CHANNEL, Estimate, Estimator, NoisyChannel
from mibench.core.gaussian_mixture import (
    MAX_KERNEL_EVALUATIONS,
    TARGET_STDERR,
    gaussian_mixture_log_density,
    noisy_channel_mutual_information,
    noisy_channel_mutual_information_to_precision,
)
from mibench.core.threads import process_threads, torch_threads
from mibench.core.validation import InputError, check_integer, check_positive
from mibench.estimators.registry import register

__all__ = ["NoisySampleProp"]

#: Inputs whose draws of S are made (and whose conditional entropies computed) at once.
_SAMPLER_BLOCK = 64
#: Monte Carlo points of the pilot that sizes h(T)'s sample at depth (``draws="auto"``), and
#: the fewest it draws whatever the time cap.
_PILOT_POINTS = 2000
_FEWEST_POINTS = 500


@register("noisy-sp")
class NoisySampleProp(Estimator):
    """Sample-propagation estimate of I(X; S + Z) for Z ~ N(0, sigma^2 I) of known scale.

    Parameters
    ----------
    sigma : float, default 0.1
        Standard deviation of the channel's Gaussian noise, in the units of ``y``.
    draws : int or "auto", default "auto"
        Monte Carlo noise draws. "auto": a pilot of about 2,000 points measures the spread of
        the information density, then as many points are drawn as give a standard error of
        at most ``target_stderr``, within ``max_kernel_evaluations`` (points times samples;
        the default 10^9 is about 5 to 10 s on one core). An integer: that many draws per
        sample (n * draws points), the time growing as draws * n^2.
    target_stderr : float, default 0.003
        The Monte Carlo standard error (nats) that ``draws="auto"`` aims at.
    max_kernel_evaluations : int, default 10**9
        The time cap of ``draws="auto"``: Monte Carlo points times samples at most this.
    seed : int, default 0
        Seed of the Monte Carlo draws.
    conditional_draws : int, default 256
        At a layer with noisy earlier layers (a channel with ``upstream_noise``): draws of S_l
        given each distinct input, for h(T_l | X = x) and, pooled, for h(T_l); see the module
        docstring. There h(T_l) is a mixture of (distinct inputs x conditional_draws) centres,
        so ``draws="auto"`` draws min(the points for ``target_stderr``,
        ``max_kernel_evaluations`` / centres) Monte Carlo points for it, at least 500, and an
        integer ``draws`` means n * draws points.

    Notes
    -----
    ``estimate(x, y)``: ``y`` of shape (n, d) are the clean activations (mixture centres) and
    the distinct rows of ``x`` of shape (n, d_x) group them, as described in the module
    docstring. The extras hold ``stderr`` (Monte Carlo standard error, nats), ``groups`` (the
    number of distinct rows of x), ``draws_total`` (Monte Carlo points) and
    ``target_reached`` (whether ``stderr <= target_stderr``; with "auto", False only where
    the time cap stopped the draws first).
    """

    quantity = NOISY_CHANNEL
    #: It can estimate I(X; T_l) where S_l is spread by earlier noise, given draws of S_l | x.
    handles_upstream_noise = True

    def __init__(
        self,
        *,
        sigma: float = 0.1,
        draws: int | str = "auto",
        target_stderr: float = TARGET_STDERR,
        max_kernel_evaluations: int = MAX_KERNEL_EVALUATIONS,
        seed: int = 0,
        conditional_draws: int = 256,
    ):
        self.sigma = check_positive(sigma, "sigma")
        if isinstance(draws, str):
            if draws != "auto":
                raise InputError(f"draws must be 'auto' or a positive integer, got {draws!r}")
            self.draws = draws
        else:
            self.draws = check_integer(draws, "draws", minimum=1)
        self.target_stderr = check_positive(target_stderr, "target_stderr")
        self.max_kernel_evaluations = check_integer(
            max_kernel_evaluations, "max_kernel_evaluations", minimum=1
        )
        self.seed = check_integer(seed, "seed", minimum=0)
        self.conditional_draws = check_integer(conditional_draws, "conditional_draws", minimum=2)
        # Set by for_channel for a layer whose earlier layers are noisy; not a parameter (the
        # dataset, part of every run's identity, decides it).
        self.conditional_sampler = None

    def for_channel(self, channel: NoisyChannel) -> NoisySampleProp:
        """Configured for a dataset's noisy layer: ``sigma`` is the layer's noise scale, and
        where earlier layers are noisy too, draws of S given x come from the channel."""
        configured = self.with_params(sigma=channel.noise_std)
        if channel.upstream_noise and not channel.x_is_label:
            configured.conditional_sampler = channel.conditional_sampler
        return configured

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        if self.conditional_sampler is not None:
            return self._estimate_at_depth(x, y)
        _, groups = np.unique(x, axis=0, return_inverse=True)
        groups = groups.reshape(-1)
        rng = np.random.default_rng(self.seed)
        if self.draws == "auto":
            result = noisy_channel_mutual_information_to_precision(
                groups,
                y,
                self.sigma,
                rng=rng,
                target_stderr=self.target_stderr,
                max_kernel_evaluations=self.max_kernel_evaluations,
            )
            points = result.points
        else:
            result = noisy_channel_mutual_information(
                groups, y, self.sigma, draws=self.draws, rng=rng
            )
            points = y.shape[0] * self.draws
        return Estimate(
            result.value,
            {
                "stderr": result.stderr,
                "groups": int(groups.max()) + 1,
                "draws_total": int(points),
                "target_reached": bool(result.stderr <= self.target_stderr),
            },
        )

    def _estimate_at_depth(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        """h(T) and h(T | X) from the same draws of S given each input of the sample."""
        rng = np.random.default_rng(self.seed)
        n, dim = y.shape
        inputs, counts = np.unique(x, axis=0, return_counts=True)
        weights = counts / n
        per_input = self.conditional_draws
        centres = self._conditional_centres(inputs, dim, rng)
        conditional, conditional_variance = self._conditional_entropy(centres, weights, rng)
        # P(T) = sum_x p_n(x) P(T | X = x): the pooled draws, each weighing p_n(x) / draws, are
        # the mixture of the conditional mixtures above, so both entropies describe one
        # empirical law (their Monte Carlo points are independent).
        pooled = centres.reshape(-1, dim)
        pooled_weights = np.repeat(weights / per_input, per_input)

        def log_density_at_fresh_points(count: int) -> np.ndarray:
            chosen = rng.choice(pooled.shape[0], size=count, p=pooled_weights)
            points = pooled[chosen] + self.sigma * rng.standard_normal((count, dim))
            return gaussian_mixture_log_density(points, pooled, self.sigma, pooled_weights)

        if self.draws == "auto":
            # Within the time cap where it allows at least _FEWEST_POINTS (about 0.1 nats of
            # standard error at worst); a pilot says how many the target would need.
            affordable = max(_FEWEST_POINTS, self.max_kernel_evaluations // pooled.shape[0])
            log_p = log_density_at_fresh_points(min(_PILOT_POINTS, affordable))
            wanted = math.ceil((log_p.std(ddof=1) / self.target_stderr) ** 2)
            more = min(wanted, affordable) - log_p.size
            if more > 0:
                log_p = np.concatenate([log_p, log_density_at_fresh_points(more)])
        else:
            log_p = log_density_at_fresh_points(n * self.draws)
        marginal = float(-log_p.mean())
        value = marginal - conditional
        stderr = math.sqrt(log_p.var(ddof=1) / log_p.size + conditional_variance)
        return Estimate(
            value,
            {
                "stderr": stderr,
                "groups": int(inputs.shape[0]),
                "entropy_t": marginal,
                "conditional_entropy_t": conditional,
                "conditional_draws": per_input,
                "draws_total": int(log_p.size),
                "target_reached": bool(stderr <= self.target_stderr),
            },
        )

    def _conditional_centres(self, inputs: np.ndarray, dim: int, rng) -> np.ndarray:
        """``conditional_draws`` draws of S given each input, shape (inputs, draws, dim)."""
        blocks = []
        for start in range(0, inputs.shape[0], _SAMPLER_BLOCK):
            block = inputs[start : start + _SAMPLER_BLOCK]
            drawn = np.asarray(
                self.conditional_sampler(block, self.conditional_draws, rng), dtype=np.float64
            )
            if drawn.shape != (block.shape[0], self.conditional_draws, dim):
                raise InputError(
                    f"the channel's conditional sampler gave draws of shape {drawn.shape}, "
                    f"not ({block.shape[0]}, {self.conditional_draws}, {dim})"
                )
            blocks.append(drawn)
        return np.concatenate(blocks)

    def _conditional_entropy(self, centres: np.ndarray, weights: np.ndarray, rng):
        """sum_x p_n(x) h(T | X = x), each conditional law the mixture over its draws of S,
        by one Monte Carlo point per draw; and the variance of that average."""
        import torch  # here, so that importing mibench does not import torch

        inputs, draws, dim = centres.shape
        constant = 0.5 * dim * math.log(2 * math.pi * self.sigma**2) + math.log(draws)
        entropy = 0.0
        variance = 0.0
        # The process's threads, as in gaussian_mixture_log_density (one in a grid's worker).
        with torch_threads(process_threads()):
            for start in range(0, inputs, _SAMPLER_BLOCK):
                block = slice(start, start + _SAMPLER_BLOCK)
                own = torch.from_numpy(centres[block])
                points = own + self.sigma * torch.from_numpy(rng.standard_normal(own.shape))
                # -|t - s|^2 / (2 sigma^2), expanded as in gaussian_mixture_log_density.
                exponents = torch.baddbmm(
                    -0.5 * (own * own).sum(dim=2)[:, None, :], points, own.transpose(1, 2)
                ).div_(self.sigma**2)
                exponents -= 0.5 * (points * points).sum(dim=2)[:, :, None] / self.sigma**2
                exponents.clamp_(max=0.0)
                largest = exponents.amax(dim=2, keepdim=True)
                # Floored at -80 as in gaussian_mixture_log_density (exp's fast path).
                sums = exponents.sub_(largest).clamp_(min=-80.0).exp_().sum(dim=2).log_()
                log_p = (sums + largest[:, :, 0] - constant).numpy()
                entropy += float((weights[block] * -log_p.mean(axis=1)).sum())
                variance += float((weights[block] ** 2 * log_p.var(axis=1, ddof=1)).sum()) / draws
        return entropy, variance
