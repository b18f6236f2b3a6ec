"""Exact MI of one-dimensional Gaussian noisy channels by numerical quadrature (scipy).

These are the experiments' references. They integrate the densities directly and share no code
with the estimators they judge (in particular not :mod:`mibench.core.gaussian_mixture`, the Monte
Carlo that ``noisy-sp`` uses): for T = S + Z with Z ~ N(0, sigma^2) independent of X and S a
function of X,

    I(X; T) = h(T) - h(Z),    h(Z) = log(sigma sqrt(2 pi e)),

with p_T the law of S smoothed by the Gaussian kernel, and h(T) = -int p_T log p_T dt by
adaptive quadrature (``scipy.integrate.quad``). All values in nats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import integrate, optimize

__all__ = ["gaussian_noise_entropy", "noisy_continuous_channel_mi", "noisy_discrete_channel_mi"]

# Past this many noise scales beyond the support of S, p_T is below e^-72: nothing to integrate.
_TAIL_SIGMAS = 12.0


def gaussian_noise_entropy(sigma: float) -> float:
    """h(Z) of Z ~ N(0, sigma^2), in nats."""
    return 0.5 * math.log(2 * math.pi * math.e * sigma**2)


def _entropy(density: Callable[[float], float], low: float, high: float, breaks) -> float:
    def integrand(t: float) -> float:
        p = density(t)
        return -p * math.log(p) if p > 0 else 0.0

    value, _ = integrate.quad(
        integrand, low, high, points=sorted(breaks), limit=500, epsabs=1e-10, epsrel=1e-10
    )
    return value


def noisy_discrete_channel_mi(centres: Sequence[float], sigma: float, weights=None) -> float:
    """I(X; S + Z) for X on a finite set mapped to the points ``centres`` (S = s(X)).

    Parameters
    ----------
    centres : sequence of float, shape (m,)
        s(x) for each input x; repeated values are allowed (they merge).
    sigma : float
        Noise standard deviation, in the units of ``centres``.
    weights : sequence of float, optional
        P(X = x) of each input; uniform by default.

    Returns
    -------
    float
        The MI in nats: h(mixture of N(s(x), sigma^2)) - h(Z).
    """
    centres = np.asarray(centres, dtype=np.float64).ravel()
    weights = (np.full(centres.size, 1.0 / centres.size) if weights is None
               else np.asarray(weights, dtype=np.float64) / np.sum(weights))

    weights = weights / (sigma * math.sqrt(2 * math.pi))

    def density(t: float) -> float:
        return float(weights @ np.exp(-0.5 * ((t - centres) / sigma) ** 2))

    low, high = centres.min() - _TAIL_SIGMAS * sigma, centres.max() + _TAIL_SIGMAS * sigma
    return _entropy(density, low, high, set(centres.tolist())) - gaussian_noise_entropy(sigma)


def noisy_continuous_channel_mi(
    function: Callable[[np.ndarray], np.ndarray], low: float, high: float, sigma: float
) -> float:
    """I(X; f(X) + Z) for X uniform on [low, high] and a continuous, monotone ``function``.

    p_T(t) = int_low^high phi_sigma(t - f(x)) dx / (high - low), itself by ``quad``.

    Parameters
    ----------
    function : callable
        f, vectorized over numpy arrays; monotone on [low, high] (its range is [f(low), f(high)]
        up to order).
    low, high : float
        The support of X.
    sigma : float
        Noise standard deviation.

    Returns
    -------
    float
        The MI in nats.
    """
    width = high - low
    f_low, f_high = sorted((float(function(np.float64(low))), float(function(np.float64(high)))))
    increasing = float(function(np.float64(high))) >= float(function(np.float64(low)))

    normalisation = 1.0 / (sigma * math.sqrt(2 * math.pi) * width)

    def preimage(level: float) -> float:
        """x in [low, high] with f(x) = level, clipped to the ends (f is monotone)."""
        if level <= f_low:
            return low if increasing else high
        if level >= f_high:
            return high if increasing else low
        return optimize.brentq(lambda x: float(function(np.float64(x))) - level, low, high,
                               xtol=1e-15, rtol=1e-15)

    def density(t: float) -> float:
        # Only x with |f(x) - t| < 12 sigma contribute; integrating over that window alone keeps
        # quad accurate when sigma is small against the range of f (a narrow bump in x).
        ends = sorted((preimage(t - _TAIL_SIGMAS * sigma), preimage(t + _TAIL_SIGMAS * sigma)))
        if ends[1] <= ends[0]:
            return 0.0
        # math.exp, not scipy.stats: this integrand is called some 10^5 times.
        value, _ = integrate.quad(
            lambda x: math.exp(-0.5 * ((t - float(function(np.float64(x)))) / sigma) ** 2),
            ends[0], ends[1], limit=500, epsabs=1e-13, epsrel=1e-10,
        )
        return value * normalisation

    # Break points where p_T changes on the scale of sigma: the two ends of the range of f.
    breaks = {f_low, f_high}
    for end in (f_low, f_high):
        breaks |= {end - 3 * sigma, end + 3 * sigma}
    return _entropy(
        density, f_low - _TAIL_SIGMAS * sigma, f_high + _TAIL_SIGMAS * sigma, breaks
    ) - gaussian_noise_entropy(sigma)
