"""Speed and memory of mibench's KSG beside the references it must beat, in the same process.

Skipped by the default test command (``--benchmark-skip``); run with

    .venv/bin/pytest tests/benchmarks/test_bench_ksg.py --benchmark-only -s

Each timed test runs the reference once before every round of mibench's estimator (the
``setup`` of ``benchmark.pedantic``, untimed by pytest-benchmark but timed here), so the two
alternate under the same load; ``extra_info`` holds the reference's times, the ratio of the
fastest rounds, both estimates, the workers used and peak memory. The table's rows are
mibench's times; the ratio is printed with ``-s`` and is in the saved JSON (``--benchmark-json``).

The test suite's conftest caps code not told a thread count at one thread (``MIBENCH_THREADS=1``),
so every timed mibench estimator here is given its ``workers`` explicitly: -1 (every core, as
the cKDTree reference is given) and 1 (one thread), each printed beside its ratio, with the
load average (``os.getloadavg``) before the test.

References:

- a KSG on scipy's cKDTree (the construction NPEET and ennemi use): joint k-th neighbour with
  ``query(..., p=inf)``, marginal counts with ``query_ball_point(..., p=inf,
  return_length=True)``, queries in sample order; always with ``workers=-1`` (every core);
- scikit-learn's ``mutual_info_regression`` (n_neighbors=3), which scales and jitters its input
  itself and queries its KD-trees on one thread (its ``n_jobs`` spreads features, and there is
  one); mibench is timed with its default workers=-1 and with workers=1;
- bmi's KSG (``KSGEnsembleFirstEstimator``, bmi 0.1.x, the reference implementation of the
  Beyond-Normal benchmark), reproduced from its algorithm in :func:`bmi_style_ksg` (bmi itself
  is not a dependency): standardize, then per chunk of 10 samples scikit-learn's
  ``pairwise_distances`` to all samples in each margin, their maximum, a full ``argsort`` per
  row, the k-th distance, strict counts, the digamma formula. Its default metric is Euclidean;
  with ``metric="chebyshev"`` it computes mibench's default estimate. It runs as bmi runs by
  default (``n_jobs=1``: one process; scikit-learn's Euclidean distances call BLAS, which may
  use more than one thread on its own).
"""

import ctypes
import gc
import os
import resource
import time
import tracemalloc

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.special import digamma
from sklearn.feature_selection import mutual_info_regression
from sklearn.metrics import pairwise_distances
from sklearn.preprocessing import StandardScaler

import mibench
from mibench.estimators._ksg_kernels import available_cores
from mibench.estimators.ksg import choose_algorithm

WORKERS = -1  # every core: the cKDTree reference's, and mibench's where it is to match


def ckdtree_ksg(x, y, k, variant, workers=WORKERS):
    """KSG on scipy's cKDTree, as the popular Python implementations write it."""
    n = x.shape[0]
    joint = np.hstack([x, y])
    distances, indices = cKDTree(joint).query(joint, k=k + 1, p=np.inf, workers=workers)
    if variant == 1:
        radius = np.nextafter(distances[:, k], 0)
        n_x = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True, workers=workers)
        n_y = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True, workers=workers)
        return digamma(k) + digamma(n) - np.mean(digamma(n_x) + digamma(n_y))
    neighbours = indices[:, 1:]
    radius_x = np.abs(x[neighbours] - x[:, None, :]).max(axis=(1, 2))
    radius_y = np.abs(y[neighbours] - y[:, None, :]).max(axis=(1, 2))
    n_x = cKDTree(x).query_ball_point(x, radius_x, p=np.inf, return_length=True, workers=workers)
    n_y = cKDTree(y).query_ball_point(y, radius_y, p=np.inf, return_length=True, workers=workers)
    return digamma(k) - 1 / k + digamma(n) - np.mean(digamma(n_x - 1) + digamma(n_y - 1))


def bmi_style_ksg(x, y, k, metric="euclidean", chunk_size=10, n_jobs=1):
    """bmi's KSGEnsembleFirstEstimator(neighborhoods=(k,), metric_x=metric) step by step, with
    its defaults (standardize=True, n_jobs=1, chunk_size=10): the same library calls on the
    same shapes, so its time is bmi's time."""
    x = StandardScaler(copy=False).fit_transform(np.array(x))
    y = StandardScaler(copy=False).fit_transform(np.array(y))
    n = x.shape[0]
    contributions = []
    for start in range(0, n, chunk_size):
        batch = slice(start, min(n, start + chunk_size))
        distances_x = pairwise_distances(x[batch], x, metric=metric, n_jobs=n_jobs)
        distances_y = pairwise_distances(y[batch], y, metric=metric, n_jobs=n_jobs)
        distances_xy = np.maximum(distances_x, distances_y)
        closest = np.argsort(distances_xy, axis=-1)  # column 0: the point itself
        kth = distances_xy[np.arange(closest.shape[0]), closest[:, k]]
        n_x = (distances_x < kth[:, None]).sum(axis=1) - 1
        n_y = (distances_y < kth[:, None]).sum(axis=1) - 1
        contributions.append(np.sum((digamma(n_x + 1) + digamma(n_y + 1)) / n))
    return max(0.0, digamma(k) - np.sum(contributions) + digamma(n))


