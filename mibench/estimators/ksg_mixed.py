"""The mixed KSG estimator of Gao, Kannan, Oh & Viswanath, for discrete-continuous mixtures.

Gao, Kannan, Oh & Viswanath, "Estimating mutual information for discrete-continuous mixtures",
NeurIPS 2017 (arXiv:1709.06212). Distances are max-norm, in the joint space and in each
marginal space. For each sample i, rho_i is the distance to its k-th nearest other sample in
the joint space. Where rho_i = 0 (sample i has at least k exact copies), the number of copies
k_i replaces k, so discrete parts are counted as a plug-in estimate counts them; no jitter is
needed, and the estimate is consistent for mixtures of atoms and densities.

Two forms are in use, and both are offered (``variant``):

- "reference" (default), the authors' code (github.com/wgao9/mixed_KSG, also TensorFlow
  Addons' ``MutualInformation``): with n_x,i and n_y,i the numbers of samples, i itself
  included, strictly closer than rho_i in each margin (at distance 0 if rho_i = 0), and k_i
  the number of exact copies of sample i, itself included,

      I = log n + (1/n) sum_i [ psi(k_i) - psi(n_x,i) - psi(n_y,i) ].

  Without ties this is KSG estimator 1 exactly, save log n for psi(n).

- "paper", Algorithm 1 as printed: counts of the other samples at distance <= rho_i,

      I = log n + (1/n) sum_i [ psi(k_i) - log(n_x,i + 1) - log(n_y,i + 1) ],

  with k_i the number of other samples at distance 0. Counting the margin's ties includes
  the k-th neighbour itself, and log is not psi, so it carries an O(1/k) downward bias on
  continuous parts (about -0.19 nats at k = 5 on X uniform on {0..3}, Y = X + U[0, 2]),
  which vanishes only as k grows, as the paper's consistency theorem requires.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma

from mibench.core.contracts import Estimate, Estimator
from mibench.core.preprocessing import standardize as standardize_columns
from mibench.core.validation import check_choice, check_integer, check_workers
from mibench.estimators.ksg import (
    _build_tree,
    _in_sample_order,
    choose_algorithm,
    tree_ball_counts,
)
from mibench.estimators.registry import register

__all__ = ["ALGORITHMS", "MixedKSG", "mixed_ksg_counts", "mixed_ksg_mutual_information"]

ALGORITHMS = ("auto", "tree", "brute")


def _marginal_counts_tree(
    values: np.ndarray, radii: np.ndarray, strict: bool, workers: int
) -> np.ndarray:
    """Other samples within ``radii`` in max-norm, by a KD-tree; at radius 0 the exact copies.

    A strict count asks for the largest radius below r, which at r = 0 is 0 itself: the
    copies, as the mixed estimator wants (KSG's own count is -1 there).
    """
    return tree_ball_counts(values, np.nextafter(radii, 0) if strict else radii, workers)


def _margin_counts(values: np.ndarray, radii: np.ndarray, strict: bool, workers: int):
    """Other samples within ``radii`` in max-norm (strictly closer if ``strict``); at a radius
    of 0, the exact copies under either inequality."""
    from mibench.estimators._ksg_kernels import sorted_counts

    if values.shape[1] > 1:
        return _marginal_counts_tree(values, radii, strict, workers)
    counts = sorted_counts(values[:, 0], radii, strict, workers)
    at_zero = radii == 0
    if strict and at_zero.any():
        copies = sorted_counts(values[:, 0], np.zeros_like(radii), False, workers)
        counts[at_zero] = copies[at_zero]
    return counts


def _tree_counts(x: np.ndarray, y: np.ndarray, k: int, strict: bool, workers: int):
    joint = np.hstack([x, y])
    tree = _build_tree(joint)
    # Column 0 is the sample itself or one of its copies: the k-th other is column k.
    distances = _in_sample_order(
        tree, joint, lambda points: tree.query(points, k=k + 1, p=np.inf, workers=workers)[0]
    )
    radius = np.ascontiguousarray(distances[:, k])
    del distances
    copies = np.full(x.shape[0], k, dtype=np.int64)  # only read where the radius is 0
    tied = radius == 0
    if tied.any():
        copies = _marginal_counts_tree(joint, np.zeros_like(radius), False, workers)
    counts_x = _margin_counts(x, radius, strict, workers)
    counts_y = _margin_counts(y, radius, strict, workers)
    return radius, copies, counts_x, counts_y


def mixed_ksg_counts(
    x: np.ndarray,
    y: np.ndarray,
    k: int = 5,
    variant: str = "reference",
    algorithm: str = "auto",
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """(rho, copies, n_x, n_y, algorithm) of every sample, as the module docstring defines them.

    rho: the joint distance to the k-th nearest other sample; copies: the other samples at
    joint distance 0; n_x, n_y: the other samples within rho in each margin (strictly closer
    for "reference", at most rho for "paper"; at rho = 0 the margin's copies either way).
    ``algorithm`` is "tree" (KD-trees; a one-dimensional margin by binary search), "brute"
    (the compiled brute force of the KSG kernels) or "auto" (KSG's choice from n and the
    dimensions); all give the same counts.
    """
    from mibench.estimators._ksg_kernels import mixed_brute_counts, resolve_workers

    check_choice(algorithm, "algorithm", ALGORITHMS)
    workers = resolve_workers(workers)
    if algorithm == "auto":
        algorithm = choose_algorithm(x.shape[0], x.shape[1], y.shape[1])
    strict = variant == "reference"
    if algorithm == "brute":
        return (*mixed_brute_counts(x, y, k, strict, workers), algorithm)
    return (*_tree_counts(x, y, k, strict, workers), algorithm)


def mixed_ksg_mutual_information(
    x: np.ndarray,
    y: np.ndarray,
    k: int = 5,
    variant: str = "reference",
    workers: int | None = None,
    algorithm: str = "auto",
) -> tuple[float, int]:
    """Mixed-KSG estimate in nats from float64 arrays (n, d_x), (n, d_y), used as given.

    ``variant`` is "reference" (the authors' code) or "paper" (Algorithm 1 as printed); see the
    module docstring. Returns the estimate and the number of samples whose k-th neighbour in
    the joint space is an exact copy.
    """
    counts = mixed_ksg_counts(x, y, k, variant, algorithm, workers)[:4]
    return _mixed_ksg_from_counts(*counts, k, variant)


def _mixed_ksg_from_counts(radius, copies, others_x, others_y, k: int, variant: str):
    n = radius.shape[0]
    tied = radius == 0
    neighbours = np.full(n, k, dtype=np.int64)
    neighbours[tied] = copies[tied] + (1 if variant == "reference" else 0)
    marginal_term = digamma if variant == "reference" else np.log
    value = math.log(n) + np.mean(
        digamma(neighbours) - marginal_term(others_x + 1) - marginal_term(others_y + 1)
    )
    return float(value), int(tied.sum())


@register("ksg-mixed")
class MixedKSG(Estimator):
    """Mixed KSG estimator (Gao, Kannan, Oh & Viswanath 2017): kNN MI that tolerates ties.

    Assumes each variable may be discrete, continuous, or a mixture of both (atoms plus a
    density), and needs no jitter: where a sample has at least k exact copies in the joint
    space, the number of copies replaces k. Its resolution parameter is ``k`` (bias falls and
    variance rises as k falls). On purely continuous data it has KSG's biases (downward for
    large MI and in high dimensions); on purely discrete data it approaches the plug-in
    estimate, bounded by log n. Where one margin mixes atoms with a density, continuous
    samples within rho of an atom count all of the atom's copies, a bias that shrinks only as
    rho does (slowly: about -0.1 nats at n = 10,000 for an even atom/Gaussian mixture).
    Marginal counts include every tie: a one-dimensional margin is counted by binary search
    (O(n log n) whatever its ties), but a multi-dimensional margin with m distinct values
    costs O(n^2 / m) in the tree counts; the brute force costs O(n^2 (d_x + d_y)) regardless.

    Parameters
    ----------
    k : int, default 5
        Number of nearest neighbours in the joint space; needs at least k + 1 samples.
    variant : {"reference", "paper"}, default "reference"
        The authors' code (psi of strict counts; KSG 1 on continuous data) or Algorithm 1 as
        printed (log of counts with ties, biased low at small k); see the module docstring.
    standardize : bool, default True
        Scale each column to unit standard deviation first (the max-norm mixes coordinates).
        Scaling keeps exact ties exact.
    algorithm : {"auto", "tree", "brute"}, default "auto"
        Neighbour search, both exact and giving the same counts: KD-trees (one-dimensional
        margins by binary search) or the compiled brute force of ``ksg``; "auto" picks as
        ``ksg`` does (:func:`mibench.estimators.ksg.choose_algorithm`).
    workers : int or None, default None
        Threads for the searches: None the threads the process is given (``$MIBENCH_THREADS``,
        else its cores), -1 every core.
    """

    def __init__(
        self,
        *,
        k: int = 5,
        variant: str = "reference",
        standardize: bool = True,
        algorithm: str = "auto",
        workers: int | None = None,
    ):
        self.k = check_integer(k, "k", minimum=1)
        self.variant = check_choice(variant, "variant", ("reference", "paper"))
        self.standardize = check_choice(standardize, "standardize", (True, False))
        self.algorithm = check_choice(algorithm, "algorithm", ALGORITHMS)
        self.workers = check_workers(workers)

    def min_samples(self) -> int:
        return self.k + 1

    def min_samples_reason(self) -> str:
        return f"k + 1 for k={self.k}"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        if self.standardize:
            # Scaled, not centred: centring would round values and could merge or split ties.
            x = standardize_columns(x, center=False)
            y = standardize_columns(y, center=False)
        radius, copies, others_x, others_y, algorithm = mixed_ksg_counts(
            x, y, self.k, self.variant, self.algorithm, self.workers
        )
        value, tied = _mixed_ksg_from_counts(radius, copies, others_x, others_y, self.k, self.variant)
        return Estimate(value, {"tied_samples": tied, "algorithm": algorithm})
