"""Gaussian kernel density (KDE) plug-in estimator of MI.

With p_hat the Gaussian-kernel density estimates of (X, Y), X and Y,

    I = (1/n) sum_i [ log p_hat(x_i, y_i) - log p_hat(x_i) - log p_hat(y_i) ],

evaluated at the samples themselves (resubstitution) or with each sample left out of its own
density (leave-one-out). The kernel is isotropic in standardized coordinates: every column is
divided by its standard deviation, then smoothed with the same bandwidth h; the marginal KDEs
are the exact marginals of the joint KDE, so their kernel normalisations cancel and

    I = (1/n) sum_i [ LSE_j(-|z_i - z_j|^2 / 2h^2) - LSE_j(-|x_i - x_j|^2 / 2h^2)
                      - LSE_j(-|y_i - y_j|^2 / 2h^2) ] + log m,

with LSE the log-sum-exp over the m = n (or n - 1) kernel centres. The pairwise distances are
computed in blocks of rows, so memory is O(block * n), time O(n^2 (d_x + d_y)).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.spatial.distance import cdist

from mibench.core.contracts import Estimate, Estimator
from mibench.core.pairwise import logsumexp_rows_inplace, row_blocks
from mibench.core.preprocessing import standardize
from mibench.core.validation import InputError, check_choice, check_positive
from mibench.estimators.registry import register

__all__ = ["KDE", "bandwidth_factor", "kde_mutual_information"]

def bandwidth_factor(rule: str | float, n: int, dim: int) -> float:
    """The kernel bandwidth h in standardized units, by rule (as in ``scipy.stats.gaussian_kde``).

    "scott": n ** (-1 / (dim + 4)); "silverman": (n (dim + 2) / 4) ** (-1 / (dim + 4));
    a number is returned as it is.
    """
    if rule == "scott":
        return n ** (-1.0 / (dim + 4))
    if rule == "silverman":
        return (n * (dim + 2) / 4.0) ** (-1.0 / (dim + 4))
    return float(rule)


def _log_kernel_sums(
    x: np.ndarray, y: np.ndarray, bandwidth: float, leave_one_out: bool
) -> np.ndarray:
    """Per sample: LSE of the joint, x and y log-kernels over all centres; shape (3, n)."""
    n = x.shape[0]
    scale = -0.5 / bandwidth**2
    sums = np.empty((3, n))
    # Three block matrices are alive at once: the x and y log-kernels and their sum.
    for rows in row_blocks(n, n, matrices=3):
        start, stop = rows.start, rows.stop
        log_kernel_x = cdist(x[start:stop], x, "sqeuclidean")
        log_kernel_x *= scale
        log_kernel_y = cdist(y[start:stop], y, "sqeuclidean")
        log_kernel_y *= scale
        if leave_one_out:
            own = (np.arange(stop - start), np.arange(start, stop))
            log_kernel_x[own] = -np.inf
            log_kernel_y[own] = -np.inf
        # The isotropic kernel factorises, so the joint log-kernel is the sum of the marginal ones.
        sums[0, start:stop] = logsumexp_rows_inplace(log_kernel_x + log_kernel_y)
        sums[1, start:stop] = logsumexp_rows_inplace(log_kernel_x)
        sums[2, start:stop] = logsumexp_rows_inplace(log_kernel_y)
    return sums


def kde_mutual_information(
    x: np.ndarray, y: np.ndarray, bandwidth: float, leave_one_out: bool = False
) -> float:
    """KDE plug-in MI in nats of arrays (n, d_x), (n, d_y), with an isotropic Gaussian kernel
    of standard deviation ``bandwidth`` in the arrays' own units (no standardization here)."""
    n = x.shape[0]
    joint, marginal_x, marginal_y = _log_kernel_sums(x, y, bandwidth, leave_one_out)
    centres = n - 1 if leave_one_out else n
    return float(np.mean(joint - marginal_x - marginal_y) + math.log(centres))


@register("kde")
class KDE(Estimator):
    """Gaussian kernel density plug-in MI estimator (resubstitution or leave-one-out).

    Assumes X and Y have a joint density smooth at the scale of the bandwidth. Its resolution
    parameter is the bandwidth h: the estimate depends on it strongly. Too wide a kernel
    blurs the dependence (biased low); too narrow a kernel makes every sample its own peak,
    and the resubstituted estimate climbs toward log n (on a deterministic layer, where the
    true MI is infinite, it reads a value set by h alone). Leave-one-out removes a sample's
    own kernel from its density, which removes the upward self-term at small h. The cost is
    O(n^2) time; memory stays O(n) per block of rows.

    Parameters
    ----------
    bandwidth : {"scott", "silverman"} or float, default "scott"
        Standard deviation h of the kernel in standardized units (each column divided by its
        standard deviation), or in data units if ``standardize=False``. The rules use the
        joint dimension d = d_x + d_y: Scott h = n^(-1/(d+4)), Silverman
        h = (n (d+2) / 4)^(-1/(d+4)). The same h serves the joint and both marginals, so the
        marginal KDEs are the marginals of the joint KDE.
    leave_one_out : bool, default False
        Evaluate each sample's densities without its own kernel (and with n - 1 centres)
        instead of by resubstitution.
    standardize : bool, default True
        Divide every column by its standard deviation first (constant columns are left as they
        are), so one bandwidth fits columns of different scales.
    """

    def __init__(
        self,
        *,
        bandwidth: str | float = "scott",
        leave_one_out: bool = False,
        standardize: bool = True,
    ):
        if isinstance(bandwidth, str):
            self.bandwidth = check_choice(bandwidth, "bandwidth", ("scott", "silverman"))
        elif isinstance(bandwidth, numbers.Real) and not isinstance(bandwidth, bool):
            self.bandwidth = check_positive(bandwidth, "bandwidth")
        else:
            raise InputError(
                f"bandwidth must be 'scott', 'silverman' or a positive number, got {bandwidth!r}"
            )
        self.leave_one_out = check_choice(leave_one_out, "leave_one_out", (True, False))
        self.standardize = check_choice(standardize, "standardize", (True, False))

    def min_samples(self) -> int:
        return 2

    def min_samples_reason(self) -> str:
        return "two, for a spread to standardize by and a density without the sample itself"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        n = x.shape[0]
        if self.standardize:
            x, y = _standardized(x), _standardized(y)
        bandwidth = bandwidth_factor(self.bandwidth, n, x.shape[1] + y.shape[1])
        value = kde_mutual_information(x, y, bandwidth, self.leave_one_out)
        return Estimate(value, {"bandwidth": bandwidth})


def _standardized(values: np.ndarray) -> np.ndarray:
    """Each column divided by its ddof-1 standard deviation (constant columns as they are).

    The bandwidth rules are scipy.stats.gaussian_kde's, which scale the kernel by the ddof-1
    covariance; dividing by the ddof-1 deviation keeps h equal to scipy's (ddof 0 would
    shrink it by sqrt((n - 1) / n)). The scale is :func:`mibench.core.preprocessing.column_scale`
    (ddof 0) corrected by that factor; a constant column adds no distance either way.
    """
    n = values.shape[0]
    return standardize(values, center=False) * math.sqrt((n - 1) / n)
