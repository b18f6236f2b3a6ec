"""Speed of the executors and of resuming a result store.

Skipped by the default test command (``--benchmark-skip``); run with

    OMP_NUM_THREADS=1 .venv/bin/pytest tests/benchmarks/test_bench_executors.py --benchmark-only

and read, within each group:

- ``cpu-grid``: a CPU-bound grid (40 runs of some 30 ms) serially in one worker process and on
  two worker processes (``--jobs 2``); the ratio of their means is the speed-up (the target is
  1.7 or more on 2 idle cores). A bare multiprocessing pool of 2 doing the same work is the
  reference: what two cores give at the time of the measurement.
- ``dask-overhead``: 100 runs of an estimator that takes microseconds, in this process and on a
  Dask LocalCluster of 2 workers; ``extra_info["per_run_ms"]`` is the Dask time per run less
  the inline one (the target is under 20 ms).
- ``resume``: ``mibench.run(..., out=DIR)`` on a store that already holds all 10,000 records of
  its grid: loading the store, matching every run to it, running nothing (target: under 2 s).
"""

import sys
import time
from pathlib import Path

import pytest

import mibench
from mibench.core.contracts import MUTUAL_INFORMATION
from mibench.grid.executors import (
    DaskExecutor,
    InlineExecutor,
    ProcessExecutor,
    SampleKey,
    SerialExecutor,
    Task,
)
from mibench.grid.runner import RecordWork, _record, prepare, resolve_dataset
from mibench.grid.store import ResultStore

# The test estimators live beside the tests, where worker processes import them from.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _faulty_estimators import Correlation, Spins  # noqa: E402

DATASETS = ["1v1-normal-0.75", "multinormal-dense-2-2-0.5"]


def tasks_of(estimators, seeds, n):
    keys = [SampleKey(d, n, s, MUTUAL_INFORMATION) for d in DATASETS for s in seeds]
    pairs = [(k, e) for k in keys for e in estimators]
    return [Task(i, e, k) for i, (k, e) in enumerate(pairs)]


def run_all(executor, tasks):
    records = []
    executor.map(tasks, RecordWork(), lambda index, record: records.append(record))
    assert len(records) == len(tasks) and all(r.status == "ok" for r in records)


@pytest.fixture(scope="module")
def cpu_tasks():
    return tasks_of([Spins(rounds=150), Spins(rounds=151)], range(10), 20_000)


@pytest.mark.benchmark(group="cpu-grid")
def test_cpu_grid_serial(benchmark, cpu_tasks):
    with SerialExecutor() as executor:
        benchmark.pedantic(run_all, args=(executor, cpu_tasks), rounds=3, warmup_rounds=1)


@pytest.mark.benchmark(group="cpu-grid")
def test_cpu_grid_two_jobs(benchmark, cpu_tasks):
    with ProcessExecutor(jobs=2) as executor:
        benchmark.pedantic(run_all, args=(executor, cpu_tasks), rounds=3, warmup_rounds=1)


def _spin_on(task):
    sample = RecordWork().draw(task.sample)
    return task.estimator.estimate(*sample)


@pytest.mark.benchmark(group="cpu-grid")
def test_cpu_grid_plain_pool_of_two(benchmark, cpu_tasks):
    """The reference: the same work on a bare multiprocessing pool of 2, no isolation, no
    records; what 2 cores give on this machine right now."""
    import multiprocessing

    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        pool.map(_spin_on, cpu_tasks[:2])  # start the workers before timing
        benchmark.pedantic(pool.map, args=(_spin_on, cpu_tasks), rounds=3, warmup_rounds=1)


@pytest.fixture(scope="module")
def quick_tasks():
    return tasks_of([Correlation(shift=float(i)) for i in range(5)], range(10), 100)


@pytest.mark.benchmark(group="dask-overhead")
def test_quick_runs_inline(benchmark, quick_tasks):
    benchmark.pedantic(run_all, args=(InlineExecutor(), quick_tasks), rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="dask-overhead")
def test_quick_runs_on_dask(benchmark, quick_tasks):
    pytest.importorskip("distributed")
    inline = InlineExecutor()
    start = time.perf_counter()
    for _ in range(5):
        run_all(inline, quick_tasks)
    inline_seconds = (time.perf_counter() - start) / 5
    with DaskExecutor(jobs=2) as executor:
        benchmark.pedantic(run_all, args=(executor, quick_tasks), rounds=5, warmup_rounds=1)
    per_run = (benchmark.stats.stats.mean - inline_seconds) / len(quick_tasks)
    benchmark.extra_info["per_run_ms"] = round(1000 * per_run, 2)


@pytest.mark.benchmark(group="resume")
def test_resume_a_finished_store_of_10000_records(benchmark, tmp_path):
    datasets = mibench.list_datasets("beyond-normal-v1")  # 40
    estimators = [mibench.get_estimator("ksg", k=k) for k in range(1, 11)]  # 10 settings
    seeds = list(range(25))  # 40 x 10 x 25 = 10,000 runs
    lines = []
    for name in datasets:
        dataset = resolve_dataset(name)
        for seed in seeds:
            for estimator in estimators:
                configured, _ = prepare(estimator, dataset)
                lines.append(_record(configured, name, 100, seed, None, estimate=0.1,
                                     truth=dataset.mutual_information, seconds=0.0,
                                     status="ok", error=None))
    with ResultStore(tmp_path) as store:  # written in one go: appending 10,000 fsyncs is slow
        store._rewrite(lines)
    seen = []

    def resume():
        return mibench.run(estimators, datasets, n=100, seeds=seeds, out=tmp_path,
                           on_record=seen.append)

    records = benchmark.pedantic(resume, rounds=3, warmup_rounds=0)
    assert len(records) == 10_000 and not seen
