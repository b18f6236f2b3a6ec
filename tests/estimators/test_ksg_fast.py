"""Every KSG algorithm (tree, compiled brute force, torch) against a slow but obvious reference.

The counts must be equal, not merely close: strict < for variant 1, <= for variant 2, and on
tied data the k nearest neighbours taken in the order of a stable sort.
"""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import digamma

import mibench
from mibench.estimators._ksg_kernels import brute_counts, sorted_counts
from mibench.estimators.ksg import (
    choose_algorithm,
    ksg_counts,
    ksg_mutual_information,
    standardize_and_jitter,
)

ALGORITHMS = ["tree", "brute", "torch"]


def reference_counts(x: np.ndarray, y: np.ndarray, k: int, variant: int):
    """n_x, n_y from the full max-norm distance matrices, one sample at a time."""
    n = x.shape[0]
    dist_x = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    dist_y = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    counts_x = np.empty(n, dtype=np.int64)
    counts_y = np.empty(n, dtype=np.int64)
    for i in range(n):
        joint = np.maximum(dist_x[i], dist_y[i])
        joint[i] = np.inf
        neighbours = np.argsort(joint, kind="stable")[:k]
        if variant == 1:
            eps = joint[neighbours[-1]]
            counts_x[i] = np.sum(dist_x[i] < eps) - 1
            counts_y[i] = np.sum(dist_y[i] < eps) - 1
        else:
            counts_x[i] = np.sum(dist_x[i] <= dist_x[i, neighbours].max()) - 1
            counts_y[i] = np.sum(dist_y[i] <= dist_y[i, neighbours].max()) - 1
    return counts_x, counts_y


def reference_ksg(x, y, k, variant):
    n = x.shape[0]
    counts_x, counts_y = reference_counts(x, y, k, variant)
    if variant == 1:
        return digamma(k) + digamma(n) - np.mean(digamma(counts_x + 1) + digamma(counts_y + 1))
    return digamma(k) - 1 / k + digamma(n) - np.mean(digamma(counts_x) + digamma(counts_y))


def continuous_sample(n, dim_x, dim_y, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim_x))
    y = 0.8 * x[:, :1] + rng.normal(size=(n, dim_y))
    return x, y


