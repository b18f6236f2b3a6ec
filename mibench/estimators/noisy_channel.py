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

Its quantity is :data:`~mibench.core.contracts.NOISY_CHANNEL`: ``mibench.run`` runs it only on
datasets that provide a noisy channel (the noisy network layers and linear Gaussian channels),
hands it their clean activations, and sets ``sigma`` to their noise scale
(:meth:`NoisySampleProp.for_channel`); elsewhere its record is ``skipped``. Called directly on
any other pair (x, y) it estimates I(X; Y + Z), which is not I(X; Y).
"""

from __future__ import annotations

import numpy as np

from mibench.core.contracts import NOISY_CHANNEL, Estimate, Estimator, NoisyChannel
from mibench.core.gaussian_mixture import (
    MAX_KERNEL_EVALUATIONS,
    TARGET_STDERR,
    noisy_channel_mutual_information,
    noisy_channel_mutual_information_to_precision,
)
from mibench.core.validation import InputError, check_integer, check_positive
from mibench.estimators.registry import register

__all__ = ["NoisySampleProp"]


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

    def __init__(
        self,
        *,
        sigma: float = 0.1,
        draws: int | str = "auto",
        target_stderr: float = TARGET_STDERR,
        max_kernel_evaluations: int = MAX_KERNEL_EVALUATIONS,
        seed: int = 0,
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

    def for_channel(self, channel: NoisyChannel) -> NoisySampleProp:
        """Configured for a dataset's noisy layer: ``sigma`` is the layer's noise scale."""
        return self.with_params(sigma=channel.noise_std)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
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
