"""Speed of the classical estimators at n = 10,000, beside plain numpy/scikit-learn references.

Skipped by the default test command (``--benchmark-skip``); run with

    .venv/bin/pytest tests/benchmarks/test_bench_classical.py --benchmark-only

and read the ratios within a group (``group`` in the table): binning against a 2-D numpy
histogram and against scikit-learn's ``mutual_info_score`` on the same bin labels; binning and
discrete at n = 10,000 and 100,000 (linear cost: about a tenfold step); the O(n^2) estimators
once per round.
"""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

import mibench

N = 10_000
N_BINS = 30


@pytest.fixture(scope="module")
def normal_pair():
    return mibench.get_dataset("1v1-normal-0.75").sample(100_000, seed=0)


@pytest.fixture(scope="module")
def layer_and_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 20))
    layer = np.tanh(x @ rng.normal(size=(20, 50)) * 0.3)
    return (x[:, 0] > 0).astype(float), layer


@pytest.fixture(scope="module")
def discrete_continuous_pair():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=N).astype(float)
    return x, x + rng.uniform(0, 2, size=N)


def numpy_histogram_mi(x, y, bins):
    counts = np.histogram2d(x, y, bins=bins)[0]
    pmf = counts / counts.sum()
    outer = pmf.sum(axis=1, keepdims=True) * pmf.sum(axis=0, keepdims=True)
    occupied = pmf > 0
    return float(np.sum(pmf[occupied] * np.log(pmf[occupied] / outer[occupied])))


def sklearn_binned_mi(x, y, bins):
    def labels(values):
        low, high = values.min(), values.max()
        return np.minimum(((values - low) / (high - low) * bins).astype(int), bins - 1)

    return mutual_info_score(labels(x), labels(y))


@pytest.mark.benchmark(group="binning 1+1 dims")
@pytest.mark.parametrize("n", [N, 10 * N])
def test_binning(benchmark, normal_pair, n):
    x, y = normal_pair[0][:n], normal_pair[1][:n]
    estimator = mibench.get_estimator("binning", n_bins=N_BINS)
    benchmark(estimator.estimate, x, y)


@pytest.mark.benchmark(group="binning 1+1 dims")
@pytest.mark.parametrize("n", [N, 10 * N])
def test_reference_numpy_histogram2d(benchmark, normal_pair, n):
    x, y = normal_pair[0][:n, 0], normal_pair[1][:n, 0]
    benchmark(numpy_histogram_mi, x, y, N_BINS)


@pytest.mark.benchmark(group="binning 1+1 dims")
@pytest.mark.parametrize("n", [N, 10 * N])
def test_reference_sklearn_mutual_info_score(benchmark, normal_pair, n):
    x, y = normal_pair[0][:n, 0], normal_pair[1][:n, 0]
    benchmark(sklearn_binned_mi, x, y, N_BINS)


@pytest.mark.benchmark(group="binning 1+1 dims")
def test_binning_adaptive(benchmark, normal_pair):
    x, y = normal_pair[0][:N], normal_pair[1][:N]
    benchmark(mibench.get_estimator("binning-adaptive", n_bins=N_BINS).estimate, x, y)


@pytest.mark.benchmark(group="layer of 50 units against labels")
def test_binning_layer_against_labels(benchmark, layer_and_labels):
    labels, layer = layer_and_labels
    estimator = mibench.get_estimator(
        "binning", n_bins=N_BINS, value_range=(-1, 1), discrete_x=True
    )
    benchmark(estimator.estimate, labels, layer)


@pytest.mark.benchmark(group="layer of 50 units against labels")
def test_reference_numpy_unique_rows(benchmark, layer_and_labels):
    # The common hand-written version: np.unique over the rows of bin indices.
    labels, layer = layer_and_labels

    def unique_rows_mi():
        codes = np.clip(np.floor((layer + 1) * (N_BINS / 2)), 0, N_BINS - 1).astype(np.int64)
        symbols = np.unique(codes, axis=0, return_inverse=True)[1].ravel()
        return mutual_info_score(labels, symbols)

    benchmark(unique_rows_mi)


@pytest.mark.benchmark(group="discrete")
@pytest.mark.parametrize("n", [N, 10 * N])
def test_discrete(benchmark, n):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 10, size=n)
    y = (x + rng.integers(0, 3, size=n)) % 10
    benchmark(mibench.get_estimator("discrete").estimate, x, y)


@pytest.mark.benchmark(group="discrete")
def test_reference_sklearn_discrete(benchmark):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 10, size=N)
    y = (x + rng.integers(0, 3, size=N)) % 10
    benchmark(mutual_info_score, x, y)


@pytest.mark.benchmark(group="kde")
def test_kde(benchmark, normal_pair):
    x, y = normal_pair[0][:N], normal_pair[1][:N]
    benchmark.pedantic(mibench.get_estimator("kde").estimate, (x, y), rounds=2, iterations=1)


@pytest.mark.benchmark(group="kde-pairwise 10,000 centres in 10 dims")
def test_kde_pairwise(benchmark):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(N, 10))
    layer = np.tanh(x @ rng.normal(size=(10, 10)))
    estimator = mibench.get_estimator("kde-pairwise", noise_variance=0.1)
    benchmark.pedantic(estimator.estimate, (x, layer), rounds=2, iterations=1)


@pytest.mark.benchmark(group="kNN on the discrete-continuous pair")
def test_ksg_mixed(benchmark, discrete_continuous_pair):
    benchmark(mibench.get_estimator("ksg-mixed").estimate, *discrete_continuous_pair)


@pytest.mark.benchmark(group="kNN on the discrete-continuous pair")
def test_reference_ksg(benchmark, discrete_continuous_pair):
    benchmark(mibench.get_estimator("ksg", k=5).estimate, *discrete_continuous_pair)