def integer_sample(n, dim_x, dim_y, seed, levels=5):
    """Integer data: many tied marginal and joint distances, and some exact duplicates."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, size=(n, dim_x)).astype(float)
    y = x[:, :1] + rng.integers(0, 3, size=(n, dim_y))
    return x, y


DIMENSIONS = [(1, 1), (1, 3), (2, 2), (3, 4), (5, 5), (1, 11), (6, 6)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize(("dim_x", "dim_y"), DIMENSIONS)
def test_counts_equal_reference_on_continuous_data(algorithm, variant, k, dim_x, dim_y):
    x, y = continuous_sample(250, dim_x, dim_y, seed=dim_x * 100 + dim_y * 10 + k)
    counts_x, counts_y, used = ksg_counts(x, y, k, variant, algorithm, workers=2)
    expected_x, expected_y = reference_counts(x, y, k, variant)
    assert used == algorithm
    np.testing.assert_array_equal(counts_x, expected_x)
    np.testing.assert_array_equal(counts_y, expected_y)
    assert ksg_mutual_information(x, y, k, variant, algorithm, workers=2) == pytest.approx(
        reference_ksg(x, y, k, variant), abs=1e-10
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize(("dim_x", "dim_y"), [(1, 1), (2, 1), (2, 3), (6, 6)])
def test_counts_equal_reference_on_tied_integer_data(algorithm, variant, k, dim_x, dim_y):
    # No jitter: ties at the k-th neighbour and at the marginal radii are resolved by the
    # definition alone (strict or not, stable order), identically by every algorithm.
    x, y = integer_sample(300, dim_x, dim_y, seed=dim_x * 10 + dim_y + k)
    counts_x, counts_y, _ = ksg_counts(x, y, k, variant, algorithm, workers=2)
    expected_x, expected_y = reference_counts(x, y, k, variant)
    np.testing.assert_array_equal(counts_x, expected_x)
    np.testing.assert_array_equal(counts_y, expected_y)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("variant", [1, 2])
def test_duplicates_beyond_k_give_the_reference_value(algorithm, variant):
    # Three values only: every sample has many exact duplicates, so for variant 1 the k-th
    # neighbour is at distance 0, nothing is strictly closer, and the estimate is +inf.
    x, y = integer_sample(120, 1, 1, seed=5, levels=3)
    value = mibench.estimate(
        x, y, "ksg", k=3, variant=variant, algorithm=algorithm, noise=0.0, standardize=False
    )
    expected = reference_ksg(x, y, 3, variant)
    if variant == 1:
        assert value == expected == np.inf
    else:
        assert value == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("variant", [1, 2])
def test_all_algorithms_agree_on_jittered_integer_data(variant):
    x, y = integer_sample(400, 2, 2, seed=11)
    values = {
        algorithm: mibench.estimate(x, y, "ksg", k=4, variant=variant, algorithm=algorithm)
        for algorithm in ALGORITHMS
    }
    rng = np.random.default_rng(0)  # the estimator's default seed, same order of draws
    jittered_x = standardize_and_jitter(x, 1e-10, rng, standardize=True)
    jittered_y = standardize_and_jitter(y, 1e-10, rng, standardize=True)
    expected = reference_ksg(jittered_x, jittered_y, 4, variant)
    for value in values.values():
        assert value == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("variant", [1, 2])
def test_the_number_does_not_depend_on_workers(variant):
    x, y = continuous_sample(1001, 3, 3, seed=4)
    one = brute_counts(x, y, 3, variant, workers=1)
    three = brute_counts(x, y, 3, variant, workers=3)
    np.testing.assert_array_equal(one[0], three[0])
    np.testing.assert_array_equal(one[1], three[1])
    for algorithm in ("tree", "brute"):
        estimates = {
            mibench.estimate(x, y, "ksg", variant=variant, algorithm=algorithm, workers=w)
            for w in (1, 2, -1)
        }
        assert len(estimates) == 1


@pytest.mark.parametrize("strict", [True, False])
def test_sorted_counts_are_exact_where_v_plus_r_rounds(strict):
    # Values of very different magnitudes, radii equal to actual distances: v +- r rounds, so
    # a search for v +- r would miscount; the counts must match computed distances.
    rng = np.random.default_rng(6)
    values = np.concatenate(
        [rng.normal(size=150), 1e8 + rng.integers(0, 4, 100) * 2.0**-26, 2.0**-30 * rng.normal(size=50)]
    )
    partner = rng.permutation(values.size)
    radii = np.abs(values - values[partner])
    counts = sorted_counts(values, radii, strict, workers=2)
    distances = np.abs(values[:, None] - values[None, :])
    inside = distances < radii[:, None] if strict else distances <= radii[:, None]
    np.testing.assert_array_equal(counts, inside.sum(axis=1) - 1)


def test_auto_picks_trees_in_low_dimensions_and_the_brute_force_in_high_ones():
    assert choose_algorithm(1_000_000, 1, 1) == "tree"
    assert choose_algorithm(1_000, 1, 2) == "tree"
    assert choose_algorithm(5_000, 2, 2) == "brute"
    assert choose_algorithm(100_000, 2, 2) == "tree"
    assert choose_algorithm(20_000, 5, 5) == "brute"
    assert choose_algorithm(1_000_000, 5, 5) == "tree"
    assert choose_algorithm(3_000, 1, 3) == "brute"
    assert choose_algorithm(20_000, 1, 3) == "tree"
    assert choose_algorithm(200_000, 20, 20) == "brute"
    assert choose_algorithm(20_000, 5, 5, device="cuda") == "torch"
    x, y = continuous_sample(300, 5, 5, seed=1)
    extras = mibench.get_estimator("ksg").estimate_with_extras(x, y).extras
    assert extras["algorithm"] == choose_algorithm(300, 5, 5)


def test_brute_force_memory_grows_like_n_not_n_squared():
    n = 20_000
    x, y = continuous_sample(n, 6, 6, seed=2)
    # Compiled first (numba's compiler allocates megabytes the first time, in a fresh clone or
    # when this test runs first), so that only the kernel's own memory is traced.
    brute_counts(x, y, 3, 1, workers=2)
    tracemalloc.start()
    try:
        brute_counts(x, y, 3, 1, workers=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Inputs transposed (12 columns), two rows of scratch per thread, two count arrays: about
    # 20 numbers per sample; an n x n distance matrix would be 3.2 GB.
    assert peak < 40 * 8 * n
    assert peak < n * n * 8 / 100


def test_cuda_device_is_refused_without_a_gpu_or_with_a_cpu_algorithm():
    with pytest.raises(ValueError, match="device"):
        mibench.get_estimator("ksg", device="tpu")
    with pytest.raises(ValueError, match="algorithm 'torch' or 'auto'"):
        mibench.get_estimator("ksg", device="cuda", algorithm="brute")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            mibench.estimate(np.arange(10.0), np.arange(10.0), "ksg", device="cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("variant", [1, 2])
def test_cuda_path_equals_reference(variant):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    for x, y in (continuous_sample(500, 4, 3, seed=8), integer_sample(500, 2, 2, seed=9)):
        counts_x, counts_y, used = ksg_counts(x, y, 3, variant, "auto", device="cuda")
        expected_x, expected_y = reference_counts(x, y, 3, variant)
        assert used == "torch"
        np.testing.assert_array_equal(counts_x, expected_x)
        np.testing.assert_array_equal(counts_y, expected_y)


@pytest.mark.parametrize("variant", [1, 2])
def test_torch_blocks_split_anywhere(monkeypatch, variant):
    from mibench.estimators import _ksg_torch

    x, y = integer_sample(200, 2, 2, seed=12)
    # 7 rows per block: block boundaries fall inside runs of tied samples.
    monkeypatch.setattr(_ksg_torch, "_BLOCK_BYTES_CPU", 8 * 200 * 7)
    counts_x, counts_y = _ksg_torch.torch_counts(x, y, 3, variant)
    expected_x, expected_y = reference_counts(x, y, 3, variant)
    np.testing.assert_array_equal(counts_x, expected_x)
    np.testing.assert_array_equal(counts_y, expected_y)


def test_tree_recounts_rows_whose_kth_neighbour_is_tied(monkeypatch):
    from mibench.estimators import _ksg_kernels

    recounted = []
    original = _ksg_kernels.brute_counts

    def spy(x, y, k, variant, workers, rows=None):
        recounted.append(rows)
        return original(x, y, k, variant, workers, rows=rows)

    monkeypatch.setattr(_ksg_kernels, "brute_counts", spy)
    x, y = integer_sample(300, 2, 1, seed=13)
    counts_x, counts_y, _ = ksg_counts(x, y, 3, 2, "tree")
    assert recounted and 0 < recounted[0].size < 300
    expected_x, expected_y = reference_counts(x, y, 3, 2)
    np.testing.assert_array_equal(counts_x, expected_x)
    np.testing.assert_array_equal(counts_y, expected_y)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n=st.integers(4, 40),
    dim_x=st.integers(1, 4),
    dim_y=st.integers(1, 4),
    k=st.integers(1, 3),
    variant=st.sampled_from([1, 2]),
)
def test_any_small_sample_gives_the_reference_counts(data, n, dim_x, dim_y, k, variant):
    # Few distinct values (many ties and duplicates) mixed with values of any magnitude.
    elements = st.one_of(
        st.integers(-2, 2).map(float),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64),
    )
    x = data.draw(hnp.arrays(np.float64, (n, dim_x), elements=elements))
    y = data.draw(hnp.arrays(np.float64, (n, dim_y), elements=elements))
    expected_x, expected_y = reference_counts(x, y, k, variant)
    for algorithm in ALGORITHMS:
        counts_x, counts_y, _ = ksg_counts(x, y, k, variant, algorithm, workers=2)
        np.testing.assert_array_equal(counts_x, expected_x, err_msg=algorithm)
        np.testing.assert_array_equal(counts_y, expected_y, err_msg=algorithm)


def test_standardizing_survives_magnitudes_near_the_float64_limits():
    # Squares of 1e300 overflow and of 1e-300 underflow; the estimate must not notice.
    x, y = continuous_sample(500, 2, 2, seed=14)
    plain = mibench.estimate(x, y, "ksg")
    assert mibench.estimate(x * 1e300, y * 1e-300, "ksg") == pytest.approx(plain, abs=1e-6)


@pytest.mark.parametrize("variant", [1, 2])
def test_distances_that_overflow_to_inf_are_counted_exactly(variant):
    # Unstandardized values near the float64 limit: some max-norm distances are inf, which
    # cKDTree cannot take as a radius; every algorithm must still give the reference counts.
    x, y = continuous_sample(60, 2, 1, seed=15)
    x = x / np.abs(x).max() * 1.5e308
    with np.errstate(over="ignore"):
        expected = reference_counts(x, y, 3, variant)
        assert np.isinf(np.abs(x[:, None, 0] - x[None, :, 0])).any()
    for algorithm in ALGORITHMS:
        counts = ksg_counts(x, y, 3, variant, algorithm, workers=2)[:2]
        np.testing.assert_array_equal(counts[0], expected[0], err_msg=algorithm)
        np.testing.assert_array_equal(counts[1], expected[1], err_msg=algorithm)


def test_default_workers_follow_mibench_threads(monkeypatch):
    from mibench.estimators import _ksg_kernels

    started = []
    original = _ksg_kernels._run_in_threads

    def counting(task, n_rows, workers, **kwargs):
        started.append(workers)
        original(task, n_rows, workers, **kwargs)

    monkeypatch.setattr(_ksg_kernels, "_run_in_threads", counting)
    from mibench.core import threads

    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    x, y = continuous_sample(400, 3, 3, seed=5)
    monkeypatch.setenv("MIBENCH_THREADS", "1")
    mibench.estimate(x, y, "ksg", algorithm="brute")
    assert started == [1]
    monkeypatch.delenv("MIBENCH_THREADS")
    mibench.estimate(x, y, "ksg", algorithm="brute")
    assert started == [1, 4]  # the cores of the process
    monkeypatch.setenv("MIBENCH_THREADS", "3")
    mibench.estimate(x, y, "ksg", algorithm="brute")
    assert started == [1, 4, 3]
    monkeypatch.setenv("MIBENCH_THREADS", "many")
    with pytest.raises(ValueError, match="MIBENCH_THREADS"):
        mibench.estimate(x, y, "ksg", algorithm="brute")
