"""Kernel density (KDE) plug-in estimator of MI, with a Gaussian or a tophat kernel.

With p_hat the kernel density estimates of (X, Y), X and Y, each evaluated at the samples,

    I = (1/n) sum_i [ log p_hat(x_i, y_i) - log p_hat(x_i) - log p_hat(y_i) ],

by resubstitution or with each sample left out of its own density (leave-one-out). The kernel
is isotropic in standardized coordinates (every column divided by its standard deviation). In
the log of a KDE with m kernel centres, bandwidth h and dimension d,

    log p_hat(z_i) = LSE_j log K(|z_i - z_j| / h) - log m + log c_K(h, d),

the normalisation c_K is (2 pi h^2)^(-d/2) for the Gaussian kernel K(r) = exp(-r^2 / 2) and
1 / (V_d h^d) for the tophat K(r) = [r < 1] (V_d the volume of the unit d-ball); LSE is the
log-sum-exp over the centres (for the tophat, the log of the number of centres within h).

Two conventions choose h:

- scipy's (``bandwidth="scott"`` or ``"silverman"``, as ``scipy.stats.gaussian_kde``): one h
  from the joint dimension d_x + d_y serves the joint and both marginals, on columns divided
  by their ddof-1 standard deviation. With the Gaussian kernel the marginal KDEs are then the
  exact marginals of the joint KDE and the normalisations cancel.
- scikit-learn's (``"sklearn-scott"``, ``"sklearn-silverman"``, as ``KernelDensity`` fitted
  separately to X, Y and (X, Y)): each of the three KDEs takes the rule at its own dimension,
  on columns divided by their ddof-0 standard deviation (``StandardScaler``). This, with the
  tophat kernel, is the KDE of the Beyond-Normal reference implementation (bmi).

The pairwise distances are computed in blocks of rows, so memory is O(block * n), time
O(n^2 (d_x + d_y)).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import gammaln

from mibench.core.contracts import Estimate, Estimator
from mibench.core.pairwise import logsumexp_rows_inplace, row_blocks
from mibench.core.preprocessing import standardize
from mibench.core.validation import InputError, check_choice, check_positive
from mibench.estimators.registry import register

__all__ = ["KDE", "KERNELS", "bandwidth_factor", "kde_mutual_information", "log_kernel_norm"]

#: The kernels: Gaussian exp(-r^2 / 2h^2) and tophat [r < h], r the Euclidean distance.
KERNELS = ("gaussian", "tophat")

#: The rules that set h from n and a dimension; the "sklearn-" ones are taken per space.
_RULES = ("scott", "silverman", "sklearn-scott", "sklearn-silverman")


def bandwidth_factor(rule: str | float, n: int, dim: int) -> float:
    """The kernel bandwidth h in standardized units, by rule, for n samples in ``dim`` dimensions.

    "scott" (and "sklearn-scott"): n ** (-1 / (dim + 4)); "silverman" (and
    "sklearn-silverman"): (n (dim + 2) / 4) ** (-1 / (dim + 4)); a number is returned as it is.
    scipy and scikit-learn share these formulas; they differ in the ``dim`` they are given
    (see :class:`KDE`).
    """
    if rule in ("scott", "sklearn-scott"):
        return n ** (-1.0 / (dim + 4))
    if rule in ("silverman", "sklearn-silverman"):
        return (n * (dim + 2) / 4.0) ** (-1.0 / (dim + 4))
    return float(rule)


def log_kernel_norm(kernel: str, bandwidth: float, dim: int) -> float:
    """log of the constant that makes the kernel of bandwidth h integrate to 1 in ``dim`` dimensions.

    Gaussian: -(dim / 2) log(2 pi) - dim log h. Tophat: -log V_dim - dim log h, with
    V_dim = pi^(dim/2) / Gamma(dim/2 + 1) the volume of the unit ball.
    """
    if kernel == "gaussian":
        return -0.5 * dim * math.log(2 * math.pi) - dim * math.log(bandwidth)
    if kernel == "tophat":
        log_unit_ball = 0.5 * dim * math.log(math.pi) - float(gammaln(0.5 * dim + 1))
        return -log_unit_ball - dim * math.log(bandwidth)
    raise InputError(f"kernel must be one of {', '.join(map(repr, KERNELS))}, got {kernel!r}")


def _log_kernel_sums(
    x: np.ndarray,
    y: np.ndarray,
    bandwidths: tuple[float, float, float],
    kernel: str,
    leave_one_out: bool,
) -> np.ndarray:
    """Per sample: log sum_j K(|.| / h) over the centres, joint, x and y; shape (3, n).

    ``bandwidths`` is (h_joint, h_x, h_y). The joint squared distance is the sum of the
    marginal ones, so one pair of distance blocks serves all three sums.
    """
    n = x.shape[0]
    h_joint, h_x, h_y = bandwidths
    sums = np.empty((3, n))
    # At most four block matrices are alive at once: two distances, a joint one and a scratch.
    for rows in row_blocks(n, n, matrices=4):
        start, stop = rows.start, rows.stop
        distance_x = cdist(x[start:stop], x, "sqeuclidean")
        distance_y = cdist(y[start:stop], y, "sqeuclidean")
        distance_joint = distance_x + distance_y
        own = (np.arange(stop - start), np.arange(start, stop))
        for row, distances, bandwidth in (
            (0, distance_joint, h_joint), (1, distance_x, h_x), (2, distance_y, h_y)
        ):
            if kernel == "tophat":
                # scikit-learn's tophat counts the centres strictly within h; a sample is
                # always within h of itself, so leave-one-out removes exactly one.
                counts = np.count_nonzero(distances < bandwidth * bandwidth, axis=1)
                if leave_one_out:
                    counts = counts - 1
                with np.errstate(divide="ignore"):
                    sums[row, start:stop] = np.log(counts)
            else:
                distances *= -0.5 / bandwidth**2
                if leave_one_out:
                    distances[own] = -np.inf
                sums[row, start:stop] = logsumexp_rows_inplace(distances)
    return sums


def kde_mutual_information(
    x: np.ndarray,
    y: np.ndarray,
    bandwidth: float | tuple[float, float, float],
    leave_one_out: bool = False,
    kernel: str = "gaussian",
) -> float:
    """KDE plug-in MI in nats of arrays (n, d_x), (n, d_y), in the arrays' own units.

    ``bandwidth`` is one h for the joint and both marginal KDEs, or a tuple
    (h_joint, h_x, h_y). No standardization here. Raises InputError when a tophat density
    is 0 at a sample (leave-one-out with no other sample within h).
    """
    n = x.shape[0]
    if isinstance(bandwidth, tuple):
        h_joint, h_x, h_y = bandwidth
    else:
        h_joint = h_x = h_y = float(bandwidth)
    joint, marginal_x, marginal_y = _log_kernel_sums(
        x, y, (h_joint, h_x, h_y), kernel, leave_one_out
    )
    if not np.isfinite(joint).all():
        lonely = int(np.count_nonzero(~np.isfinite(joint)))
        raise InputError(
            f"the tophat KDE is 0 at {lonely} of {n} samples: no other sample lies within the "
            f"bandwidth h = {h_joint:.4g} of them in the joint space, so their log density is "
            "-inf; use a wider bandwidth, leave_one_out=False or the Gaussian kernel"
        )
    d_x, d_y = x.shape[1], y.shape[1]
    normalisation = (
        log_kernel_norm(kernel, h_joint, d_x + d_y)
        - log_kernel_norm(kernel, h_x, d_x)
        - log_kernel_norm(kernel, h_y, d_y)
    )
    centres = n - 1 if leave_one_out else n
    # Each density carries -log m; joint minus the two marginals leaves +log m.
    return float(np.mean(joint - marginal_x - marginal_y) + math.log(centres) + normalisation)


@register("kde")
class KDE(Estimator):
    """Kernel density plug-in MI estimator (Gaussian or tophat kernel; resubstitution or
    leave-one-out).

    Assumes X and Y have a joint density smooth at the scale of the bandwidth. Its resolution
    parameter is the bandwidth h: the estimate depends on it strongly. Too wide a kernel
    blurs the dependence (biased low); too narrow a kernel makes every sample its own peak,
    and the resubstituted estimate climbs toward log n (on a deterministic layer, where the
    true MI is infinite, it reads a value set by h alone). Leave-one-out removes a sample's
    own kernel from its density, which removes the upward self-term at small h. The cost is
    O(n^2) time; memory stays O(n) per block of rows.

    Parameters
    ----------
    bandwidth : {"scott", "silverman", "sklearn-scott", "sklearn-silverman"} or float, default "scott"
        Radius h of the kernel (the Gaussian's standard deviation, the tophat's radius) in
        standardized units, or in data units if ``standardize=False``. Scott's rule is
        h = n^(-1/(d+4)), Silverman's h = (n (d+2) / 4)^(-1/(d+4)). "scott" and "silverman"
        follow ``scipy.stats.gaussian_kde``: d = d_x + d_y, and that one h serves the joint
        and both marginals (so with the Gaussian kernel the marginal KDEs are the marginals of
        the joint KDE), on columns divided by their ddof-1 standard deviation.
        "sklearn-scott" and "sklearn-silverman" follow scikit-learn's ``KernelDensity`` fitted
        to each space on its own, as the Beyond-Normal reference (bmi) does: the joint KDE
        takes d = d_x + d_y, the marginals d = d_x and d = d_y, on columns divided by their
        ddof-0 standard deviation (``StandardScaler``). A number is one h for all three
        (ddof-1 columns when standardized).
    kernel : {"gaussian", "tophat"}, default "gaussian"
        Gaussian exp(-r^2 / 2 h^2), or tophat: uniform on the ball r < h (scikit-learn's
        definition; the density at a sample counts the samples strictly within h, the sample
        itself included unless ``leave_one_out``). bmi's KDE is ``kernel="tophat",
        bandwidth="sklearn-scott"``.
    leave_one_out : bool, default False
        Evaluate each sample's densities without its own kernel (and with n - 1 centres)
        instead of by resubstitution. With the tophat, a sample with no other sample within h
        has density 0 and the estimate raises an InputError.
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
        kernel: str = "gaussian",
    ):
        if isinstance(bandwidth, str):
            self.bandwidth = check_choice(bandwidth, "bandwidth", _RULES)
        elif isinstance(bandwidth, numbers.Real) and not isinstance(bandwidth, bool):
            self.bandwidth = check_positive(bandwidth, "bandwidth")
        else:
            raise InputError(
                f"bandwidth must be one of {', '.join(map(repr, _RULES))} or a positive number, "
                f"got {bandwidth!r}"
            )
        self.leave_one_out = check_choice(leave_one_out, "leave_one_out", (True, False))
        self.standardize = check_choice(standardize, "standardize", (True, False))
        self.kernel = check_choice(kernel, "kernel", KERNELS)

    def min_samples(self) -> int:
        return 2

    def min_samples_reason(self) -> str:
        return "two, for a spread to standardize by and a density without the sample itself"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        n = x.shape[0]
        per_space = isinstance(self.bandwidth, str) and self.bandwidth.startswith("sklearn-")
        if self.standardize:
            ddof = 0 if per_space else 1
            x, y = _standardized(x, ddof), _standardized(y, ddof)
        d_x, d_y = x.shape[1], y.shape[1]
        h_joint = bandwidth_factor(self.bandwidth, n, d_x + d_y)
        if per_space:
            h_x, h_y = bandwidth_factor(self.bandwidth, n, d_x), bandwidth_factor(self.bandwidth, n, d_y)
        else:
            h_x = h_y = h_joint
        value = kde_mutual_information(x, y, (h_joint, h_x, h_y), self.leave_one_out, self.kernel)
        extras = {"bandwidth": h_joint}
        if per_space:
            extras.update(bandwidth_x=h_x, bandwidth_y=h_y)
        return Estimate(value, extras)


def _standardized(values: np.ndarray, ddof: int) -> np.ndarray:
    """Each column divided by its standard deviation with this ddof (constant columns as they are).

    ddof 1 is scipy.stats.gaussian_kde's (it scales the kernel by the ddof-1 covariance), so
    the scipy rules give scipy's h; ddof 0 is scikit-learn's StandardScaler, which bmi applies
    before its KernelDensity. The scale is :func:`mibench.core.preprocessing.column_scale`
    (ddof 0), corrected by sqrt((n - 1) / n) for ddof 1; a constant column adds no distance
    either way. Centring is left out: a KDE does not depend on it.
    """
    n = values.shape[0]
    scaled = standardize(values, center=False)
    return scaled * math.sqrt((n - 1) / n) if ddof == 1 else scaled