def _release_free_memory():
    # Hand freed heap pages back to the system first (glibc), so that the call's allocations
    # show up as new resident memory instead of reusing pages that are already resident.
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _rss_peak_bytes(function):
    """Peak resident memory above the level before the call (Linux: VmHWM reset), or None.

    It sees every allocation (cKDTree's C++ buffers and numba's too), but only approximately:
    pages the allocator kept from earlier calls are reused without counting.
    """
    _release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        with open("/proc/self/status") as handle:
            before = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return None
    function()
    with open("/proc/self/status") as handle:
        peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM"))
    return max(0, peak - before) * 1024


def _traced_peak_bytes(function):
    """Peak of the allocations Python and numpy report to tracemalloc during the call."""
    gc.collect()
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _memory(function):
    """Peak memory of one untimed call, in MiB: traced (numpy, Python) and resident (all)."""
    rss = _rss_peak_bytes(function)
    return {
        "traced_peak_MB": round(_traced_peak_bytes(function) / 2**20, 2),
        "rss_peak_MB": None if rss is None else round(rss / 2**20, 2),
    }


def compare(benchmark, ours, reference, rounds, name, memory=True):
    """Time ``ours`` with pytest-benchmark, the reference before every round; record both.

    With ``memory``, two more untimed calls of each measure peak memory (resident, traced).
    """
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    reference_times = []
    reference_values = []
    our_values = []

    def run_reference():
        start = time.perf_counter()
        reference_values.append(reference())
        reference_times.append(time.perf_counter() - start)

    def run_ours():
        our_values.append(ours())

    benchmark.pedantic(run_ours, setup=run_reference, rounds=rounds, iterations=1)
    our_times = list(benchmark.stats.stats.data)
    ratio = min(reference_times) / min(our_times)
    info = benchmark.extra_info
    info["reference"] = name
    info["reference_seconds"] = reference_times
    info["mibench_seconds"] = our_times
    info["reference_over_mibench_min_time"] = ratio
    info["mibench_estimate"] = our_values[-1]
    info["reference_estimate"] = reference_values[-1]
    info["cores"] = available_cores()
    info["load_average_before"] = load_before
    info["mibench_memory"] = _memory(ours) if memory else None
    info["reference_memory"] = _memory(reference) if memory else None
    print(
        f"\n{benchmark.name}: {name} {min(reference_times):.3f} s, mibench {min(our_times):.3f} s"
        f" (workers {info.get('workers')}), ratio {ratio:.2f}; load {load_before};"
        f" estimates {reference_values[-1]:.12f} / {our_values[-1]:.12f};"
        f" memory mibench {info['mibench_memory']}, reference {info['reference_memory']}"
    )
    return our_values[-1], reference_values[-1]


@pytest.fixture(scope="module")
def normal_5x5():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 5))
    y = 0.6 * x + rng.normal(size=(20_000, 5))
    # Standardised and jittered once, as the estimator would, so both sides see the same data.
    return (x - x.mean(0)) / x.std(0), (y - y.mean(0)) / y.std(0)


@pytest.fixture(scope="module")
def normal_1x1():
    rng = np.random.default_rng(1)
    x = rng.normal(size=1_000_000)
    return x, 0.6 * x + rng.normal(size=x.size)


@pytest.mark.benchmark(group="ksg 5+5 dims, n=20,000, k=5: vs cKDTree KSG")
@pytest.mark.parametrize("workers", [-1, 1])
@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_5x5_against_ckdtree(benchmark, normal_5x5, variant, workers):
    x, y = normal_5x5
    estimator = mibench.get_estimator(
        "ksg", k=5, variant=variant, standardize=False, noise=0.0, workers=workers
    )
    estimator.estimate(x[:500], y[:500])  # compile (or load) the kernels outside the timing
    benchmark.extra_info.update(
        n=x.shape[0], dims="5+5", k=5, variant=variant, workers=workers,
        reference_workers=WORKERS, algorithm=choose_algorithm(x.shape[0], 5, 5),
    )
    ours, reference = compare(
        benchmark,
        lambda: estimator.estimate(x, y),
        lambda: ckdtree_ksg(x, y, 5, variant),
        rounds=3,
        name="cKDTree KSG",
    )
    assert ours == pytest.approx(reference, abs=1e-9)


