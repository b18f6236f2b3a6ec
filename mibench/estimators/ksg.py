"""The Kraskov-Stoegbauer-Grassberger k-nearest-neighbour estimators of MI.

Kraskov, Stoegbauer & Grassberger, "Estimating mutual information", Phys. Rev. E 69 (2004).
Distances within X and within Y are in the max-norm (``metric="chebyshev"``, the paper's) or
the Euclidean norm (``metric="euclidean"``, the default of bmi, Czyz et al. 2023); the joint
distance is the larger of the two marginal distances. In one dimension both norms are |a - b|.

Estimator 1 (``variant=1``): with eps_i twice the distance from sample i to its k-th nearest
neighbour in the joint space, and n_x(i), n_y(i) the numbers of other samples strictly closer
than eps_i / 2 in each marginal space,

    I = psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >.

Estimator 2 (``variant=2``): with eps_x(i)/2, eps_y(i)/2 the largest marginal distances from
sample i to its k joint nearest neighbours, and n_x(i), n_y(i) the numbers of other samples at
most that far in each marginal space,

    I = psi(k) - 1/k + psi(N) - < psi(n_x) + psi(n_y) >.

Where several samples tie for the k-th nearest neighbour, the neighbours are taken in the order
of a stable sort (smaller sample index first); only variant 2 depends on that choice.

Every algorithm computes the same counts, exactly:

- "tree": scipy's cKDTree for the joint k-th neighbour and for marginal counts of two or more
  dimensions; a one-dimensional margin is counted by binary search on its sorted column.
- "brute": one compiled pass over all samples per sample (numba), computing the marginal and
  joint distances, the k nearest and both counts together; memory O(n) per thread. From 500
  samples (and always for the Euclidean metric) distances are screened cheaply and every
  comparison near a threshold is decided on the exact float64 distance
  (:func:`mibench.estimators._ksg_kernels.brute_counts`): the max-norm with int16 keys of the
  values scaled to 16,383 quanta (where no column's tails make a quantum coarse), else with
  float32 keys; the k-th distance is bounded first by the smallest keys of blocks of 64
  samples, so few exact distances are computed. With the Euclidean metric (or where the int16
  screen is refused), from 10,000 samples in at most 12 dimensions together, the samples are
  put in a KD-tree's leaf order and blocks of them whose bounding box lies beyond the radius
  are skipped (the same counts, fewer distances).
- "torch": the brute force in blocks with torch, for a CUDA ``device``.

The trees serve the max-norm only (the joint distance of the Euclidean metric, the larger of two
Euclidean norms, is no norm cKDTree knows); with ``metric="euclidean"`` and a margin of two or
more dimensions "auto" takes the brute force.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mibench.core.contracts import Estimate, Estimator
from mibench.core.preprocessing import column_scale
from mibench.core.validation import (
    InputError,
    check_choice,
    check_device,
    check_device_name,
    check_integer,
    check_positive,
    check_workers,
)
from mibench.estimators.registry import register

__all__ = [
    "KSG",
    "choose_algorithm",
    "ksg_counts",
    "ksg_mutual_information",
    "standardize_and_jitter",
]

ALGORITHMS = ("auto", "tree", "brute", "torch")
METRICS = ("chebyshev", "euclidean")

# The automatic choice. The brute force costs about n^2 (d_x + d_y) whatever the data; the
# trees cost about n log n, times a factor that grows steeply with the dimension of the
# margins, whose radius counts dominate (a 1-D margin is cheap: sorted search). Measured
# crossovers (2 cores, variant 1, k=3, Gaussian data; tests/benchmarks/test_bench_ksg.py has the
# reference comparisons): 2+2 dims at n ~ 15,000, 3+3 ~ 35,000, 4+4 ~ 55,000, 5+5 ~ 140,000 (from
# 20,000 and 70,000), 1+3 ~ 5,500, 1+5 ~ 22,000, 1+10 ~ 10^6 (from 30,000 and 60,000); the two
# formulas below fit them within a factor of about 1.5, where the two cost about the same.
_TREE_ONLY_MAX_JOINT_DIM = 3  # 1+1 and 1+2 dims: the trees won at every n measured (>= 2,000)


def _brute_max_n(dim_x: int, dim_y: int) -> int:
    if min(dim_x, dim_y) == 1:
        return int(5_500 * math.exp(0.75 * (max(dim_x, dim_y) - 3)))
    return int(15_000 * math.exp(0.37 * (dim_x + dim_y - 4)))


def standardize_and_jitter(
    values: np.ndarray, noise: float, rng: np.random.Generator, standardize: bool
) -> np.ndarray:
    """Scale each column to unit standard deviation, then add Gaussian jitter.

    The jitter (standard deviation ``noise`` times the column's scale) breaks ties between
    repeated values, which would otherwise make neighbour counts depend on the order of the
    samples; at the default 1e-10 it moves the estimate far less than its statistical error.
    The scale is :func:`mibench.core.preprocessing.column_scale` (ddof 0; constant columns are left
    unscaled).
    """
    values = np.array(values, dtype=np.float64, copy=True)
    scale = column_scale(values)
    if standardize:
        values /= scale
        scale = np.ones_like(scale)
    if noise > 0:
        values += noise * scale * rng.standard_normal(values.shape)
    return values


def _effective_metric(metric: str, dim_x: int, dim_y: int) -> str:
    """The metric the counts are computed in: in one dimension both are |a - b|, and the trees
    (max-norm) then serve the Euclidean metric too."""
    return "chebyshev" if max(dim_x, dim_y) == 1 else metric


def choose_algorithm(
    n: int, dim_x: int, dim_y: int, device: str = "cpu", metric: str = "chebyshev"
) -> str:
    """The algorithm ``algorithm="auto"`` uses for n samples of the given dimensions."""
    if device != "cpu":
        return "torch"
    if _effective_metric(metric, dim_x, dim_y) == "euclidean":
        return "brute"
    if dim_x + dim_y <= _TREE_ONLY_MAX_JOINT_DIM:
        return "tree"
    return "brute" if n <= _brute_max_n(dim_x, dim_y) else "tree"


def _build_tree(values: np.ndarray) -> cKDTree:
    # Sliding-midpoint splits without shrinking the boxes build in half the time of the median
    # splits (measured: 0.18 s against 0.38 s for 10^6 points in 2-D) and answer as fast.
    return cKDTree(values, balanced_tree=False, compact_nodes=False)


def _query_in_tree_order(tree: cKDTree, points: np.ndarray, query):
    """``query(points in the tree's order)``, its results and the permutation back.

    Asking in the order the tree stores its points keeps consecutive queries in the same leaves
    (cache-warm): measured about 2x fewer CPU seconds than asking in sample order. Row i of the
    caller's samples is row ``inverse[i]`` of the results.
    """
    order = tree.indices
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return query(points[order]), inverse


def _in_sample_order(tree: cKDTree, points: np.ndarray, query):
    results, inverse = _query_in_tree_order(tree, points, query)
    if not isinstance(results, tuple):
        return np.take(results, inverse, axis=0)
    return [np.take(result, inverse, axis=0) for result in results]


def tree_ball_counts(values: np.ndarray, radii: np.ndarray, workers: int) -> np.ndarray:
    """Number of other samples within ``radii`` (inclusive) of each sample, in max-norm, by a
    KD-tree queried in tree order."""
    tree = _build_tree(values)
    counts = _in_sample_order(
        tree,
        values,
        lambda points: np.asarray(
            tree.query_ball_point(
                points,
                r=radii[tree.indices],
                p=np.inf,
                return_length=True,
                workers=workers,
            ),
            dtype=np.int64,
        ),
    )
    return counts - 1


def _marginal_counts(values: np.ndarray, radii: np.ndarray, strict: bool, workers: int):
    """Number of other samples within ``radii`` (strictly closer if ``strict``) in max-norm."""
    from mibench.estimators._ksg_kernels import sorted_counts

    if values.shape[1] == 1:
        return sorted_counts(values[:, 0], radii, strict, workers)
    counts = tree_ball_counts(values, np.nextafter(radii, 0) if strict else radii, workers)
    if strict:
        counts[radii == 0] = -1  # nothing is strictly closer than 0, not even the sample itself
    return counts


def _largest_distance_to(values: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Max-norm distance from each sample to the farthest of its ``neighbours`` (n, k)."""
    # A loop over the k columns: numpy reduces a (n, k, d) array over its short axes slowly.
    radius = np.zeros(values.shape[0])
    for column in neighbours.T:
        np.maximum(radius, np.abs(values[column] - values).max(axis=1), out=radius)
    return radius


def _tree_counts(x: np.ndarray, y: np.ndarray, k: int, variant: int, workers: int):
    n = x.shape[0]
    with np.errstate(over="ignore"):
        spans_finite = np.isfinite(np.ptp(x, axis=0)).all() and np.isfinite(np.ptp(y, axis=0)).all()
    if not spans_finite:
        # Some distances overflow to inf (values near the float64 limit, unstandardized);
        # cKDTree cannot take an infinite radius, the brute force counts them exactly.
        from mibench.estimators._ksg_kernels import brute_counts

        return brute_counts(x, y, k, variant, workers)
    joint = np.hstack([x, y])
    tree = _build_tree(joint)
    # Variant 2 asks for one neighbour beyond the k-th (and the sample itself) to see whether
    # the k-th is tied.
    wanted = k + 1 if variant == 1 else min(n, k + 2)
    (distances, indices), inverse = _query_in_tree_order(
        tree, joint, lambda points: tree.query(points, k=wanted, p=np.inf, workers=workers)
    )
    # Column 0 is the sample itself, or an exact duplicate of it: the same distances either way.
    # Only the columns needed are put back in sample order, to keep the peak memory down.
    radius = distances[inverse, k]
    if variant == 1:
        del distances, indices
        counts_x = _marginal_counts(x, radius, strict=True, workers=workers)
        counts_y = _marginal_counts(y, radius, strict=True, workers=workers)
        return counts_x, counts_y
    if wanted > k + 1:
        tied = np.flatnonzero(distances[inverse, k + 1] == radius)
    else:  # n = k + 1: every other sample is a neighbour, there is no choice to make
        tied = np.empty(0, dtype=np.int64)
    neighbours = indices[inverse, 1 : k + 1]
    del distances, indices
    radius_x = _largest_distance_to(x, neighbours)
    radius_y = _largest_distance_to(y, neighbours)
    del neighbours
    counts_x = _marginal_counts(x, radius_x, strict=False, workers=workers)
    counts_y = _marginal_counts(y, radius_y, strict=False, workers=workers)
    if tied.size:
        # Where the k-th neighbour is tied, the tree's pick among the tied samples is arbitrary;
        # those rows (none on continuous data) are recounted exactly, stable order.
        from mibench.estimators._ksg_kernels import brute_counts

        fixed_x, fixed_y = brute_counts(x, y, k, variant, workers, rows=tied)
        counts_x[tied] = fixed_x[tied]
        counts_y[tied] = fixed_y[tied]
    return counts_x, counts_y


def ksg_counts(
    x: np.ndarray,
    y: np.ndarray,
    k: int = 3,
    variant: int = 1,
    algorithm: str = "auto",
    workers: int | None = None,
    device: str = "cpu",
    metric: str = "chebyshev",
) -> tuple[np.ndarray, np.ndarray, str]:
    """The marginal counts n_x, n_y of every sample, and the algorithm that computed them.

    ``metric`` is "chebyshev" or "euclidean" (the norm within X and within Y; see the module
    docstring); "tree" serves the Euclidean metric only where both margins are one-dimensional.
    """
    from mibench.estimators._ksg_kernels import brute_counts, resolve_workers

    check_choice(algorithm, "algorithm", ALGORITHMS)
    check_choice(metric, "metric", METRICS)
    check_device(device)
    workers = resolve_workers(workers)
    metric = _effective_metric(metric, x.shape[1], y.shape[1])
    if algorithm == "auto":
        algorithm = choose_algorithm(x.shape[0], x.shape[1], y.shape[1], device, metric)
    if device != "cpu" and algorithm != "torch":
        raise InputError(f"device={device!r} needs algorithm 'torch' or 'auto', got {algorithm!r}")
    if algorithm == "tree" and metric != "chebyshev":
        raise InputError(
            "algorithm='tree' needs metric='chebyshev' (or one-dimensional X and Y); use "
            "'brute' or 'auto' for the Euclidean metric"
        )
    if algorithm == "tree":
        counts_x, counts_y = _tree_counts(x, y, k, variant, workers)
    elif algorithm == "brute":
        counts_x, counts_y = brute_counts(x, y, k, variant, workers, metric=metric)
    else:
        from mibench.estimators._ksg_torch import torch_counts

        counts_x, counts_y = torch_counts(x, y, k, variant, device, metric=metric)
    return counts_x, counts_y, algorithm


def _ksg_from_counts(counts_x, counts_y, n: int, k: int, variant: int) -> float:
    if variant == 1:
        marginal_term = np.mean(digamma(counts_x + 1) + digamma(counts_y + 1))
        return float(digamma(k) + digamma(n) - marginal_term)
    marginal_term = np.mean(digamma(counts_x) + digamma(counts_y))
    return float(digamma(k) - 1.0 / k + digamma(n) - marginal_term)


def ksg_mutual_information(
    x: np.ndarray,
    y: np.ndarray,
    k: int = 3,
    variant: int = 1,
    algorithm: str = "auto",
    workers: int | None = None,
    device: str = "cpu",
    metric: str = "chebyshev",
) -> float:
    """KSG estimate in nats from float64 arrays of shape (n, d_x), (n, d_y), used as given.

    ``algorithm`` is "tree", "brute", "torch" or "auto" (see :func:`choose_algorithm`); all give
    the same number. ``workers`` threads (None: the threads the process is given, see
    :func:`mibench.core.threads.process_threads`; -1: every core) run the tree
    queries and the compiled kernels; the torch path uses torch's own threads on the CPU, or
    ``device``.
    """
    counts_x, counts_y, _ = ksg_counts(x, y, k, variant, algorithm, workers, device, metric)
    return _ksg_from_counts(counts_x, counts_y, x.shape[0], k, variant)


@register("ksg")
class KSG(Estimator):
    """Kraskov-Stoegbauer-Grassberger k-nearest-neighbour MI estimator.

    Assumes continuous X and Y with a joint density. Its resolution parameter is ``k``: small k
    gives low bias and high variance. It is biased downward when the MI is large (it cannot
    report much more than log n) and in high dimensions; on data with repeated values the
    counts are ill-defined, which the jitter resolves arbitrarily but reproducibly.

    Parameters
    ----------
    k : int, default 3
        Number of nearest neighbours in the joint space; needs at least k + 1 samples.
    variant : {1, 2}, default 1
        KSG estimator 1 (rectangles of equal side) or 2 (rectangles fitted per margin).
    metric : {"chebyshev", "euclidean"}, default "chebyshev"
        The norm within X and within Y: the max-norm of the KSG paper, or the Euclidean norm,
        the default of bmi (Czyz et al., "Beyond normal", 2023); the joint distance is the
        larger of the two either way. ``metric="euclidean", noise=0`` with ``k=10`` or ``k=5``
        are bmi's settings for its published "KSG-10" and "KSG-5"
        (``KSGEnsembleFirstEstimator(neighborhoods=(k,))``: variant 1 on standardized data);
        bmi also reports a negative estimate as 0, which this estimator does not. With the
        Euclidean metric and a margin of two or more dimensions the trees are not available:
        "auto" takes the brute force.
    standardize : bool, default True
        Scale each column to unit standard deviation first; the max-norm mixes coordinates,
        so without it the estimate depends on the units of X and Y.
    noise : float, default 1e-10
        Standard deviation of the Gaussian jitter added to every (standardized) column to
        break ties; 0 turns it off.
    seed : int, default 0
        Seed of the jitter.
    algorithm : {"auto", "tree", "brute", "torch"}, default "auto"
        Neighbour search, all exact and giving the same number: KD-trees (fast in low
        dimensions; one-dimensional margins by binary search), a compiled brute force (fast in
        high dimensions or for moderate n), torch blocks (for a GPU), or chosen from the
        dimensions, n and ``device`` (:func:`choose_algorithm`).
    workers : int or None, default None
        Threads for the tree queries and the compiled kernels. None uses the threads the
        process is given: ``$MIBENCH_THREADS`` if set (the runner's parallel workers set it to
        1, so a grid does not oversubscribe the cores), else every core of the process's CPU
        affinity; -1 uses every core whatever the variable says.
    device : str, default "cpu"
        "cuda" or "cuda:N" runs the blocked brute force with torch on that GPU.
    """

    def __init__(
        self,
        *,
        k: int = 3,
        variant: int = 1,
        metric: str = "chebyshev",
        standardize: bool = True,
        noise: float = 1e-10,
        seed: int = 0,
        algorithm: str = "auto",
        workers: int | None = None,
        device: str = "cpu",
    ):
        self.k = check_integer(k, "k", minimum=1)
        self.variant = check_choice(variant, "variant", (1, 2))
        self.metric = check_choice(metric, "metric", METRICS)
        self.standardize = check_choice(standardize, "standardize", (True, False))
        self.noise = check_positive(noise, "noise", allow_zero=True)
        self.seed = check_integer(seed, "seed", minimum=0)
        self.algorithm = check_choice(algorithm, "algorithm", ALGORITHMS)
        self.workers = check_workers(workers)
        if device != "cpu" and self.algorithm not in ("auto", "torch"):
            raise InputError(
                f"device={device!r} needs algorithm 'torch' or 'auto', got {algorithm!r}"
            )
        # The form only: a grid naming device='cuda' must parse on a machine without one.
        self.device = check_device_name(device)

    def min_samples(self) -> int:
        return self.k + 1

    def min_samples_reason(self) -> str:
        return f"k + 1 for k={self.k}"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        check_device(self.device)
        rng = np.random.default_rng(self.seed)
        x = standardize_and_jitter(x, self.noise, rng, self.standardize)
        y = standardize_and_jitter(y, self.noise, rng, self.standardize)
        counts_x, counts_y, algorithm = ksg_counts(
            x, y, self.k, self.variant, self.algorithm, self.workers, self.device, self.metric
        )
        value = _ksg_from_counts(counts_x, counts_y, x.shape[0], self.k, self.variant)
        return Estimate(value, {"algorithm": algorithm})
