"""The Gaussian (canonical-correlation) baseline: MI of the Gaussian with the sample covariance."""

from __future__ import annotations

import numpy as np

from mibench.core.closed_form import gaussian_mutual_information
from mibench.core.contracts import Estimator
from mibench.core.validation import InputError
from mibench.estimators.registry import register

__all__ = ["Gaussian"]


@register("gaussian")
class Gaussian(Estimator):
    """MI of the joint Gaussian with the samples' covariance (the CCA baseline).

    Consistent for jointly normal data; for any other distribution it reports the MI of a
    Gaussian with the same covariance, which sees only linear dependence (it is blind to a
    bijection that bends the data, and reads 0 for dependence without correlation). It has
    no resolution parameter. Needs more samples than dimensions (d_x + d_y + 1), and fails with
    a clear error when coordinates are collinear.
    """

    def __init__(self):
        pass

    def validate(self, x, y):
        x, y = super().validate(x, y)
        needed = x.shape[1] + y.shape[1] + 1
        if x.shape[0] < needed:
            raise InputError(
                f"too few samples for estimator 'gaussian': it needs more samples than "
                f"dimensions, at least {needed} for d_x + d_y = {needed - 1}, got {x.shape[0]}"
            )
        return x, y

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        joint = np.hstack([x, y])
        # MI is invariant to scaling a column; scaling first keeps the covariance from
        # overflowing on very large values.
        largest = np.abs(joint).max(axis=0)
        joint = joint / np.where(largest > 0, largest, 1.0)
        covariance = np.cov(joint, rowvar=False)
        try:
            value = gaussian_mutual_information(covariance, x.shape[1])
        except ValueError as error:
            raise InputError(
                f"estimator 'gaussian': {error}; some coordinates are constant or collinear"
            ) from None
        # The sample-covariance MI is >= 0 by Fischer's inequality; clip round-off only.
        return max(0.0, value)
