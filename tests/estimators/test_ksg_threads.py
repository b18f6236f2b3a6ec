"""The threads that run the KSG kernels (``_run_in_threads``): chunks of rows pulled from a
shared counter, so that a descheduled thread takes fewer chunks instead of holding up the rest.

- Coverage: every row is handed to exactly one call, whatever the number of rows, threads and
  chunks (more threads than rows, fewer rows than the chunks a thread would take, one row); a
  slot is one thread's alone.
- A stalled thread: while one thread is held inside its first chunk, the others take every
  other chunk; the call returns only after the stalled thread has finished (joined), so nothing
  is written into the results after it returns.
- Negative controls: the coverage check flags a missing and a duplicated row and a shared
  slot; a runner that re-runs a straggler's chunk elsewhere and returns before the straggler
  finishes (the bug of an earlier version) fails the stalled-thread check, and so does a split
  into one fixed range per thread (race-free, but its stalled thread holds half the rows).
- The kernels' counts with several threads and many small chunks equal the plain references
  (random and tied data, both metrics, both variants, every kernel and caller), down to n = k + 1
  and fewer rows than threads.
"""

import threading

import numpy as np
import pytest

from mibench.estimators import _ksg_kernels
from mibench.estimators._ksg_kernels import (
    _run_in_threads,
    brute_counts,
    mixed_brute_counts,
    sorted_counts,
)
from tests.estimators.test_ksg_metric import assert_counts_equal, continuous, plain_counts, tied
from tests.estimators.test_ksg_mixed import reference_mixed_counts

METRICS = ["chebyshev", "euclidean"]


def coverage_problems(calls, n_rows):
    """What is wrong with the chunks ``calls`` (start, stop, slot, thread) as a cover of
    [0, n_rows): rows seen other than once, empty chunks, a slot used by two threads."""
    seen = np.zeros(n_rows, dtype=np.int64)
    problems = []
    for start, stop, _, _ in calls:
        if stop <= start:
            problems.append(f"empty chunk {start}:{stop}")
        seen[start:stop] += 1
    if np.any(seen == 0):
        problems.append(f"rows never seen: {np.flatnonzero(seen == 0)[:5].tolist()}")
    if np.any(seen > 1):
        problems.append(f"rows seen twice: {np.flatnonzero(seen > 1)[:5].tolist()}")
    threads_of_slot = {}
    for _, _, slot, thread in calls:
        threads_of_slot.setdefault(slot, set()).add(thread)
    if any(len(threads) > 1 for threads in threads_of_slot.values()):
        problems.append("a slot used by two threads")
    return problems


def recorded_run(runner, n_rows, workers, **kwargs):
    calls = []
    lock = threading.Lock()

    def task(start, stop, slot):
        with lock:
            calls.append((start, stop, slot, threading.get_ident()))

    runner(task, n_rows, workers, **kwargs)
    return calls


@pytest.mark.parametrize(
    ("n_rows", "workers", "min_rows"),
    [(1, 1, 256), (1, 4, 1), (3, 4, 1), (5, 2, 1), (17, 2, 1), (1000, 2, 1), (1000, 3, 7),
     (20_000, 2, 256), (255, 2, 256), (100_000, 2, 8192)],
)
def test_every_row_is_handed_out_exactly_once(n_rows, workers, min_rows):
    calls = recorded_run(_run_in_threads, n_rows, workers, min_rows=min_rows)
    assert coverage_problems(calls, n_rows) == []
    assert {slot for _, _, slot, _ in calls} <= set(range(min(workers, n_rows)))
    if n_rows >= workers * 16 * min_rows:  # enough rows: many chunks per thread
        assert len(calls) == workers * _ksg_kernels._CHUNKS_PER_WORKER


