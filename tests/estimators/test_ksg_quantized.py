"""The int16 screen of the max-norm (``_quantized_rows``: values centred, scaled to at most
16,383 quanta and rounded, keys in int16, comparisons near a threshold decided on the exact
float64 distance) against the plain references of test_ksg_metric.py.

The counts must be equal, not close: on continuous data, on tied integer data (ties at the k-th
neighbour, at the radii, exact duplicates), on data finer than a quantum (many samples share a
quantized value, so only the exact decisions can separate them), for both variants and any
subset of rows. The negative controls: counts from the quantized keys alone differ from the
reference on that data (so the exact decisions are exercised, not idle), and data whose tails
would make a quantum coarse is refused by the int16 screen (and still counted exactly by the
float32 one).
"""

import numpy as np
import pytest

from mibench.estimators import _ksg_kernels
from mibench.estimators._ksg_kernels import brute_counts
from tests.estimators.test_ksg_metric import assert_counts_equal, continuous, plain_counts, tied

N = 2 * _ksg_kernels._CHUNK + _ksg_kernels._SCREEN + 7  # several chunks and blocks, a ragged end


def finer_than_a_quantum(n, seed):
    """Values on a grid of 1e-6 in [0, 1]: a quantum is about 6e-5, so about 60 grid values
    share each quantized value; X and Y correlated."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10**6, size=(n, 2)) / 1e6
    y = np.round(0.5 * x[:, :1] + rng.integers(0, 10**6, size=(n, 2)) / 2e6, 6)
    return x, y


def samples():
    return {
        "continuous": continuous(N, 5, 5, seed=31),
        "tied": tied(N, 2, 1, seed=32),
        "finer than a quantum": finer_than_a_quantum(N, seed=33),
    }


@pytest.mark.parametrize("variant", [1, 2])
def test_quantized_counts_equal_the_plain_reference(variant):
    for name, (x, y) in samples().items():
        assert _ksg_kernels._int16_screen(x, y) is not None, name  # the int16 screen is used
        got = brute_counts(x, y, 4, variant, 2, screened=True, quantized=True)
        assert_counts_equal(got, plain_counts(x, y, 4, variant, "chebyshev"), name)


def test_quantized_counts_of_a_row_subset():
    x, y = tied(N, 2, 2, seed=34)
    rows = np.array([0, 1, 300, N - 1])
    got = brute_counts(x, y, 3, 2, 2, rows=rows, quantized=True)
    expected = plain_counts(x, y, 3, 2, "chebyshev")
    np.testing.assert_array_equal(got[0][rows], expected[0][rows])
    np.testing.assert_array_equal(got[1][rows], expected[1][rows])


def test_the_float32_screen_of_the_max_norm_still_gives_the_plain_counts():
    x, y = finer_than_a_quantum(N, seed=35)
    got = brute_counts(x, y, 4, 1, 2, screened=True, quantized=False)
    assert_counts_equal(got, plain_counts(x, y, 4, 1, "chebyshev"))


def test_counts_from_the_quantized_keys_alone_would_be_wrong():
    # Negative control: strict counts within the k-th distance taken from the quantized keys
    # (scale * radius against the integer keys, no exact decisions) miss the reference on data
    # finer than a quantum, so the test above checks the exact decisions, not a lucky rounding.
    x, y = finer_than_a_quantum(N, seed=33)
    xq, yq, scale = _ksg_kernels._int16_screen(x, y)
    expected = plain_counts(x, y, 4, 1, "chebyshev")
    keys_x = np.abs(xq.T[:, None, :].astype(int) - xq.T[None, :, :]).max(axis=2)
    distance_x = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    distance_y = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    joint = np.maximum(distance_x, distance_y)
    np.fill_diagonal(joint, np.inf)
    radius = np.sort(joint, axis=1)[:, 3]
    quantized_only = (keys_x < scale * radius[:, None]).sum(axis=1) - 1
    assert np.any(quantized_only != expected[0])


def test_heavy_tails_take_the_float32_screen_with_the_same_counts():
    rng = np.random.default_rng(36)
    x = rng.standard_cauchy(size=(N, 2))
    y = x[:, :1] + rng.standard_cauchy(size=(N, 1))
    assert _ksg_kernels._int16_screen(x, y) is None  # a quantum would be coarse
    got = brute_counts(x, y, 3, 1, 2, screened=True)
    assert_counts_equal(got, plain_counts(x, y, 3, 1, "chebyshev"))
