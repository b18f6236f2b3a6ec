"""KSG's ``metric`` option and its screened kernels, against references written here.

- Exactness: the counts of every algorithm equal those of a plain numpy computation of the
  definition (full distance matrices, a stable sort), for both metrics and both variants, on
  continuous data, on tied integer data, and on data whose distances all lie within float32's
  resolution of each other (every comparison then falls inside the float32 screen's band and
  must be decided in float64).
- bmi: with bmi's settings (Euclidean norm within X and within Y, k = 10, no jitter) the estimate
  equals bmi's KSG computed here from its formulas, with scikit-learn's ``StandardScaler`` and
  ``pairwise_distances`` as bmi calls them; the Chebyshev setting does not (negative control).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import digamma
from sklearn.metrics import pairwise_distances
from sklearn.preprocessing import StandardScaler

import mibench
from mibench.core.errors import InputError
from mibench.estimators._ksg_kernels import brute_counts
from mibench.estimators.ksg import choose_algorithm, ksg_counts

METRICS = ["chebyshev", "euclidean"]


def plain_distances(values: np.ndarray, metric: str) -> np.ndarray:
    """(n, n) distances in one margin: the max-norm, or sqrt of squares summed in column order
    (in one dimension |a - b| for both)."""
    if metric == "chebyshev" or values.shape[1] == 1:
        return np.abs(values[:, None, :] - values[None, :, :]).max(axis=2)
    squares = np.zeros((values.shape[0], values.shape[0]))
    for column in values.T:
        squares = squares + (column[:, None] - column[None, :]) ** 2
    return np.sqrt(squares)


def plain_counts(x, y, k, variant, metric):
    """n_x, n_y by the definition: the k nearest in the joint distance (the larger marginal
    one) in stable-sort order; strict counts within the k-th distance (variant 1), or counts
    within the neighbours' largest marginal distances (variant 2); the sample left out."""
    dist_x = plain_distances(x, metric)
    dist_y = plain_distances(y, metric)
    n = x.shape[0]
    counts_x = np.empty(n, dtype=np.int64)
    counts_y = np.empty(n, dtype=np.int64)
    for i in range(n):
        joint = np.maximum(dist_x[i], dist_y[i])
        joint[i] = np.inf
        neighbours = np.argsort(joint, kind="stable")[:k]
        if variant == 1:
            radius = joint[neighbours[-1]]
            counts_x[i] = np.sum(dist_x[i] < radius) - 1
            counts_y[i] = np.sum(dist_y[i] < radius) - 1
        else:
            counts_x[i] = np.sum(dist_x[i] <= dist_x[i, neighbours].max()) - 1
            counts_y[i] = np.sum(dist_y[i] <= dist_y[i, neighbours].max()) - 1
    return counts_x, counts_y


def bmi_ksg(x, y, k):
    """bmi's KSGEnsembleFirstEstimator(neighborhoods=(k,), metric_x="euclidean"), written from
    its formulas: standardize each side (centred, unit variance), Euclidean distances within
    each side by scikit-learn, the larger of the two in the joint space, the k-th neighbour
    after the point itself in sorted order, strict counts less the point itself, and
    psi(k) + psi(n) - mean(psi(n_x + 1) + psi(n_y + 1)), reported as at least 0."""
    x = StandardScaler().fit_transform(x)
    y = StandardScaler().fit_transform(y)
    dist_x = pairwise_distances(x, x, metric="euclidean")
    dist_y = pairwise_distances(y, y, metric="euclidean")
    joint = np.maximum(dist_x, dist_y)
    kth = np.sort(joint, axis=1)[:, k]  # column 0 is the point itself
    n_x = (dist_x < kth[:, None]).sum(axis=1) - 1
    n_y = (dist_y < kth[:, None]).sum(axis=1) - 1
    n = x.shape[0]
    return max(0.0, digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1)))


def continuous(n, dim_x, dim_y, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim_x))
    y = 0.7 * x[:, :1] + rng.normal(size=(n, dim_y))
    return x, y