def test_the_coverage_check_flags_missing_and_duplicated_rows():
    good = [(0, 5, 0, 1), (5, 10, 1, 2)]
    assert coverage_problems(good, 10) == []
    assert any("never" in p for p in coverage_problems([(0, 5, 0, 1), (6, 10, 1, 2)], 10))
    assert any("twice" in p for p in coverage_problems([(0, 6, 0, 1), (5, 10, 1, 2)], 10))
    assert any("slot" in p for p in coverage_problems([(0, 5, 0, 1), (5, 10, 0, 2)], 10))


def stalled_run(runner, n_rows=4000, workers=2):
    """Run a task that holds slot 1 inside its first chunk until slot 0 has finished every
    other row, and then until the runner has returned (at most a second: a runner that waits
    for its threads cannot return before); each call adds 1 to its rows of ``out``.

    Returns the problems seen: with the cover, with ``out`` as it was when the runner returned,
    threads still running then, and the stalled thread taking other than one chunk.
    """
    calls = []
    threads = set()
    lock = threading.Lock()
    stalled_started = threading.Event()
    release = threading.Event()
    returned = threading.Event()
    out = np.zeros(n_rows, dtype=np.int64)
    state = {"stalled_rows": None, "rows_of_slot_0": 0}

    def task(start, stop, slot):
        with lock:
            threads.add(threading.current_thread())
        if slot == 1 and state["stalled_rows"] is None:
            state["stalled_rows"] = stop - start
            stalled_started.set()
            assert release.wait(timeout=30), "never released"
            returned.wait(timeout=1.0)
        elif slot == 0:
            assert stalled_started.wait(timeout=30), "slot 1 never started"
        out[start:stop] += 1
        with lock:
            calls.append((start, stop, slot, threading.get_ident()))
            if slot == 0:
                state["rows_of_slot_0"] += stop - start
                if state["rows_of_slot_0"] + state["stalled_rows"] == n_rows:
                    release.set()  # every other row is done: let the straggler go on

    runner(task, n_rows, workers)
    at_return = out.copy()
    alive = [t for t in threads if t.is_alive() and t is not threading.current_thread()]
    returned.set()
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join()
    problems = coverage_problems(calls, n_rows)
    if not np.all(at_return == 1):
        problems.append("results not complete (or written twice) when the runner returned")
    if alive:
        problems.append("a thread still running after the runner returned")
    chunks_of_stalled = sum(1 for call in calls if call[2] == 1)
    if chunks_of_stalled != 1:
        problems.append(f"the stalled thread ran {chunks_of_stalled} chunks, not 1")
    if state["stalled_rows"] > n_rows // 8:
        problems.append(f"the stalled thread held {state['stalled_rows']} of {n_rows} rows")
    return problems


def test_a_stalled_thread_takes_one_chunk_and_is_joined_before_return():
    assert stalled_run(_run_in_threads) == []


def racing_runner(task, n_rows, workers):
    """The bug of an earlier version: when a thread straggles, its rows are run again on
    another thread and the call returns without waiting for the straggler, which then writes
    into the results after the return (and its rows are computed twice)."""
    bounds = np.linspace(0, n_rows, workers + 1).astype(int)
    stragglers = []
    for slot in range(1, workers):
        thread = threading.Thread(target=task, args=(bounds[slot], bounds[slot + 1], slot))
        thread.start()
        stragglers.append(thread)
    task(0, bounds[1], 0)
    for slot, thread in enumerate(stragglers, start=1):
        thread.join(timeout=0.01)
        if thread.is_alive():  # re-run its rows here and do not wait for it
            task(bounds[slot], bounds[slot + 1], 0)


def static_runner(task, n_rows, workers):
    """One fixed range per thread, joined (the scheme before chunks): race-free, but a
    stalled thread holds half the rows."""
    bounds = np.linspace(0, n_rows, workers + 1).astype(int)
    threads = [
        threading.Thread(target=task, args=(bounds[s], bounds[s + 1], s)) for s in range(1, workers)
    ]
    for thread in threads:
        thread.start()
    task(0, bounds[1], 0)
    for thread in threads:
        thread.join()


def test_the_stalled_thread_check_catches_a_runner_that_does_not_wait():
    problems = stalled_run(racing_runner)
    assert "a thread still running after the runner returned" in problems
    assert any("twice" in p for p in problems)


