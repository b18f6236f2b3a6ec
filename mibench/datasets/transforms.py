"""Bijections (and one embedding) applied to samples of a base task; each keeps the task's MI.

MI is invariant under any bijection of X and of Y, so a transformed task has its base task's
MI exactly (the talk's third claim, here put to use). The names follow Beyond-Normal v1.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri_exp

__all__ = ["TRANSFORMS", "asinh", "bimodal", "half_cube", "normal_cdf", "spiral", "swissroll", "wiggly"]


def normal_cdf(values: np.ndarray) -> np.ndarray:
    """The standard normal CDF on every coordinate: R -> (0, 1)."""
    return ndtr(values)


def half_cube(values: np.ndarray) -> np.ndarray:
    """x * sqrt(|x|): strictly increasing, heavier tails."""
    return values * np.sqrt(np.abs(values))


def asinh(values: np.ndarray) -> np.ndarray:
    """The inverse hyperbolic sine: strictly increasing, lighter (logarithmic) tails."""
    return np.arcsinh(values)


def wiggly(values: np.ndarray) -> np.ndarray:
    """x + 0.4 sin x + 0.2 sin(1.7 x + 1) + 0.03 sin(3.3 x - 2.5).

    Its derivative is at least 1 - 0.4 - 0.34 - 0.099 > 0, so it is strictly increasing.
    """
    return (
        values
        + 0.4 * np.sin(values)
        + 0.2 * np.sin(1.7 * values + 1.0)
        + 0.03 * np.sin(3.3 * values - 2.5)
    )


# The bimodal marginal: an equal mixture of N(-1, 0.5^2) and N(1, 0.5^2).
_BIMODAL_MEAN = 1.0
_BIMODAL_SCALE = 0.5


@functools.cache
def _bimodal_grid() -> tuple[np.ndarray, np.ndarray]:
    """Pairs (z, t) with Phi(z) = F(t), F the mixture's CDF, on a fine grid, z increasing.

    The lower half is computed in log space (log Phi^-1 of log F), which keeps the map
    strictly increasing far into the tails; the upper half follows by symmetry.
    """
    t = np.linspace(-_BIMODAL_MEAN - 60 * _BIMODAL_SCALE, 0.0, 200_001)
    log_cdf = np.logaddexp(
        log_ndtr((t + _BIMODAL_MEAN) / _BIMODAL_SCALE), log_ndtr((t - _BIMODAL_MEAN) / _BIMODAL_SCALE)
    ) - math.log(2.0)
    z = ndtri_exp(log_cdf)
    z = np.concatenate([z[:-1], -z[::-1]])
    t = np.concatenate([t[:-1], -t[::-1]])
    return z, t


def bimodal(values: np.ndarray) -> np.ndarray:
    """Send a standard normal coordinate to the bimodal mixture 1/2 N(-1, 1/4) + 1/2 N(1, 1/4).

    The map is F^-1 o Phi, F the mixture's CDF, by monotone interpolation on a fine grid: a
    strictly increasing piecewise-linear function, so a bijection however fine the grid.
    """
    z, t = _bimodal_grid()
    return np.interp(values, z, t)


def spiral(values: np.ndarray, speed: float = 1.0 / 3.0) -> np.ndarray:
    """Rotate the first two coordinates by an angle speed * |x|^2 (a spiral diffeomorphism).

    The rotation keeps |x|, so the inverse rotates back by the same angle: a bijection of R^d.
    """
    values = np.array(values, dtype=np.float64, copy=True)
    angle = speed * np.sum(values**2, axis=1)
    cos, sin = np.cos(angle), np.sin(angle)
    first, second = values[:, 0].copy(), values[:, 1].copy()
    values[:, 0] = cos * first - sin * second
    values[:, 1] = sin * first + cos * second
    return values


def swissroll(values: np.ndarray) -> np.ndarray:
    """Embed a coordinate in [0, 1] into the plane as a Swiss roll: injective, so MI is kept.

    t = 1.5 pi (1 + 2 u); the point (t cos t, t sin t) / 21 has radius t / 21, strictly
    increasing in u.
    """
    t = 1.5 * math.pi * (1.0 + 2.0 * values[:, 0])
    return np.column_stack([t * np.cos(t), t * np.sin(t)]) / 21.0


#: Transforms applied to both X and Y, by their Beyond-Normal name.
TRANSFORMS = {
    "normal_cdf": normal_cdf,
    "half_cube": half_cube,
    "asinh": asinh,
    "wiggly": wiggly,
    "bimodal": bimodal,
    "spiral": spiral,
}
