"""Overhead of running an estimate on a sample in memory through the grid's run path.

Skipped by the default test command (``--benchmark-skip``); run with

    OMP_NUM_THREADS=1 MIBENCH_THREADS=1 pytest tests/benchmarks/test_bench_in_memory.py --benchmark-only

and read, in the group ``in-memory`` (100 estimates of the 10-bin estimator on n = 1000, about
0.2 ms each): the estimator called directly, the same through an inline
:class:`~mibench.grid.in_memory.SampleRunner` (what every experiment does; the ratio of the
means is its overhead, meant to be small next to a real estimate), and through one with a
timeout (an isolated worker process, warm).
"""

import numpy as np
import pytest

from mibench.estimators import get_estimator
from mibench.grid.in_memory import SampleRunner

RUNS = 100


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    return x, 0.6 * x + 0.8 * rng.standard_normal(1000)


@pytest.fixture(scope="module")
def estimator():
    return get_estimator("binning", n_bins=10)


@pytest.mark.benchmark(group="in-memory")
def test_direct(benchmark, sample, estimator):
    def run():
        for _ in range(RUNS):
            estimator.estimate(*sample)

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="in-memory")
def test_inline_runner(benchmark, sample, estimator):
    runner = SampleRunner(keep=False)

    def run():
        for _ in range(RUNS):
            assert runner.run(estimator, *sample).ok

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="in-memory")
def test_isolated_runner(benchmark, sample, estimator):
    with SampleRunner(timeout=60, keep=False) as runner:
        def run():
            for _ in range(RUNS):
                assert runner.run(estimator, *sample).ok

        benchmark.pedantic(run, rounds=3, warmup_rounds=1)
