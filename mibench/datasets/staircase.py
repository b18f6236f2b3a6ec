"""The MI staircase of Poole et al. (2019) and Song & Ermon (2020), as ground-truth datasets.

X and Y are 20-dimensional standard normals whose coordinates are paired: (X_i, Y_i) has
correlation rho and is independent of every other pair, so

    I(X; Y) = sum_i -1/2 log(1 - rho^2) = -10 log(1 - rho^2)    (20 pairs, nats),

and rho = sqrt(1 - exp(-I / 10)) gives exactly I = 2, 4, 6, 8, 10 nats: the staircase. The
cubic variant applies y -> y^3 to every coordinate of Y, a bijection, so the MI is unchanged
while the density ratio a critic must learn is no longer a quadratic form.

Names: ``staircase-{gaussian|cubic}-{dim}-{mi}``, e.g. ``staircase-gaussian-20-2`` and
``staircase-cubic-20-10`` (MI in whole nats). Tags: ``staircase`` and ``neural-benchmark``;
they are not part of the default suite, since their high MI is there to show the limits of
the variational bounds (InfoNCE's log(batch size) ceiling, the variance of DV and NWJ).
"""

from __future__ import annotations

import math

import numpy as np

from mibench.core.contracts import Dataset
from mibench.datasets.registry import register_dataset

__all__ = [
    "STAIRCASE_DIM",
    "STAIRCASE_KINDS",
    "STAIRCASE_LEVELS",
    "STAIRCASE_TAGS",
    "make_staircase",
    "staircase_correlation",
    "staircase_name",
]

#: Dimension of X and of Y.
STAIRCASE_DIM = 20
#: The MI of the steps, in nats.
STAIRCASE_LEVELS = (2, 4, 6, 8, 10)
#: "gaussian": the correlated normals; "cubic": the same with y -> y^3.
STAIRCASE_KINDS = ("gaussian", "cubic")
#: Registry tags of every staircase dataset (deliberately not the default-suite tag).
STAIRCASE_TAGS = ("staircase", "neural-benchmark")


def staircase_correlation(mutual_information: float, dim: int = STAIRCASE_DIM) -> float:
    """The correlation rho of each of ``dim`` independent pairs that gives the total MI (nats).

    Inverts I = -dim/2 log(1 - rho^2): rho = sqrt(1 - exp(-2 I / dim)).
    """
    if not mutual_information > 0 or not math.isfinite(mutual_information):
        raise ValueError(f"the staircase needs a finite MI > 0, got {mutual_information!r}")
    return math.sqrt(-math.expm1(-2.0 * mutual_information / dim))


def staircase_name(kind: str, mutual_information: int, dim: int = STAIRCASE_DIM) -> str:
    """The registry name, e.g. ``staircase_name("cubic", 10) == "staircase-cubic-20-10"``."""
    return f"staircase-{kind}-{dim}-{mutual_information:g}"


def make_staircase(kind: str, mutual_information: float, dim: int = STAIRCASE_DIM) -> Dataset:
    """A step of the staircase: ``dim``-dimensional X and Y with total MI in nats.

    Parameters
    ----------
    kind : {"gaussian", "cubic"}
        Correlated normals, or the same with every coordinate of Y cubed.
    mutual_information : float
        I(X; Y) in nats.
    dim : int, default 20
        Dimension of X and of Y (one correlated pair per coordinate).
    """
    if kind not in STAIRCASE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(STAIRCASE_KINDS)}, got {kind!r}")
    rho = staircase_correlation(mutual_information, dim)
    noise_scale = math.sqrt(1.0 - rho**2)
    cubic = kind == "cubic"

    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal((n, dim))
        y = rho * x + noise_scale * rng.standard_normal((n, dim))
        return x, (y**3 if cubic else y)

    return Dataset(
        name=staircase_name(kind, mutual_information, dim),
        dim_x=dim,
        dim_y=dim,
        mutual_information=float(mutual_information),
        sampler=sample,
        tags=frozenset({*STAIRCASE_TAGS, kind, "transformed" if cubic else "multinormal"}),
        description=(
            f"{dim} independent pairs (X_i, Y_i) of standard normals with correlation "
            f"{rho:.4f}" + (", then Y -> Y^3 coordinatewise" if cubic else "")
        ),
    )


def _register() -> None:
    for kind in STAIRCASE_KINDS:
        for level in STAIRCASE_LEVELS:
            register_dataset(
                staircase_name(kind, level),
                lambda kind=kind, level=level: make_staircase(kind, level),
                tags=STAIRCASE_TAGS,
            )


_register()
