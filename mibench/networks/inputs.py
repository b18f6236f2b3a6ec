"""Inputs for the networks: made here or shipped with scikit-learn, never downloaded.

Each input is an :class:`Inputs`: a set of training points with class labels, and a law to draw
X from. Two kinds matter for the truth of I(X; L):

- *finite* inputs (``szt12``, ``digits``): X is uniform over a finite set of points, so a
  deterministic layer has I(X; L) = H(L), finite and computable by grouping identical rows;
- *continuous* inputs (``gaussian-mixture``): X has a density, so a deterministic layer with an
  injective activation has I(X; L) = infinity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.special import logsumexp

from mibench.core.validation import InputError

__all__ = [
    "INPUTS",
    "INPUT_DIMENSIONS",
    "Inputs",
    "digits",
    "gaussian_mixture",
    "gaussian_mixture_log_posterior",
    "get_inputs",
    "icosahedron_vertices",
    "szt12",
    "szt12_rule",
]


@dataclass(frozen=True, eq=False)
class Inputs:
    """Training points, their labels, and the law of X.

    Attributes
    ----------
    name : str
    x : ndarray of float64, shape (m, d)
        The finite input set (``finite``) or a fixed training sample (continuous inputs).
    labels : ndarray of int64, shape (m,)
        Class of each row of ``x``, in 0 ... n_classes - 1.
    n_classes : int
    finite : bool
        True if X is uniform over the rows of ``x``; False if X has a density.
    description : str
    sampler : callable (n, rng) -> (x, labels), optional
        Draws from the density of a continuous input; None for a finite one.
    """

    name: str
    x: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    n_classes: int
    finite: bool
    description: str = ""
    sampler: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]] | None = field(
        default=None, repr=False
    )

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw n inputs from the law of X, with their labels.

        Finite inputs are drawn uniformly, with replacement, from the rows of ``x``; continuous
        inputs from their density.

        Returns
        -------
        x : ndarray of float64, shape (n, d)
        labels : ndarray of int64, shape (n,)
        """
        if self.sampler is not None:
            return self.sampler(n, rng)
        rows = rng.integers(0, self.x.shape[0], size=n)
        return self.x[rows], self.labels[rows]


def icosahedron_vertices() -> np.ndarray:
    """The 12 vertices of a regular icosahedron on the unit sphere, shape (12, 3).

    Cyclic permutations of (0, +-1, +-phi), normalised; vertex 2k + 1 is not necessarily
    antipodal to 2k (the order is fixed but arbitrary).
    """
    phi = (1 + math.sqrt(5)) / 2
    vertices = []
    for a in (-1.0, 1.0):
        for b in (-phi, phi):
            vertices += [(0.0, a, b), (a, b, 0.0), (b, 0.0, a)]
    vertices = np.array(vertices)
    return vertices / np.linalg.norm(vertices, axis=1, keepdims=True)


def _all_sign_patterns(bits: int) -> np.ndarray:
    codes = np.arange(2**bits)[:, None] >> np.arange(bits) & 1
    return 2.0 * codes - 1.0


#: The rule's threshold on the squared dipole moment, between the values 8.84 and 11.58 that
#: |m|^2 takes: the split of the 4,096 patterns closest to the median.
_SZT12_THRESHOLD = 10.0


def szt12_rule(patterns: np.ndarray) -> np.ndarray:
    """Our label rule for 12 signs: is the squared dipole moment on the icosahedron large?

    The 12 positions are the vertices v_k of a regular icosahedron on the unit sphere, and a
    pattern b in {-1, +1}^12 is a set of charges b_k at those vertices. Its dipole moment is
    m(b) = sum_k b_k v_k in R^3, and the label is

        y = 1  if |m(b)|^2 > 10,  else 0.

    |m|^2 = sum_jk b_j b_k <v_j, v_k> is a quadratic (so nonlinear) function of the pattern,
    invariant under every rotation of the sphere that maps the icosahedron onto itself (which
    permutes the 12 positions) and under flipping all signs: a stand-in, in the same spirit,
    for the rotation-invariant rule of Shwartz-Ziv & Tishby's 12-bit task. The threshold 10 is
    the split of the 4,096 patterns closest to the median: p(y = 1) = 2036 / 4096 = 0.497.

    Parameters
    ----------
    patterns : ndarray of shape (m, 12), entries -1 or +1

    Returns
    -------
    ndarray of int64, shape (m,)
    """
    dipole = np.asarray(patterns, dtype=np.float64) @ icosahedron_vertices()
    # |m|^2 takes 20 values on the patterns, none within 1 of the threshold: float rounding
    # cannot flip a label.
    return ((dipole * dipole).sum(axis=1) > _SZT12_THRESHOLD).astype(np.int64)