def tied(n, dim_x, dim_y, seed):
    """Integers: tied distances at the k-th neighbour and at the radii, exact duplicates."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, dim_x)).astype(float)
    return x, x[:, :1] + rng.integers(0, 3, size=(n, dim_y))


def assert_counts_equal(got, expected, message=""):
    np.testing.assert_array_equal(got[0], expected[0], err_msg=message)
    np.testing.assert_array_equal(got[1], expected[1], err_msg=message)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize(("dim_x", "dim_y"), [(1, 1), (1, 3), (2, 2), (5, 5), (3, 9)])
def test_brute_counts_equal_the_plain_reference(metric, variant, dim_x, dim_y):
    for sample in (continuous(240, dim_x, dim_y, seed=dim_x + dim_y), tied(240, dim_x, dim_y, 3)):
        expected = plain_counts(*sample, 4, variant, metric)
        got = brute_counts(*sample, 4, variant, 2, metric=metric, screened=True)
        assert_counts_equal(got, expected, "screened")
        if metric == "chebyshev":
            got = brute_counts(*sample, 4, variant, 2, metric=metric, screened=False)
            assert_counts_equal(got, expected, "plain")


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("variant", [1, 2])
def test_torch_counts_equal_the_plain_reference(metric, variant):
    pytest.importorskip("torch")
    for sample in (continuous(200, 3, 2, seed=5), tied(200, 2, 3, seed=6)):
        got = ksg_counts(*sample, 3, variant, "torch", metric=metric)[:2]
        assert_counts_equal(got, plain_counts(*sample, 3, variant, metric))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("variant", [1, 2])
def test_distances_finer_than_float32_are_decided_exactly(metric, variant):
    # Values 1 + m * 2^-40: float32 rounds them all to 1, so every key of the screen is 0 and
    # every comparison lies in its band; only the float64 decisions can get the counts right.
    # Offsets of 1e6 besides: the screen centres each column, or its band would be huge.
    rng = np.random.default_rng(7)
    x = 1.0 + rng.integers(0, 50, size=(150, 3)) * 2.0**-40
    y = 1e6 + x[:, :2] + rng.integers(0, 5, size=(150, 2)) * 2.0**-40
    got = brute_counts(x, y, 3, variant, 2, metric=metric, screened=True)
    assert_counts_equal(got, plain_counts(x, y, 3, variant, metric))


@pytest.mark.parametrize("metric", METRICS)
def test_the_screen_sees_every_row_subset(metric):
    # The repair of single rows (used by the tree path) gives those rows' full counts.
    x, y = tied(300, 2, 2, seed=8)
    rows = np.array([0, 17, 150, 299])
    got = brute_counts(x, y, 3, 2, 2, rows=rows, metric=metric, screened=True)
    expected = plain_counts(x, y, 3, 2, metric)
    np.testing.assert_array_equal(got[0][rows], expected[0][rows])
    np.testing.assert_array_equal(got[1][rows], expected[1][rows])


@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    n=st.integers(4, 30),
    dim_x=st.integers(1, 3),
    dim_y=st.integers(1, 3),
    variant=st.sampled_from([1, 2]),
    metric=st.sampled_from(METRICS),
)
def test_any_small_sample_gives_the_plain_counts(data, n, dim_x, dim_y, variant, metric):
    elements = st.one_of(
        st.integers(-2, 2).map(float),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64),
    )
    x = data.draw(hnp.arrays(np.float64, (n, dim_x), elements=elements))
    y = data.draw(hnp.arrays(np.float64, (n, dim_y), elements=elements))
    expected = plain_counts(x, y, 2, variant, metric)
    got = brute_counts(x, y, 2, variant, 2, metric=metric, screened=True)
    assert_counts_equal(got, expected)


@pytest.mark.parametrize("variant", [1, 2])
def test_both_kernels_agree_where_the_screen_takes_over(variant):
    # From _SCREEN_MIN_SAMPLES samples on, the max-norm counts come from the screen.
    from mibench.estimators import _ksg_kernels

    x, y = continuous(_ksg_kernels._SCREEN_MIN_SAMPLES, 3, 3, seed=11)
    screened = brute_counts(x, y, 3, variant, 2)
    assert_counts_equal(screened, brute_counts(x, y, 3, variant, 2, screened=False))
    with pytest.raises(ValueError, match="max-norm only"):
        brute_counts(x, y, 3, variant, 2, metric="euclidean", screened=False)


@pytest.mark.parametrize(("dim_x", "dim_y"), [(3, 2), (5, 5)])
def test_bmi_settings_reproduce_bmi_ksg(dim_x, dim_y):
    x, y = continuous(1_000, dim_x, dim_y, seed=dim_x * 10 + dim_y)
    x = 3.0 * x + 5.0  # units and offsets, which both standardize away
    expected = bmi_ksg(x, y, 10)
    assert expected > 0.05  # away from bmi's clipping at 0
    ours = mibench.estimate(x, y, "ksg", k=10, metric="euclidean", noise=0.0)
    assert ours == pytest.approx(expected, abs=1e-6)
    # Negative control: the same check (1e-6) with the KSG paper's max-norm must fail.
    chebyshev = mibench.estimate(x, y, "ksg", k=10, metric="chebyshev", noise=0.0)
    assert chebyshev != pytest.approx(expected, abs=1e-6)


def test_one_dimensional_margins_make_the_metrics_equal():
    x, y = continuous(500, 1, 1, seed=9)
    values = {m: mibench.estimate(x, y, "ksg", metric=m, algorithm="tree") for m in METRICS}
    assert values["euclidean"] == values["chebyshev"]
    assert mibench.estimate(x, y, "ksg", metric="euclidean", algorithm="brute") == pytest.approx(
        values["chebyshev"], abs=1e-12
    )


def test_trees_refuse_the_euclidean_metric_in_several_dimensions():
    x, y = continuous(100, 2, 1, seed=10)
    assert choose_algorithm(1_000_000, 2, 1, metric="euclidean") == "brute"
    assert choose_algorithm(1_000_000, 1, 1, metric="euclidean") == "tree"
    with pytest.raises(InputError, match="metric='chebyshev'"):
        mibench.estimate(x, y, "ksg", metric="euclidean", algorithm="tree")
    extras = mibench.get_estimator("ksg", metric="euclidean").estimate_with_extras(x, y).extras
    assert extras["algorithm"] == "brute"
    with pytest.raises(ValueError, match="metric"):
        mibench.get_estimator("ksg", metric="manhattan")
