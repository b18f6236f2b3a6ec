"""Two-sample checks of a sampler's quantiles and rank correlations, with their sampling errors.

The standard error of a sample quantile is sqrt(p (1 - p) / n) / f(q) (asymptotic normality of
order statistics); 1 / f(q) is estimated from the sample as (Q(p + h) - Q(p - h)) / (2 h)
(Siddiqui's sparsity estimate). The standard error of Spearman's rho comes from its influence
function (Hoeffding projection): rho_S = 12 E[F(X) G(Y)] - 3 has the influence
12 (F(x) G(y) + E[1{x <= X} G(Y)] + E[F(X) 1{y <= Y}]) up to a constant.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: How many standard errors a statistic may stray: about 6e-7 false alarms per comparison for a
#: correct sampler, so a whole suite of ~1,000 comparisons passes at almost any seed.
Z_LIMIT = 5.0


def quantiles_and_errors(values: np.ndarray, probabilities) -> tuple[np.ndarray, np.ndarray]:
    """Sample quantiles of a 1-d sample and their standard errors."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n = values.size
    bandwidth = np.minimum(0.01, np.minimum(probabilities, 1 - probabilities) / 3)
    points = np.quantile(values, np.concatenate([probabilities, probabilities - bandwidth,
                                                 probabilities + bandwidth]))
    quantiles, below, above = np.split(points, 3)
    sparsity = (above - below) / (2 * bandwidth)
    return quantiles, np.sqrt(probabilities * (1 - probabilities) / n) * sparsity


def spearman_and_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Spearman's rho of two 1-d samples and its standard error from the influence function."""
    n = a.size
    u = stats.rankdata(a) / n
    v = stats.rankdata(b) / n
    by_a = np.argsort(a)
    by_b = np.argsort(b)
    # E[1{a_i <= A} G(B)]: the mean of v over the points whose a is at least a_i.
    above_a = np.empty(n)
    above_a[by_a] = np.cumsum(v[by_a][::-1])[::-1] / n
    above_b = np.empty(n)
    above_b[by_b] = np.cumsum(u[by_b][::-1])[::-1] / n
    influence = 12 * (u * v + above_a + above_b)
    rho = stats.spearmanr(a, b).statistic
    return float(rho), float(influence.std() / math.sqrt(n))


def quantile_z_scores(sample: np.ndarray, reference: np.ndarray, probabilities, reference_n: int,
                      rounding: float = 0.0) -> np.ndarray:
    """|q_sample - q_reference| in standard errors of their difference.

    ``reference`` holds the reference sampler's quantiles at the same probabilities from
    ``reference_n`` draws (rounded to ``rounding``, added to the error as a uniform error's
    standard deviation); its standard errors follow from the same density as the sample's.
    """
    quantiles, errors = quantiles_and_errors(sample, probabilities)
    error = np.sqrt(errors**2 * (1 + sample.size / reference_n) + rounding**2 / 3)
    return np.abs(quantiles - np.asarray(reference)) / error


def spearman_z_score(a: np.ndarray, b: np.ndarray, reference: float, reference_n: int,
                     rounding: float = 0.0) -> float:
    """|rho_sample - rho_reference| in standard errors of their difference."""
    rho, error = spearman_and_error(a, b)
    error = math.sqrt(error**2 * (1 + a.size / reference_n) + rounding**2 / 3)
    return abs(rho - reference) / error
