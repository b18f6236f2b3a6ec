"""Bijections (and one embedding) applied to samples of a base task; each keeps the task's MI.

MI is invariant under any bijection of X and of Y, so a transformed task has its base task's
MI exactly (the talk's third claim, here put to use). The names and parameters follow the
reference implementation of Beyond-Normal (the ``bmi`` package): where bmi transforms X and Y
differently (``wiggly``, ``spiral``, the bimodal margins), :func:`transform_pair` says how.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr, ndtri_exp

__all__ = [
    "COORDINATEWISE",
    "TRANSFORM_NAMES",
    "asinh",
    "bimodal_x",
    "bimodal_y",
    "half_cube",
    "mixture_quantile_map",
    "normal_cdf",
    "spiral",
    "swissroll",
    "transform_pair",
    "wiggly_x",
    "wiggly_y",
]

Transform = Callable[[np.ndarray], np.ndarray]


def normal_cdf(values: np.ndarray) -> np.ndarray:
    """The standard normal CDF on every coordinate: R -> (0, 1)."""
    return ndtr(values)


def half_cube(values: np.ndarray) -> np.ndarray:
    """x * sqrt(|x|): strictly increasing, heavier tails."""
    return values * np.sqrt(np.abs(values))


def asinh(values: np.ndarray) -> np.ndarray:
    """The inverse hyperbolic sine: strictly increasing, lighter (logarithmic) tails."""
    return np.arcsinh(values)


def wiggly_x(values: np.ndarray) -> np.ndarray:
    """bmi's map of X: x + 0.4 sin x + 0.2 sin(1.7 x + 1) + 0.03 sin(3.3 x - 2.5).

    Its derivative is at least 1 - 0.4 - 0.34 - 0.099 > 0, so it is strictly increasing.
    """
    return (
        values
        + 0.4 * np.sin(values)
        + 0.2 * np.sin(1.7 * values + 1.0)
        + 0.03 * np.sin(3.3 * values - 2.5)
    )


def wiggly_y(values: np.ndarray) -> np.ndarray:
    """bmi's map of Y: y - 0.4 sin(0.4 y) + 0.17 sin(1.3 y + 3.5) + 0.02 sin(4.3 y - 2.5).

    Its derivative is at least 1 - 0.16 - 0.221 - 0.086 > 0, so it is strictly increasing.
    """
    return (
        values
        - 0.4 * np.sin(0.4 * values)
        + 0.17 * np.sin(1.3 * values + 3.5)
        + 0.02 * np.sin(4.3 * values - 2.5)
    )


@functools.cache
def _mixture_quantile_grid(
    weights: tuple[float, ...], means: tuple[float, ...], scales: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (z, t) with Phi(z) = F(t), F the CDF of a normal mixture, z strictly increasing.

    Below the mixture's median z = Phi^-1(F(t)) is computed from log F, above it from
    log(1 - F), so the map stays accurate and increasing far into both tails (where F or
    1 - F would round to 0 or 1).
    """
    weights_, means_, scales_ = (np.asarray(v, dtype=np.float64) for v in (weights, means, scales))
    reach = 40.0 * scales_.max()
    t = np.linspace(means_.min() - reach, means_.max() + reach, 400_001)
    standardized = (t[:, None] - means_) / scales_
    log_weights = np.log(weights_)
    log_cdf = logsumexp(log_ndtr(standardized) + log_weights, axis=1)
    log_survival = logsumexp(log_ndtr(-standardized) + log_weights, axis=1)
    lower = log_cdf < math.log(0.5)
    z = np.where(
        lower,
        ndtri_exp(np.where(lower, log_cdf, -1.0)),
        -ndtri_exp(np.where(lower, -1.0, log_survival)),
    )
    increasing = np.concatenate([[True], np.diff(z) > 0])  # drop the flat ends, if any
    return z[increasing], t[increasing]


def mixture_quantile_map(
    weights: tuple[float, ...], means: tuple[float, ...], scales: tuple[float, ...]
) -> Transform:
    """F^-1 o Phi, F the CDF of sum_k w_k N(m_k, s_k^2): a standard normal to the mixture.

    Evaluated by monotone interpolation on a fine grid (40 component scales beyond the extreme
    means, 400,001 points), so it is a strictly increasing piecewise-linear function, a
    bijection however fine the grid; its error against the exact quantile function is below
    1e-8 for |z| <= 8 (checked against a root finder).
    """
    parameters = (tuple(weights), tuple(means), tuple(scales))

    def quantile_of_normal(values: np.ndarray) -> np.ndarray:
        # The grid is built on first use (once per process), not when the module is imported.
        z, t = _mixture_quantile_grid(*parameters)
        return np.interp(values, z, t)

    return quantile_of_normal


