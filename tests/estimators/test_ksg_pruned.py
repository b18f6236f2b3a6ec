"""The pruned brute force (``_pruned_rows``: samples in a KD-tree's order, blocks of them skipped
by their bounding boxes) against the plain references of test_ksg_metric.py.

The counts must be equal, not close: on continuous data, on tied integer data (ties at the k-th
neighbour, at the radii, and exact duplicates), on data finer than float32, for both metrics and
both variants, and for any subset of rows. The samples are more than one chunk of the screen
(_CHUNK), so blocks are skipped; a test shows that they are (the negative control: a bound that
never exceeds a radius would skip nothing, and the pruned counts would prove nothing).
"""

import numpy as np
import pytest

from mibench.estimators import _ksg_kernels
from mibench.estimators._ksg_kernels import brute_counts
from tests.estimators.test_ksg_metric import assert_counts_equal, continuous, plain_counts, tied

METRICS = ["chebyshev", "euclidean"]
N = 3 * _ksg_kernels._CHUNK  # three chunks: most blocks lie beyond the first chunk's reach


def test_pruned_counts_equal_the_plain_reference_on_tied_data():
    # The fast case: variant 2 on integers, where the order of tied neighbours decides counts.
    sample = tied(2 * _ksg_kernels._CHUNK + _ksg_kernels._BLOCK, 2, 1, seed=22)
    expected = plain_counts(*sample, 4, 2, "chebyshev")
    assert_counts_equal(brute_counts(*sample, 4, 2, 2, screened=True, pruned=True), expected)


@pytest.mark.slow
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("variant", [1, 2])
def test_pruned_counts_equal_the_plain_reference(metric, variant):
    for sample in (continuous(N, 2, 2, seed=21), tied(N, 2, 1, seed=22)):
        expected = plain_counts(*sample, 4, variant, metric)
        got = brute_counts(*sample, 4, variant, 2, metric=metric, screened=True, pruned=True)
        assert_counts_equal(got, expected, "pruned")


@pytest.mark.parametrize(("metric", "variant"), [("chebyshev", 1), ("euclidean", 2)])
def test_pruned_counts_equal_the_unpruned_screen_in_five_plus_five_dimensions(metric, variant):
    x, y = continuous(N, 5, 5, seed=23)
    unpruned = brute_counts(x, y, 5, variant, 2, metric=metric, screened=True, pruned=False)
    assert_counts_equal(
        brute_counts(x, y, 5, variant, 2, metric=metric, screened=True, pruned=True), unpruned
    )


@pytest.mark.slow
@pytest.mark.parametrize("metric", METRICS)
def test_pruned_distances_finer_than_float32_are_decided_exactly(metric):
    # float32 rounds every value to 1 (every key 0, every comparison in the band), and the
    # boxes' gaps are at the float64 resolution of the exact distances.
    rng = np.random.default_rng(24)
    x = 1.0 + rng.integers(0, 60, size=(N, 2)) * 2.0**-40
    y = 1e6 + x[:, :1] + rng.integers(0, 6, size=(N, 1)) * 2.0**-40
    for variant in (1, 2):
        got = brute_counts(x, y, 3, variant, 2, metric=metric, screened=True, pruned=True)
        assert_counts_equal(got, plain_counts(x, y, 3, variant, metric))


@pytest.mark.slow
def test_pruned_rows_subset_gives_those_rows_counts():
    x, y = tied(N, 2, 2, seed=25)
    rows = np.array([0, 5, 700, N - 1])
    got = brute_counts(x, y, 3, 2, 2, rows=rows, screened=True, pruned=True)
    expected = plain_counts(x, y, 3, 2, "chebyshev")
    np.testing.assert_array_equal(got[0][rows], expected[0][rows])
    np.testing.assert_array_equal(got[1][rows], expected[1][rows])


@pytest.mark.parametrize("metric", METRICS)
def test_the_boxes_bound_every_distance_and_skip_blocks(metric):
    # The gap of a block is at most the exact distance to each of its samples (what makes
    # skipping exact), and exceeds the k-th neighbour distance for most blocks here (what makes
    # it skip anything: with all gaps 0, as for an unordered sample, nothing would be skipped).
    x, y = continuous(N, 2, 2, seed=26)
    code = _ksg_kernels.METRICS[metric]
    xs, _ = _ksg_kernels._float32_screen(x, code)
    ys, _ = _ksg_kernels._float32_screen(y, code)
    order = _ksg_kernels._spatial_order(xs, ys)
    ordered = x[order]
    lo, hi = _ksg_kernels._boxes(ordered)
    gaps = np.empty(lo.shape[1])
    p = 100
    _ksg_kernels._block_gaps(lo, hi, ordered, p, code, gaps)
    distances = np.sqrt(((ordered - ordered[p]) ** 2).sum(axis=1)) if metric == "euclidean" else (
        np.abs(ordered - ordered[p]).max(axis=1)
    )
    block = np.arange(N) // _ksg_kernels._BLOCK
    assert np.all(gaps[block] <= distances)
    kth = np.sort(distances)[5]
    assert np.mean(gaps > kth) > 0.3
    # Negative control: in the original (unordered) sample the boxes are wide, the gaps 0.
    lo, hi = _ksg_kernels._boxes(x)
    _ksg_kernels._block_gaps(lo, hi, x, p, code, gaps)
    assert np.mean(gaps > kth) < 0.1
