"""Finite mixtures of multivariate normals on (X, Y): sampling, exact log-densities, and the MI.

The Beyond-Normal v2 "fine" distributions are such mixtures (some followed by a bijection of
X, which keeps the MI). Their densities and the densities of their margins are exact, so

    I(X; Y) = E[log p(x, y) - log p(x) - log p(y)],   (x, y) ~ p,

is estimated by a Monte Carlo mean of the pointwise MI with a known standard error. This module
is the ground truth's own: nothing that estimates MI imports it, and it imports no estimator,
so a bug in an estimator cannot make a truth agree with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import logsumexp

__all__ = ["NormalMixture", "monte_carlo_mutual_information"]


@dataclass(frozen=True, eq=False)
class NormalMixture:
    """sum_k w_k N(m_k, C_k) on (X, Y) = (first ``dim_x`` coordinates, the rest).

    Attributes
    ----------
    weights : ndarray of shape (K,)
        Positive, summing to one.
    means : ndarray of shape (K, dim_x + dim_y)
    covariances : ndarray of shape (K, dim_x + dim_y, dim_x + dim_y)
        Symmetric positive definite.
    dim_x : int
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    dim_x: int

    def __post_init__(self):
        weights = np.asarray(self.weights, dtype=np.float64)
        means = np.atleast_2d(np.asarray(self.means, dtype=np.float64))
        covariances = np.asarray(self.covariances, dtype=np.float64)
        if weights.ndim != 1 or np.any(weights <= 0) or not math.isclose(weights.sum(), 1.0):
            raise ValueError("mixture weights must be positive and sum to 1")
        dim = means.shape[1]
        if means.shape[0] != weights.size or covariances.shape != (weights.size, dim, dim):
            raise ValueError(
                f"a mixture of {weights.size} components in {dim} dimensions needs means of shape "
                f"({weights.size}, {dim}) and covariances of shape ({weights.size}, {dim}, {dim})"
            )
        if not 1 <= self.dim_x < dim:
            raise ValueError(f"dim_x must be between 1 and {dim - 1}, got {self.dim_x}")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", covariances)
        # Raises numpy's LinAlgError for a covariance that is not positive definite.
        object.__setattr__(self, "_cholesky", np.linalg.cholesky(covariances))

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n draws: a component by its weight, then a normal draw from it.

        Returns x of shape (n, dim_x) and y of shape (n, dim_y), float64.
        """
        labels = rng.choice(self.weights.size, size=n, p=self.weights)
        noise = rng.standard_normal((n, self.dim))
        points = np.empty((n, self.dim))
        for k in range(self.weights.size):
            chosen = labels == k
            points[chosen] = self.means[k] + noise[chosen] @ self._cholesky[k].T
        return points[:, : self.dim_x], points[:, self.dim_x :]

    def _log_density(self, points: np.ndarray, block: slice) -> np.ndarray:
        components = np.stack(
            [
                stats.multivariate_normal(self.means[k, block], self.covariances[k, block, block]).logpdf(
                    points
                ).reshape(-1)
                for k in range(self.weights.size)
            ],
            axis=1,
        )
        return logsumexp(components + np.log(self.weights), axis=1)

    def log_density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log p(x, y), shape (n,), for x of shape (n, dim_x) and y of shape (n, dim_y)."""
        return self._log_density(np.hstack([x, y]), slice(None))

    def log_density_x(self, x: np.ndarray) -> np.ndarray:
        """log p(x), the mixture of the components' X margins, shape (n,)."""
        return self._log_density(x, slice(0, self.dim_x))

    def log_density_y(self, y: np.ndarray) -> np.ndarray:
        """log p(y), the mixture of the components' Y margins, shape (n,)."""
        return self._log_density(y, slice(self.dim_x, None))

    def pointwise_mutual_information(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log p(x, y) - log p(x) - log p(y) in nats, shape (n,)."""
        return self.log_density(x, y) - self.log_density_x(x) - self.log_density_y(y)


def monte_carlo_mutual_information(
    mixture: NormalMixture,
    *,
    seed: int,
    target_stderr: float = 0.004,
    batch_size: int = 50_000,
    max_samples: int = 2_000_000,
) -> tuple[float, float]:
    """I(X; Y) in nats as the mean pointwise MI over draws from the mixture, and its standard error.

    Draws batches from ``np.random.default_rng(seed)`` until the standard error of the mean is
    at most ``target_stderr`` (or ``max_samples`` are drawn), so the result is reproducible.

    Returns
    -------
    (float, float)
        The estimate and its standard error, both in nats.
    """
    rng = np.random.default_rng(seed)
    values = []
    count = 0
    while True:
        x, y = mixture.sample(batch_size, rng)
        values.append(mixture.pointwise_mutual_information(x, y))
        count += batch_size
        pooled = np.concatenate(values)
        stderr = float(pooled.std(ddof=1) / math.sqrt(count))
        if stderr <= target_stderr or count >= max_samples:
            return float(pooled.mean()), stderr
