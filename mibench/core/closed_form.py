"""Closed-form information quantities, in nats.

Small pure functions, each reading like its formula; they depend only on numpy and scipy so
datasets, estimators and tests can all use them.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma, gammaln

__all__ = [
    "additive_uniform_mutual_information",
    "gaussian_entropy",
    "isotropic_gaussian_entropy",
    "gaussian_mutual_information",
    "student_t_mutual_information_correction",
]


def _logdet(matrix: np.ndarray, what: str) -> float:
    sign, value = np.linalg.slogdet(np.atleast_2d(matrix))
    if sign <= 0:
        raise ValueError(f"the {what} is singular or not positive definite")
    return float(value)


def gaussian_mutual_information(covariance: np.ndarray, dim_x: int) -> float:
    """I(X; Y) of a joint normal whose first ``dim_x`` coordinates are X.

    I = 1/2 (log det C_xx + log det C_yy - log det C).
    """
    covariance = np.atleast_2d(np.asarray(covariance, dtype=np.float64))
    return 0.5 * (
        _logdet(covariance[:dim_x, :dim_x], "covariance of x")
        + _logdet(covariance[dim_x:, dim_x:], "covariance of y")
        - _logdet(covariance, "joint covariance")
    )


def gaussian_entropy(covariance) -> float:
    """Differential entropy of N(mu, C): 1/2 log det(2 pi e C)."""
    covariance = np.atleast_2d(np.asarray(covariance, dtype=np.float64))
    dim = covariance.shape[0]
    return 0.5 * (dim * math.log(2 * math.pi * math.e) + _logdet(covariance, "covariance"))


def isotropic_gaussian_entropy(dim: int, variance: float) -> float:
    """Differential entropy of N(mu, variance I_dim): dim/2 log(2 pi e variance)."""
    return 0.5 * dim * math.log(2 * math.pi * math.e * variance)


def student_t_mutual_information_correction(dof: float, dim_x: int, dim_y: int) -> float:
    """The MI a multivariate Student-t adds to the Gaussian MI of its dispersion matrix.

    For (X, Y) ~ t_dof(0, Omega), I(X; Y) = I_Gauss(Omega) + c with
    c = g(dof) + g(dof + d_x + d_y) - g(dof + d_x) - g(dof + d_y),
    g(z) = log Gamma(z / 2) - (z / 2) psi(z / 2)
    (Arellano-Valle, Contreras-Reyes & Genton, Scand. J. Stat. 40, 2013). c > 0: even with
    identity dispersion, X and Y share the common scale variable.
    """

    def g(z: float) -> float:
        return float(gammaln(z / 2) - (z / 2) * digamma(z / 2))

    return g(dof) + g(dof + dim_x + dim_y) - g(dof + dim_x) - g(dof + dim_y)


def additive_uniform_mutual_information(epsilon: float) -> float:
    """I(X; X + N) for X ~ U[0, 1] and N ~ U[-epsilon, epsilon].

    h(N) = log(2 epsilon) and Y's density is a trapezoid, so
    I = epsilon - log(2 epsilon) for epsilon <= 1/2, and 1 / (4 epsilon) beyond.
    """
    if epsilon <= 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}")
    if epsilon <= 0.5:
        return epsilon - math.log(2 * epsilon)
    return 1.0 / (4 * epsilon)