# bmi's 1v1-bimodal margins: X ~ 0.3 N(0, 1) + 0.7 N(5, 1), Y ~ 0.5 N(-1, 1) + 0.5 N(3, 1).
bimodal_x = mixture_quantile_map((0.3, 0.7), (0.0, 5.0), (1.0, 1.0))
bimodal_y = mixture_quantile_map((0.5, 0.5), (-1.0, 3.0), (1.0, 1.0))


def spiral(values: np.ndarray, speed: float, plane: tuple[int, int] = (0, 1)) -> np.ndarray:
    """v -> expm(speed |v|^2 A) v, A the so(d) generator of the coordinate plane (i, j).

    A[i, j] = -1 and A[j, i] = 1, so expm(theta A) rotates coordinates i and j by the angle
    theta and leaves the others alone. The rotation keeps |v|, so the inverse rotates back by
    the same angle: a bijection of R^d.

    Parameters
    ----------
    values : ndarray of shape (n, d)
    speed : float
        Radians per unit of |v|^2.
    plane : (int, int)
        The two (0-based) coordinates rotated, i < j.
    """
    values = np.array(values, dtype=np.float64, copy=True)
    i, j = plane
    if not 0 <= i < j < values.shape[1]:
        raise ValueError(f"spiral: plane {plane} is not a pair i < j of the {values.shape[1]} coordinates")
    angle = speed * np.sum(values**2, axis=1)
    cos, sin = np.cos(angle), np.sin(angle)
    first, second = values[:, i].copy(), values[:, j].copy()
    values[:, i] = cos * first - sin * second
    values[:, j] = sin * first + cos * second
    return values


def swissroll(values: np.ndarray) -> np.ndarray:
    """Embed a coordinate in [0, 1] into the plane as a Swiss roll: injective, so MI is kept.

    t = 1.5 pi (1 + 2 u); the point (t cos t, t sin t) / 21 has radius t / 21, strictly
    increasing in u.
    """
    t = 1.5 * math.pi * (1.0 + 2.0 * values[:, 0])
    return np.column_stack([t * np.cos(t), t * np.sin(t)]) / 21.0


#: Transforms bmi applies with the same map to every coordinate of X and of Y.
COORDINATEWISE: dict[str, Transform] = {
    "normal_cdf": normal_cdf,
    "half_cube": half_cube,
    "asinh": asinh,
}

#: Every name a task id may carry as a transform prefix (``swissroll_x`` embeds X only).
TRANSFORM_NAMES = ("swissroll_x", "normal_cdf", "half_cube", "asinh", "wiggly", "spiral")


def transform_pair(name: str, dim_x: int, dim_y: int) -> tuple[Transform, Transform]:
    """The maps bmi's transform ``name`` applies to X and to Y of a (dim_x, dim_y) task.

    - coordinatewise maps: the same on X and Y;
    - ``wiggly`` (1-d): :func:`wiggly_x` on X and :func:`wiggly_y` on Y;
    - ``spiral``: speed 1 / d on each side, the plane of coordinates (0, 1) for X and (1, 2)
      for Y (bmi's ``transform_spiral_task``), so X needs 2 and Y 3 dimensions at least;
    - ``swissroll_x``: the Swiss roll on a 1-d X in [0, 1], Y unchanged.
    """
    if name in COORDINATEWISE:
        function = COORDINATEWISE[name]
        return function, function
    if name == "wiggly":
        if (dim_x, dim_y) != (1, 1):
            raise ValueError(f"wiggly maps one-dimensional X and Y, got {dim_x} x {dim_y}")
        return wiggly_x, wiggly_y
    if name == "spiral":
        if dim_x < 2 or dim_y < 3:
            raise ValueError(
                "spiral rotates the plane (1, 2) of X and (2, 3) of Y: it needs dim_x >= 2 and "
                f"dim_y >= 3, got {dim_x} x {dim_y}"
            )
        return (
            functools.partial(spiral, speed=1.0 / dim_x, plane=(0, 1)),
            functools.partial(spiral, speed=1.0 / dim_y, plane=(1, 2)),
        )
    if name == "swissroll_x":
        if dim_x != 1:
            raise ValueError(f"swissroll_x embeds a one-dimensional X, got dim_x={dim_x}")
        return swissroll, _identity
    raise ValueError(f"unknown transform {name!r}; known: {', '.join(TRANSFORM_NAMES)}")


def _identity(values: np.ndarray) -> np.ndarray:
    return values
