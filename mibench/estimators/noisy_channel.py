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

Its quantity is :data:`~mibench.interface.NOISY_CHANNEL`: ``mibench.run`` runs it only on
datasets that provide a noisy channel (the noisy network layers and linear Gaussian channels),
hands it their clean activations, and sets ``sigma`` to their noise scale
(:meth:`NoisySampleProp.for_channel`); elsewhere its record is ``skipped``. Called directly on
any other pair (x, y) it estimates I(X; Y + Z), which is not I(X; Y).
"""

from __future__ import annotations

import numpy as np

from mibench.estimators.registry import register
from mibench.gaussian_mixture import noisy_channel_mutual_information
from mibench.interface import NOISY_CHANNEL, Estimate, Estimator, NoisyChannel
from mibench.validation import check_integer, check_positive

__all__ = ["NoisySampleProp"]


@register("noisy-sp")
class NoisySampleProp(Estimator):
    """Sample-propagation estimate of I(X; S + Z) for Z ~ N(0, sigma^2 I) of known scale.

    Parameters
    ----------
    sigma : float, default 0.1
        Standard deviation of the channel's Gaussian noise, in the units of ``y``.
    draws : int, default 1
        Monte Carlo noise draws per sample (n * draws in all); the standard error shrinks as
        1 / sqrt(n * draws) and the time grows as draws * n^2. With one draw it was 0.01 to
        0.02 nats at n = 5,000 in our tests.
    seed : int, default 0
        Seed of the Monte Carlo draws.

    Notes
    -----
    ``estimate(x, y)``: ``y`` of shape (n, d) are the clean activations (mixture centres) and
    the distinct rows of ``x`` of shape (n, d_x) group them, as described in the module
    docstring. The extras hold ``stderr`` (Monte Carlo standard error, nats), ``groups`` (the
    number of distinct rows of x) and ``draws_total``.
    """

    quantity = NOISY_CHANNEL

    def __init__(self, *, sigma: float = 0.1, draws: int = 1, seed: int = 0):
        self.sigma = check_positive(sigma, "sigma")
        self.draws = check_integer(draws, "draws", minimum=1)
        self.seed = check_integer(seed, "seed", minimum=0)

    def for_channel(self, channel: NoisyChannel) -> NoisySampleProp:
        """Configured for a dataset's noisy layer: ``sigma`` is the layer's noise scale."""
        return self.with_params(sigma=channel.noise_std)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        _, groups = np.unique(x, axis=0, return_inverse=True)
        result = noisy_channel_mutual_information(
            groups.reshape(-1), y, self.sigma, draws=self.draws, rng=np.random.default_rng(self.seed)
        )
        return Estimate(
            result.value,
            {
                "stderr": result.stderr,
                "groups": int(groups.max()) + 1,
                "draws_total": int(y.shape[0] * self.draws),
            },
        )