@pytest.mark.benchmark(group="ksg 5+5 dims, n=5,000, k=5: vs bmi's KSG")
@pytest.mark.parametrize("workers", [-1, 1])
@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
def test_ksg_5x5_against_bmi(benchmark, normal_5x5, metric, workers):
    x, y = normal_5x5[0][:5_000], normal_5x5[1][:5_000]
    # bmi's settings: standardized data (its own scaler), no jitter, variant 1, the same k.
    estimator = mibench.get_estimator("ksg", k=5, metric=metric, noise=0.0, workers=workers)
    estimator.estimate(x[:500], y[:500])
    benchmark.extra_info.update(
        n=x.shape[0], dims="5+5", k=5, variant=1, metric=metric, workers=workers,
        reference_workers="bmi's default n_jobs=1",
        algorithm=choose_algorithm(x.shape[0], 5, 5, metric=metric),
    )
    ours, reference = compare(
        benchmark,
        lambda: estimator.estimate(x, y),
        lambda: bmi_style_ksg(x, y, 5, metric),
        rounds=3,
        name=f"bmi KSG ({metric})",
        memory=False,
    )
    # Standardizing with and without centring rounds differently: equal up to rare near-ties.
    assert ours == pytest.approx(reference, abs=1e-6)


@pytest.mark.benchmark(group="ksg 5+5 dims, n=20,000, k=5, Euclidean: vs cKDTree KSG")
@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_5x5_euclidean_against_chebyshev(benchmark, normal_5x5, variant):
    # The Euclidean metric costs more per pair (squares, a square root at each decision); its
    # time against the same cKDTree reference (of the max-norm estimate) shows by how much.
    x, y = normal_5x5
    estimator = mibench.get_estimator(
        "ksg", k=5, variant=variant, metric="euclidean", standardize=False, noise=0.0,
        workers=WORKERS,
    )
    estimator.estimate(x[:500], y[:500])
    benchmark.extra_info.update(n=x.shape[0], dims="5+5", k=5, variant=variant, workers=WORKERS)
    compare(
        benchmark,
        lambda: estimator.estimate(x, y),
        lambda: ckdtree_ksg(x, y, 5, variant),
        rounds=3,
        name="cKDTree KSG (max-norm)",
        memory=False,
    )


@pytest.mark.benchmark(group="ksg 1+1 dims, n=1,000,000, k=3: vs scikit-learn")
@pytest.mark.parametrize(("variant", "workers"), [(1, -1), (2, -1), (1, 1)])
def test_ksg_1x1_million_against_sklearn(benchmark, normal_1x1, variant, workers):
    x, y = normal_1x1
    estimator = mibench.get_estimator("ksg", k=3, variant=variant, workers=workers)
    estimator.estimate(x[:500], y[:500])
    benchmark.extra_info.update(
        n=x.size, dims="1+1", k=3, variant=variant, workers=workers,
        algorithm=choose_algorithm(x.size, 1, 1),
    )
    ours, reference = compare(
        benchmark,
        lambda: estimator.estimate(x, y),
        lambda: mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0)[0],
        rounds=2,
        name="sklearn mutual_info_regression",
        memory=workers == -1,
    )
    # Different jitter (and, for variant 2, a different estimator): close, not equal.
    assert ours == pytest.approx(reference, abs=0.01)


@pytest.mark.benchmark(group="ksg memory: peak against n")
@pytest.mark.parametrize(
    ("dims", "sizes"), [((5, 5), (5_000, 10_000, 20_000)), ((1, 1), (250_000, 500_000, 1_000_000))]
)
def test_ksg_peak_memory_grows_like_n(benchmark, dims, sizes):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(max(sizes), dims[0]))
    y = x[:, :1] + rng.normal(size=(max(sizes), dims[1]))
    estimator = mibench.get_estimator("ksg", k=5)
    estimator.estimate(x[:500], y[:500])
    peaks = {}
    for n in sizes:
        peaks[n] = _memory(lambda n=n: estimator.estimate(x[:n], y[:n]))
        peaks[n]["algorithm"] = choose_algorithm(n, *dims)
    benchmark.extra_info.update(dims=f"{dims[0]}+{dims[1]}", k=5, peaks=peaks)
    benchmark.extra_info["maxrss_process_MB"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    )
    print(f"\n{benchmark.name}: {peaks}")
    benchmark.pedantic(estimator.estimate, args=(x[: sizes[0]], y[: sizes[0]]), rounds=1)
    traced = [peaks[n]["traced_peak_MB"] for n in sizes]
    # Doubling n at most about doubles the peak; an n x n matrix would quadruple it.
    assert traced[2] / traced[1] < 2.5 and traced[1] / traced[0] < 2.5