def test_the_stalled_thread_check_catches_a_split_that_does_not_balance():
    # Race-free and correct, but the stalled thread holds its whole half of the rows.
    assert stalled_run(static_runner) == ["the stalled thread held 2000 of 4000 rows"]


def test_an_error_in_one_thread_is_raised_after_every_thread_stopped():
    threads = set()
    lock = threading.Lock()

    def task(start, stop, slot):
        with lock:
            threads.add(threading.current_thread())
        if slot == 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _run_in_threads(task, 10_000, 2, min_rows=1)
    assert not any(t.is_alive() for t in threads if t is not threading.current_thread())


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of one row and up: more chunks than rows for small n, many chunks per thread."""
    monkeypatch.setattr(_ksg_kernels, "_MIN_CHUNK_ROWS", 1)
    monkeypatch.setattr(_ksg_kernels, "_MIN_SORTED_CHUNK_ROWS", 1)
    original = _ksg_kernels._run_in_threads
    used = []

    def recording(task, n_rows, workers, min_rows=1):
        used.append((n_rows, workers))
        original(task, n_rows, workers, min_rows=1)

    monkeypatch.setattr(_ksg_kernels, "_run_in_threads", recording)
    return used


KERNELS = {
    "plain": {"screened": False},
    "quantized": {"screened": True},
    "float32": {"screened": True, "quantized": False},
    "pruned": {"screened": True, "pruned": True},
}


# The plain and int16 kernels compute the max-norm only.
KERNEL_METRICS = [
    (kernel, metric)
    for kernel in KERNELS
    for metric in METRICS
    if metric == "chebyshev" or kernel in ("float32", "pruned")
]


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize(("kernel", "metric"), KERNEL_METRICS)
@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("data", [continuous, tied])
def test_kernels_with_many_chunks_equal_the_plain_reference(
    small_chunks, workers, kernel, metric, variant, data
):
    k = 3
    for n in (k + 1, 2, 40, 700):  # n = k + 1; fewer rows than threads; more chunks than rows
        k_here = min(k, n - 1)
        x, y = data(n, 3, 2, seed=n + workers)
        expected = plain_counts(x, y, k_here, variant, metric)
        got = brute_counts(x, y, k_here, variant, workers, metric=metric, **KERNELS[kernel])
        assert_counts_equal(got, expected, f"{kernel} n={n} workers={workers}")
        rows = np.arange(0, n, 3)  # a subset of rows (the tree's recount of tied rows)
        got = brute_counts(
            x, y, k_here, variant, workers, rows=rows, metric=metric, **KERNELS[kernel]
        )
        np.testing.assert_array_equal(got[0][rows], expected[0][rows])
        np.testing.assert_array_equal(got[1][rows], expected[1][rows])
    assert any(w > 1 for _, w in small_chunks) == (workers > 1)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("strict", [True, False])
def test_sorted_and_mixed_counts_with_many_chunks(small_chunks, workers, strict):
    rng = np.random.default_rng(3)
    for n in (2, 3, 500):
        values = rng.integers(0, 6, size=n).astype(float) + (rng.random(n) < 0.5) * 0.25
        radii = rng.choice([0.0, 0.25, 1.0, 2.5], size=n)
        distances = np.abs(values[:, None] - values[None, :])
        inside = distances < radii[:, None] if strict else distances <= radii[:, None]
        expected = inside.sum(axis=1) - 1
        np.testing.assert_array_equal(sorted_counts(values, radii, strict, workers), expected)
        x, y = tied(n, 2, 1, seed=n)
        k = min(2, n - 1)
        got = mixed_brute_counts(x, y, k, strict, workers)
        reference = reference_mixed_counts(x, y, k, strict)
        np.testing.assert_array_equal(got[0], reference[0])
        np.testing.assert_array_equal(got[2], reference[2])
        np.testing.assert_array_equal(got[3], reference[3])
