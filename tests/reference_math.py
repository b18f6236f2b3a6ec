"""Plain numpy/scipy references the tests compare mibench against (no mibench code)."""

import math

import numpy as np
from scipy.spatial.distance import cdist

#: Rows per block: small enough that each block's kernel is reused memory. A 60,000 x 300
#: kernel allocated at once spent most of its 11 s in page faults on these machines.
_BLOCK = 2048


def logsumexp_rows(values: np.ndarray) -> np.ndarray:
    """log(sum(exp(values))) over each row of a 2-d array.

    Terms more than 700 below their row's maximum are raised to exactly 700 below it: each
    then adds at most exp(-700) ~ 1e-304 of the row's sum, far below float64's resolution, and
    none is a subnormal number, whose exp some CPUs compute many times more slowly.
    """
    top = values.max(axis=1, keepdims=True)
    shifted = np.maximum(values - top, -700.0)
    return top[:, 0] + np.log(np.exp(shifted).sum(axis=1))


def log_mixture_density(points: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    """log p(t) of each point under the equal-weight mixture of N(c_j, sigma^2 I), by blocks:
    logsumexp_j log N(t; c_j, sigma^2 I) - log m."""
    m, d = centres.shape
    constant = math.log(m) + 0.5 * d * math.log(2 * math.pi * sigma**2)
    out = np.empty(len(points))
    for start in range(0, len(points), _BLOCK):
        block = points[start:start + _BLOCK]
        kernel = cdist(block, centres, "sqeuclidean") / (-2 * sigma**2)
        out[start:start + _BLOCK] = logsumexp_rows(kernel) - constant
    return out
