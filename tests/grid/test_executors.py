"""Executors: the same records whichever runs them; a bad run fails alone; samples drawn once."""

import pytest
from _faulty_estimators import (
    Correlation,
    DrawLoggingWork,
    ExitsProcess,
    Raises,
    ReportsThreads,
    ReturnsNaN,
    Sleeps,
    SlowToStartWork,
)

from mibench.core.contracts import MUTUAL_INFORMATION
from mibench.grid.executors import (
    DaskExecutor,
    InlineExecutor,
    ProcessExecutor,
    SampleKey,
    SerialExecutor,
    Task,
    make_executor,
)
from mibench.grid.runner import RecordWork

DATASETS = ["1v1-normal-0.75", "multinormal-dense-2-2-0.5"]
TIMEOUT = 1.0


def grid_tasks(estimators, seeds=(0, 1), n=200):
    keys = [SampleKey(d, n, s, MUTUAL_INFORMATION) for d in DATASETS for s in seeds]
    return [Task(i, e, k) for i, (k, e) in enumerate((k, e) for k in keys for e in estimators)]


def execute(executor, tasks, work=None):
    """Records by grid index; each index must arrive exactly once."""
    records = {}

    def keep(index, record):
        assert index not in records, f"record {index} reported twice"
        records[index] = record

    executor.map(tasks, work or RecordWork(), keep)
    assert sorted(records) == [t.index for t in tasks]
    return [records[t.index] for t in tasks]


def comparable(record):
    data = record.to_dict(include_extras=True)
    del data["seconds"]
    return data


@pytest.fixture(scope="module")
def dask_executor():
    pytest.importorskip("distributed")
    with DaskExecutor(jobs=2, timeout=TIMEOUT) as executor:
        yield executor


# "serial" is the process executor with one worker: its runs take the same path as
# "processes", which the fast suite covers; the one-worker case runs with the slow tests.
@pytest.fixture(params=[pytest.param("serial", marks=pytest.mark.slow), "processes", "dask"])
def isolated_executor(request):
    if request.param == "dask":
        yield request.getfixturevalue("dask_executor")
        return
    executor = SerialExecutor(timeout=TIMEOUT) if request.param == "serial" else ProcessExecutor(
        jobs=2, timeout=TIMEOUT)
    with executor:
        yield executor


def test_every_executor_gives_the_records_of_the_inline_run(isolated_executor):
    tasks = grid_tasks([Correlation(), Correlation(shift=1.0)])
    reference = execute(InlineExecutor(), tasks)
    assert all(r.status == "ok" for r in reference)
    assert [comparable(r) for r in execute(isolated_executor, tasks)] == [
        comparable(r) for r in reference]


def test_each_fault_fails_its_own_run_and_every_other_run_succeeds(isolated_executor):
    good = [Correlation(), Correlation(shift=1.0)]
    faulty = [Raises(), ReturnsNaN(), Sleeps(seconds=60), ExitsProcess()]
    tasks = grid_tasks([good[0], *faulty, good[1]], seeds=(0,))
    records = execute(isolated_executor, tasks)
    expected_good = execute(InlineExecutor(), [t for t in tasks if t.estimator in good])
    assert [comparable(r) for r in records if r.estimator == "test-correlation"] == [
        comparable(r) for r in expected_good]
    reasons = {"test-raises": "this estimator always fails",
               "test-returns-nan": "the estimator returned nan",
               "test-sleeps": f"timed out after {TIMEOUT:g} s",
               "test-exits-process": "the run's process died (exit code 3)"}
    for record in records:
        if record.estimator in reasons:
            assert record.status == "failed" and record.estimate is None
            assert reasons[record.estimator] in record.error
            assert record.truth is not None  # a failed record still says what was to be found


def test_a_runs_timeout_does_not_count_its_worker_process_starting():
    # Each worker process takes 1.5 s to start, longer than the 1 s timeout of a run; the runs
    # themselves take milliseconds. Control: the executor before the start-up handshake
    # killed every one of them ("timed out after 1 s").
    tasks = grid_tasks([Correlation()], seeds=(0,))
    with ProcessExecutor(jobs=2, timeout=TIMEOUT) as executor:
        records = execute(executor, tasks, SlowToStartWork(seconds=1.5 * TIMEOUT))
    assert [r.status for r in records] == ["ok"] * len(tasks), [r.error for r in records]