@cache
def szt12() -> Inputs:
    """All 4,096 patterns of 12 signs (entries -1 and +1, not 0/1), labelled by :func:`szt12_rule`.

    X is uniform over the 4,096 patterns. Row i is the binary expansion of i, least significant
    bit first, mapped 0 -> -1 and 1 -> +1.
    """
    patterns = _all_sign_patterns(12)
    patterns.setflags(write=False)
    labels = szt12_rule(patterns)
    labels.setflags(write=False)
    return Inputs(
        name="szt12",
        x=patterns,
        labels=labels,
        n_classes=2,
        finite=True,
        description=(
            "all 4,096 patterns of 12 signs (+-1) at the vertices of an icosahedron; label: "
            "squared dipole moment > 10 (p(y=1) = 0.497); a stand-in for Shwartz-Ziv & Tishby's task"
        ),
    )


@cache
def digits() -> Inputs:
    """The 1,797 8x8 images of scikit-learn's ``load_digits``, pixels scaled from 0..16 to [0, 1].

    X is uniform over the 1,797 rows (as shipped; the few duplicate images count once each
    row). Ten classes.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = np.asarray(data.data, dtype=np.float64) / 16.0
    labels = np.asarray(data.target, dtype=np.int64)
    x.setflags(write=False)
    labels.setflags(write=False)
    return Inputs(
        name="digits",
        x=x,
        labels=labels,
        n_classes=10,
        finite=True,
        description="scikit-learn's 1,797 handwritten digits, 8x8 pixels scaled to [0, 1]",
    )


#: Means of the mixture's components: the vertices of a regular tetrahedron of radius 1.5.
_MIXTURE_MEANS = 1.5 / math.sqrt(3) * np.array(
    [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
)
#: Standard deviation of every component (isotropic).
_MIXTURE_SCALE = 0.6
#: Size of the fixed training sample of the continuous input.
_MIXTURE_TRAINING_SIZE = 2048


def _mixture_sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, len(_MIXTURE_MEANS), size=n)
    x = _MIXTURE_MEANS[labels] + _MIXTURE_SCALE * rng.standard_normal((n, 3))
    return x, labels.astype(np.int64)


def gaussian_mixture_log_posterior(x: np.ndarray) -> np.ndarray:
    """log p(y | x) of the continuous input's four classes, shape (n, 4)."""
    squared = ((np.asarray(x)[:, None, :] - _MIXTURE_MEANS[None]) ** 2).sum(axis=2)
    log_joint = -0.5 * squared / _MIXTURE_SCALE**2
    return log_joint - logsumexp(log_joint, axis=1, keepdims=True)


@cache
def gaussian_mixture() -> Inputs:
    """A continuous input: an equal-weight mixture of four Gaussians in R^3, class = component.

    Component k is N(mu_k, 0.6^2 I) with the mu_k the vertices of a regular tetrahedron of
    radius 1.5 (pairwise distance 2.45, so the classes overlap a little: I(X; Y) is about
    1.2 nats of the log 4 = 1.39 possible). The training set is a fixed sample of 2,048
    points (seed 0); :meth:`Inputs.sample` draws from the density itself.
    """
    x, labels = _mixture_sample(_MIXTURE_TRAINING_SIZE, np.random.default_rng(0))
    x.setflags(write=False)
    labels.setflags(write=False)
    return Inputs(
        name="gaussian-mixture",
        x=x,
        labels=labels,
        n_classes=4,
        finite=False,
        description=(
            "four isotropic Gaussians N(mu_k, 0.6^2 I) in R^3 at the vertices of a tetrahedron "
            "of radius 1.5; class = component; X has a density"
        ),
        sampler=_mixture_sample,
    )


#: The inputs by name.
INPUTS: dict[str, Callable[[], Inputs]] = {
    "szt12": szt12,
    "digits": digits,
    "gaussian-mixture": gaussian_mixture,
}

#: The dimension of each input, known without building it (digits would import scikit-learn's
#: datasets, about a second), for listings; tests check it against the built inputs.
INPUT_DIMENSIONS: dict[str, int] = {"szt12": 12, "digits": 64, "gaussian-mixture": 3}


def get_inputs(name: str) -> Inputs:
    """The input called ``name`` (one of :data:`INPUTS`)."""
    if name not in INPUTS:
        raise InputError(f"unknown input {name!r}; valid inputs: {', '.join(INPUTS)}")
    return INPUTS[name]()
