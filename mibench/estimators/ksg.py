"""The Kraskov-Stoegbauer-Grassberger k-nearest-neighbour estimators of MI.

Kraskov, Stoegbauer & Grassberger, "Estimating mutual information", Phys. Rev. E 69 (2004).
All distances are in the max-norm, in the joint space and in each marginal space.

Estimator 1 (``variant=1``): with eps_i twice the distance from sample i to its k-th nearest
neighbour in the joint space, and n_x(i), n_y(i) the numbers of other samples strictly closer
than eps_i / 2 in each marginal space,

    I = psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >.

Estimator 2 (``variant=2``): with eps_x(i)/2, eps_y(i)/2 the largest marginal distances from
sample i to its k joint nearest neighbours, and n_x(i), n_y(i) the numbers of other samples at
most that far in each marginal space,

    I = psi(k) - 1/k + psi(N) - < psi(n_x) + psi(n_y) >.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.special import digamma

from mibench.estimators.registry import register
from mibench.interface import Estimate, Estimator
from mibench.validation import check_choice, check_integer, check_positive

__all__ = ["KSG", "ksg_mutual_information", "standardize_and_jitter"]

# Trees answer neighbour queries in O(log n) in low dimensions but degrade towards a slow
# brute force beyond roughly ten; there a blocked brute force on compiled distances wins.
_TREE_MAX_JOINT_DIM = 10
# Rows of the distance matrix computed at once by the brute force: bounds memory to
# block * n * 8 bytes per matrix.
_BRUTE_BLOCK_BYTES = 32 * 2**20


def standardize_and_jitter(
    values: np.ndarray, noise: float, rng: np.random.Generator, standardize: bool
) -> np.ndarray:
    """Scale each column to unit standard deviation, then add Gaussian jitter.

    The jitter (standard deviation ``noise`` times the column's scale) breaks ties between
    repeated values, which would otherwise make neighbour counts depend on the order of the
    samples; at the default 1e-10 it moves the estimate far less than its statistical error.
    Constant columns are left unscaled.
    """
    values = np.array(values, dtype=np.float64, copy=True)
    scale = values.std(axis=0)
    scale[scale == 0] = 1.0
    if standardize:
        values /= scale
        scale = np.ones_like(scale)
    if noise > 0:
        values += noise * scale * rng.standard_normal(values.shape)
    return values


def _neighbour_radii_tree(joint: np.ndarray, k: int, workers: int):
    tree = cKDTree(joint)
    distances, indices = tree.query(joint, k=k + 1, p=np.inf, workers=workers)
    # Column 0 is the sample itself (distance 0); the jitter makes exact duplicates vanish.
    return distances[:, k], indices[:, 1:]


def _marginal_counts_tree(
    values: np.ndarray, radii: np.ndarray, strict: bool, workers: int
) -> np.ndarray:
    """Number of other samples within ``radii`` (strictly closer if ``strict``) in max-norm."""
    if strict:
        radii = np.nextafter(radii, 0)
    tree = cKDTree(values)
    counts = tree.query_ball_point(values, r=radii, p=np.inf, return_length=True, workers=workers)
    return np.asarray(counts) - 1


def _ksg_brute(x: np.ndarray, y: np.ndarray, k: int, variant: int):
    """Blocked brute force: exact, memory O(block * n), for high-dimensional data."""
    n = x.shape[0]
    block = max(1, _BRUTE_BLOCK_BYTES // (8 * n))
    counts_x = np.empty(n, dtype=np.int64)
    counts_y = np.empty(n, dtype=np.int64)
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = np.arange(start, stop)
        dist_x = cdist(x[start:stop], x, metric="chebyshev")
        dist_y = cdist(y[start:stop], y, metric="chebyshev")
        dist_joint = np.maximum(dist_x, dist_y)
        dist_joint[np.arange(stop - start), rows] = np.inf  # a sample is not its own neighbour
        if variant == 1:
            radius = np.partition(dist_joint, k - 1, axis=1)[:, k - 1 : k]
            counts_x[start:stop] = (dist_x < radius).sum(axis=1) - 1
            counts_y[start:stop] = (dist_y < radius).sum(axis=1) - 1
        else:
            neighbours = np.argpartition(dist_joint, k - 1, axis=1)[:, :k]
            radius_x = np.take_along_axis(dist_x, neighbours, axis=1).max(axis=1, keepdims=True)
            radius_y = np.take_along_axis(dist_y, neighbours, axis=1).max(axis=1, keepdims=True)
            counts_x[start:stop] = (dist_x <= radius_x).sum(axis=1) - 1
            counts_y[start:stop] = (dist_y <= radius_y).sum(axis=1) - 1
    return counts_x, counts_y


def _ksg_tree(x: np.ndarray, y: np.ndarray, k: int, variant: int, workers: int):
    radius, neighbours = _neighbour_radii_tree(np.hstack([x, y]), k, workers)
    if variant == 1:
        counts_x = _marginal_counts_tree(x, radius, strict=True, workers=workers)
        counts_y = _marginal_counts_tree(y, radius, strict=True, workers=workers)
    else:
        radius_x = np.abs(x[neighbours] - x[:, None, :]).max(axis=(1, 2))
        radius_y = np.abs(y[neighbours] - y[:, None, :]).max(axis=(1, 2))
        counts_x = _marginal_counts_tree(x, radius_x, strict=False, workers=workers)
        counts_y = _marginal_counts_tree(y, radius_y, strict=False, workers=workers)
    return counts_x, counts_y


def ksg_mutual_information(
    x: np.ndarray,
    y: np.ndarray,
    k: int = 3,
    variant: int = 1,
    algorithm: str = "auto",
    workers: int = 1,
) -> float:
    """KSG estimate in nats from float64 arrays of shape (n, d_x), (n, d_y), used as given.

    ``algorithm`` is "tree" (scipy's cKDTree), "brute" (blocked exact distances) or "auto",
    which takes the tree up to ten joint dimensions and the brute force beyond.
    """
    n = x.shape[0]
    if algorithm == "auto":
        algorithm = "tree" if x.shape[1] + y.shape[1] <= _TREE_MAX_JOINT_DIM else "brute"
    if algorithm == "tree":
        counts_x, counts_y = _ksg_tree(x, y, k, variant, workers)
    else:
        counts_x, counts_y = _ksg_brute(x, y, k, variant)
    if variant == 1:
        marginal_term = np.mean(digamma(counts_x + 1) + digamma(counts_y + 1))
        return float(digamma(k) + digamma(n) - marginal_term)
    marginal_term = np.mean(digamma(counts_x) + digamma(counts_y))
    return float(digamma(k) - 1.0 / k + digamma(n) - marginal_term)


@register("ksg")
class KSG(Estimator):
    """Kraskov-Stoegbauer-Grassberger k-nearest-neighbour MI estimator (max-norm).

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
    standardize : bool, default True
        Scale each column to unit standard deviation first; the max-norm mixes coordinates,
        so without it the estimate depends on the units of X and Y.
    noise : float, default 1e-10
        Standard deviation of the Gaussian jitter added to every (standardized) column to
        break ties; 0 turns it off.
    seed : int, default 0
        Seed of the jitter.
    algorithm : {"auto", "tree", "brute"}, default "auto"
        Neighbour search: KD-trees (fast in low dimensions), blocked brute force (fast in high
        dimensions), or chosen by the joint dimension.
    workers : int, default 1
        Threads for the tree queries; -1 uses every core.
    """

    def __init__(
        self,
        *,
        k: int = 3,
        variant: int = 1,
        standardize: bool = True,
        noise: float = 1e-10,
        seed: int = 0,
        algorithm: str = "auto",
        workers: int = 1,
    ):
        self.k = check_integer(k, "k", minimum=1)
        self.variant = check_choice(variant, "variant", (1, 2))
        self.standardize = check_choice(standardize, "standardize", (True, False))
        self.noise = check_positive(noise, "noise", allow_zero=True)
        self.seed = check_integer(seed, "seed", minimum=0)
        self.algorithm = check_choice(algorithm, "algorithm", ("auto", "tree", "brute"))
        self.workers = check_integer(workers, "workers")
        if self.workers == 0 or self.workers < -1:
            raise ValueError(f"workers must be a positive number of threads or -1, got {workers}")

    def min_samples(self) -> int:
        return self.k + 1

    def min_samples_reason(self) -> str:
        return f"k + 1 for k={self.k}"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        rng = np.random.default_rng(self.seed)
        x = standardize_and_jitter(x, self.noise, rng, self.standardize)
        y = standardize_and_jitter(y, self.noise, rng, self.standardize)
        value = ksg_mutual_information(x, y, self.k, self.variant, self.algorithm, self.workers)
        return Estimate(value)