def test_each_sample_is_drawn_once_for_all_its_estimators(tmp_path, isolated_executor):
    log = tmp_path / "draws.txt"
    tasks = grid_tasks([Correlation(), Correlation(shift=1.0), Correlation(shift=2.0)])
    records = execute(isolated_executor, tasks, DrawLoggingWork(log=str(log)))
    assert all(r.status == "ok" for r in records), [r.error for r in records if r.status != "ok"]
    draws = log.read_text().splitlines()
    assert sorted(draws) == sorted(f"{d} 200 {s}" for d in DATASETS for s in (0, 1))


def test_a_failed_draw_fails_the_runs_of_that_sample_only():
    tasks = grid_tasks([Correlation()], seeds=(0,))
    impossible = SampleKey(DATASETS[0], 0, 0, MUTUAL_INFORMATION)  # n = 0 cannot be drawn
    tasks += [Task(len(tasks) + i, e, impossible) for i, e in enumerate(
        [Correlation(), Correlation(shift=1.0)])]
    with SerialExecutor() as executor:
        records = execute(executor, tasks)
    assert [r.status for r in records] == ["ok"] * (len(tasks) - 2) + ["failed"] * 2
    for record in records[-2:]:
        assert "drawing the sample failed" in record.error and "n must be" in record.error


def test_one_sample_with_many_estimators_is_shared_out_among_the_workers(tmp_path):
    log = tmp_path / "draws.txt"
    key = SampleKey(DATASETS[0], 200, 0, MUTUAL_INFORMATION)
    tasks = [Task(i, Correlation(shift=float(i)), key) for i in range(4)]
    with ProcessExecutor(jobs=2) as executor:
        records = execute(executor, tasks, DrawLoggingWork(log=str(log)))
    assert [comparable(r) for r in records] == [
        comparable(r) for r in execute(InlineExecutor(), tasks)]
    assert len(log.read_text().splitlines()) == 2  # both workers had runs, each drew it once


def test_make_executor_choices_and_errors():
    assert isinstance(make_executor("serial"), SerialExecutor)
    processes = make_executor("serial", jobs=3, timeout=5)
    assert isinstance(processes, ProcessExecutor) and processes.jobs == 3 and processes.timeout == 5
    assert isinstance(make_executor("inline"), InlineExecutor)
    with pytest.raises(ValueError, match="unknown executor 'threads'"):
        make_executor("threads")
    with pytest.raises(ValueError, match="inline executor does one run at a time"):
        make_executor("inline", jobs=2)
    with pytest.raises(ValueError, match="cannot enforce a timeout"):
        make_executor("inline", timeout=3)
    with pytest.raises(ValueError, match="timeout must be a positive, finite number"):
        make_executor("processes", timeout=0)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        ProcessExecutor(jobs=0)


def test_a_missing_dask_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(ValueError, match=r'pip install "mibench\[dask\]"'):
        make_executor("dask")


def test_parallel_workers_share_the_cores_and_a_single_worker_runs_alone(monkeypatch):
    """Inside a parallel grid each estimator is capped at its share of the cores (one on two
    cores with two jobs); alone (serial) nothing is capped; a cap the user set is kept."""
    from mibench.core.threads import THREADS_VARIABLE
    from mibench.estimators._ksg_kernels import available_cores
    from mibench.grid.executors import threads_per_worker

    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    tasks = grid_tasks([ReportsThreads()], seeds=(0,))
    with ProcessExecutor(jobs=2) as executor:
        caps = {r.estimate for r in execute(executor, tasks)}
    assert caps == {float(max(1, available_cores() // 2))}
    with SerialExecutor() as executor:
        assert {r.estimate for r in execute(executor, tasks)} == {0.0}
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert threads_per_worker(2) == 3
    with ProcessExecutor(jobs=2) as executor:
        assert {r.estimate for r in execute(executor, tasks)} == {3.0}
