"""Executors: where the runs of a grid are carried out, and how one bad run is kept from others.

Every executor takes the same list of :class:`Task` (one estimator on one sample) and hands each
finished :class:`~mibench.core.contracts.Record` to a callback as soon as it exists. Tasks that share a
:class:`SampleKey` (dataset, n, seed, quantity) share one sample: it is drawn once and every
estimator of the group runs on it.

- :class:`InlineExecutor` runs everything in this process: no isolation, no timeout; for the
  Python API, for debugging, and for datasets that cannot leave this process.
- :class:`SerialExecutor` runs one task at a time in one worker process (the CLI default).
- :class:`ProcessExecutor` runs ``jobs`` worker processes side by side (``--jobs N``).
- :class:`DaskExecutor` runs the tasks on a Dask cluster: a ``LocalCluster`` or a running
  scheduler (``--address``).

Isolation: apart from the inline executor, every run happens in a worker process
(:class:`IsolatedWorker`, one run at a time) that the parent watches. A run that outlives its
timeout has its process killed; a process that dies (``os._exit``, a segfault in compiled code,
the out-of-memory killer) takes only its current run with it: that run becomes a ``failed``
record with the reason, a fresh process is started, and the rest of the grid goes on. Under Dask
the same isolated process lives inside each Dask worker, so a Dask worker never dies of an
estimator.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import math
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Protocol

from mibench.core.contracts import Dataset, Estimator, Record
from mibench.core.errors import InputError, error_text

__all__ = [
    "DaskExecutor",
    "EXECUTORS",
    "Executor",
    "InlineExecutor",
    "IsolatedWorker",
    "ProcessExecutor",
    "SampleKey",
    "SerialExecutor",
    "Task",
    "Work",
    "make_executor",
]

#: The names ``--executor`` accepts.
EXECUTORS = ("serial", "processes", "dask", "inline")


@dataclass(frozen=True)
class SampleKey:
    """What identifies one sample: every estimator of a grid on the same key shares it.

    ``dataset`` is a registered name (or, for the inline executor only, a Dataset object);
    ``quantity`` is what the sample is for (I(X;Y) pairs or clean activations for I(X;S+Z)).
    """

    dataset: str | Dataset
    n: int
    seed: int | tuple[int, ...]
    quantity: str

    @property
    def dataset_name(self) -> str:
        return self.dataset if isinstance(self.dataset, str) else self.dataset.name

    @property
    def runs(self) -> int:
        """How many runs share this key: one per seed (a tuple of seeds is a seed group, whose
        samples are drawn together and whose runs are done together)."""
        return len(self.seed) if isinstance(self.seed, tuple) else 1


@dataclass(frozen=True)
class Task:
    """One run of the grid: ``estimator`` on the sample ``sample``, scored under ``suite``;
    ``index`` is its grid position.

    ``dataset``, when given, is what the run needs to know of the dataset (its truth, its noisy
    channel) in a form that travels to a worker process, so the worker never has to build the
    dataset itself (a network-layer dataset trains its network when built).
    """

    index: int
    estimator: Estimator
    sample: SampleKey
    suite: str | None = None
    dataset: Dataset | None = None

    @property
    def runs(self) -> int:
        """The runs this task does: one, or one per seed of a seed group. The timeout is per
        run, so a task of k runs may take k times as long."""
        return self.sample.runs


class Work(Protocol):
    """What a run does; the runner provides it (:class:`mibench.grid.runner.RecordWork`), the
    executors only move it around.

    It must be picklable by reference (a module-level class) for every executor but the inline
    one, and compare equal to its own copies (a frozen dataclass does both). What ``run`` and
    ``failed`` return is the task's result, handed to ``on_record`` unopened: a Record, or,
    for a task of several runs (:attr:`Task.runs`), whatever the work makes of them.
    """

    def draw(self, key: SampleKey) -> Any:
        """Draw the sample of ``key``; may raise."""

    def run(self, task: Task, sample: Any) -> Record:
        """Run ``task`` on ``sample``; never raises (a failure is a failed record)."""

    def failed(self, task: Task, reason: str) -> Record:
        """The failed record of a task that could not finish (timeout, a dead process, ...)."""


OnRecord = Callable[[int, Record], None]


def group_by_sample(tasks: Sequence[Task]) -> list[tuple[SampleKey, list[Task]]]:
    """Tasks grouped by their sample key, groups in order of their first task."""
    groups: dict[SampleKey, list[Task]] = defaultdict(list)
    for task in tasks:
        groups[task.sample].append(task)
    return list(groups.items())


class Executor(abc.ABC):
    """Runs tasks; each finished record goes to ``on_record(task.index, record)`` exactly once.

    Records arrive in completion order, which for the parallel executors is not grid order.
    Executors are context managers: leaving the block stops their processes.
    """

    #: The name ``--executor`` knows it by.
    name: str = ""

    @abc.abstractmethod
    def map(self, tasks: Sequence[Task], work: Work, on_record: OnRecord) -> None:
        """Run every task and report every record; returns when all are reported."""

    def close(self) -> None:
        """Stop whatever processes or clusters the executor started (none by default)."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class InlineExecutor(Executor):
    """Everything in this process, one run after another: no timeout, no isolation."""

    name = "inline"

    def map(self, tasks: Sequence[Task], work: Work, on_record: OnRecord) -> None:
        for key, group in group_by_sample(tasks):
            try:
                sample = work.draw(key)
            except Exception as error:
                reason = f"drawing the sample failed: {error_text(error)}"
                for task in group:
                    on_record(task.index, work.failed(task, reason))
                continue
            for task in group:
                on_record(task.index, work.run(task, sample))


# --- the isolated worker process ---------------------------------------------------------------


def _context(preload: str) -> multiprocessing.context.BaseContext:
    # forkserver forks each new worker from a server that imported mibench once, so restarting a
    # worker after a death costs some 30 ms, not a fresh interpreter's seconds; and, unlike
    # plain fork, it never copies the parent's threads or locks (Dask, torch). Spawn where
    # forkserver does not exist. ``preload`` is the module that defines the work, imported once
    # by the server (the executors know no more of it than its name).
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([preload])
        return context
    return multiprocessing.get_context("spawn")


def threads_per_worker(jobs: int) -> int | None:
    """The threads each of ``jobs`` side-by-side worker processes may use: the process's cores
    shared out (at least one), or None (no cap) for a single worker, which runs alone. A
    ``MIBENCH_THREADS`` the user set wins, and is handed to the workers as it is (a forkserver
    started earlier would not pass on a change to the environment)."""
    from mibench.core.threads import available_cores, threads_from_environment

    chosen = threads_from_environment()
    if chosen is not None or jobs <= 1:
        return chosen
    return max(1, available_cores() // jobs)


def _one_thread_unless_set() -> int:
    from mibench.core.threads import threads_from_environment

    return threads_from_environment() or 1


#: What a worker process sends once it has started, before its first run.
_READY = "ready"

#: How long a worker process may take to start (a fresh interpreter importing the work's module,
#: torch included, on a loaded machine) before its run fails for it.
_START_TIMEOUT = 300.0


def _child_main(connection, work: Work, threads: int | None = None) -> None:
    """The loop of an isolated worker process: run tasks on the samples sent, send records.

    The last sample is kept, so the parent sends each sample once for all the runs on it.
    ``threads`` caps the threads of every estimator in the process (``MIBENCH_THREADS``), so
    that a parallel grid does not oversubscribe the cores.
    """
    from mibench.core.threads import THREADS_VARIABLE

    # Set or cleared as the parent says now: a forkserver started earlier carries the
    # environment of that moment, not the caller's.
    if threads is not None:
        os.environ[THREADS_VARIABLE] = str(threads)
    else:
        os.environ.pop(THREADS_VARIABLE, None)
    # Ctrl-C is the parent's to handle: it stops the children itself, without failed records.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The work (and the module that defines it) is unpickled and imported by now: say so, so
    # that the first run's timeout does not count this process's start-up.
    connection.send(_READY)
    cached_key: SampleKey | None = None
    cached_sample: Any = None
    while True:
        try:
            task, sample = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if sample is not None:
            cached_key, cached_sample = task.sample, sample
        if cached_key != task.sample:  # cannot happen: the parent tracks what was sent
            connection.send(work.failed(task, "internal error: the sample was not sent"))
            continue
        connection.send(work.run(task, cached_sample))


class _Lost(Exception):
    """The worker process timed out or died; the message says which."""


class IsolatedWorker:
    """One worker process, run by the calling thread, restarted whenever it is lost.

    Parameters
    ----------
    work : Work
        What a run does (picklable by reference).
    timeout : float, optional
        Seconds one run may take before its process is killed; None for no limit.
    threads : int, optional
        Threads each estimator in the process may use (:func:`threads_per_worker`).
    """

    def __init__(self, work: Work, timeout: float | None = None, threads: int | None = None):
        if multiprocessing.current_process().daemon:
            raise RuntimeError(
                "mibench runs every estimator in a child process, and this process is a daemon, "
                "which may not have children. Start Dask workers with "
                "DASK_DISTRIBUTED__WORKER__DAEMON=False."
            )
        self.work = work
        self.timeout = timeout
        self.threads = threads
        self._process = None
        self._connection = None
        self._sent: SampleKey | None = None  # the sample the process holds

    def _start(self) -> None:
        context = _context(type(self.work).__module__)
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_child_main, args=(child_end, self.work, self.threads), daemon=True
        )
        process.start()
        child_end.close()
        self._process, self._connection, self._sent = process, parent_end, None
        if _closing.is_set():
            # The cluster closed while this process started (Ctrl-C): it would outlive it.
            self.stop()
            raise _Lost("the grid was stopped")
        # A run's timeout is the run's own: wait for the process to say it is ready first (its
        # first message; under load a fresh interpreter's imports took over a second, and a
        # timeout of one second then killed every run of the restarted workers before it began).
        self._exchange(process, parent_end, None, _START_TIMEOUT,
                       timed_out="the worker process did not start within {timeout:g} s",
                       died="the worker process died while starting")

    def _call(self, message: tuple, timeout: float | None) -> tuple:
        if self._process is None:
            if _closing.is_set():
                raise _Lost("the grid was stopped")
            self._start()
        return self._exchange(self._process, self._connection, message, timeout,
                              timed_out="timed out after {timeout:g} s (the run's process was killed)",
                              died="the run's process died")

    def _exchange(self, process, connection, message: tuple | None, timeout: float | None, *,
                  timed_out: str, died: str) -> Any:
        """Send ``message`` (if any) to the worker ``process`` and return its answer; or kill
        the process and raise :class:`_Lost` with ``timed_out`` (a template of ``{timeout}``)
        when none came within ``timeout``, or with ``died`` and how it ended when the process
        died (or another thread's stop(), a grid stopping, closed it)."""
        try:
            if message is not None:
                connection.send(message)
            ready = wait([connection, process.sentinel], timeout)
            if connection in ready:
                return connection.recv()
        except (EOFError, OSError, ValueError):  # the pipe broke, or a stop() closed the process
            ready = True
        if not ready:
            self.stop()
            raise _Lost(timed_out.format(timeout=timeout))
        raise _Lost(f"{died} ({self._death_of(process)})")

    def _death_of(self, process) -> str:
        """Reap the dead worker ``process`` (the next call starts a fresh one) and say how it
        ended: "exit code N" or "killed by signal NAME"."""
        try:
            process.join(5)
            code = process.exitcode
        except ValueError:  # closed by stop() in another thread: the grid is stopping
            code = None
        self.stop()
        if code is not None and code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def run_group(self, key: SampleKey, tasks: Sequence[Task], on_record: OnRecord,
                  stopping: threading.Event | None = None) -> None:
        """Draw the sample of ``key`` once, here, and run every task on it in the process.

        Drawing is not timed: a network-layer dataset trains its network on first use (in the
        parent, which has built every dataset of the grid already).
        """
        try:
            sample = self.work.draw(key)
        except Exception as error:  # a sample that cannot be drawn fails all its runs
            problem = f"drawing the sample failed: {error_text(error)}"
            for task in tasks:
                on_record(task.index, self.work.failed(task, problem))
            return
        for task in tasks:
            if stopping is not None and stopping.is_set():
                return
            on_record(task.index, self.run(task, sample))

    def run(self, task: Task, sample: Any) -> Record:
        """Run one task on ``sample`` in the worker process (sent only if it is new there)."""
        fresh = self._sent != task.sample
        timeout = None if self.timeout is None else self.timeout * task.runs
        try:
            record = self._call((task, sample if fresh else None), timeout)
        except _Lost as lost:
            return self.work.failed(task, str(lost))
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            # Pickled before anything is written, so the pipe is intact: only this run fails
            # (an estimator holding a local function, say, runs inline only).
            return self.work.failed(task, "the run cannot be sent to a worker process: "
                                          f"{error_text(error)}")
        self._sent = task.sample
        return record

    def stop(self) -> None:
        """Kill the worker process (if any); the next call starts a fresh one."""
        process, connection = self._process, self._connection
        self._process = self._connection = self._sent = None
        if process is None:
            return
        try:
            if process.is_alive():
                process.kill()
            process.join(5)
            connection.close()
            process.close()
        except (ValueError, OSError):  # stopped meanwhile by another thread (a grid stopping)
            pass


# --- local processes ---------------------------------------------------------------------------


class ProcessExecutor(Executor):
    """``jobs`` isolated worker processes side by side; a per-run ``timeout`` in seconds.

    One thread per worker takes whole sample groups (split when there are fewer groups than
    workers), draws each sample and has the worker run the group's estimators on it; records
    travel to the calling thread, which alone calls ``on_record`` (so a result store is written
    from one thread only).
    """

    name = "processes"

    def __init__(self, jobs: int = 2, timeout: float | None = None):
        if not isinstance(jobs, int) or jobs < 1:
            raise InputError(f"jobs must be a positive integer, got {jobs!r}")
        self.jobs = jobs
        self.timeout = _check_timeout(timeout)

    def map(self, tasks: Sequence[Task], work: Work, on_record: OnRecord) -> None:
        groups = group_by_sample(tasks)
        # Fewer samples than workers (one dataset, many estimators): split the largest groups,
        # so that every worker has runs to do; each part draws its sample once.
        while len(groups) < self.jobs and any(len(group) > 1 for _, group in groups):
            largest = max(range(len(groups)), key=lambda i: len(groups[i][1]))
            key, group = groups[largest]
            half = len(group) // 2
            groups[largest:largest + 1] = [(key, group[:half]), (key, group[half:])]
        pending: queue.SimpleQueue = queue.SimpleQueue()
        for group in groups:
            pending.put(group)
        results: queue.SimpleQueue = queue.SimpleQueue()
        stopping = threading.Event()
        threads = threads_per_worker(self.jobs)
        workers = [IsolatedWorker(work, self.timeout, threads)
                   for _ in range(min(self.jobs, len(groups)))]

        def serve(worker: IsolatedWorker) -> None:
            try:
                while not stopping.is_set():
                    try:
                        key, group = pending.get_nowait()
                    except queue.Empty:
                        return
                    worker.run_group(key, group, lambda i, r: results.put((i, r)), stopping)
            except BaseException as error:  # a bug here must surface in the calling thread
                results.put((None, error))
            finally:
                worker.stop()

        threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        try:
            for _ in range(len(tasks)):
                while True:
                    try:  # a bounded wait, so that Ctrl-C reaches this thread
                        index, record = results.get(timeout=0.2)
                        break
                    except queue.Empty:
                        continue
                if index is None:
                    raise record
                on_record(index, record)
        finally:
            stopping.set()
            for worker in workers:
                worker.stop()
            for thread in threads:
                thread.join(10)


class SerialExecutor(ProcessExecutor):
    """One run at a time, in one isolated worker process; a per-run ``timeout`` in seconds."""

    name = "serial"

    def __init__(self, timeout: float | None = None):
        super().__init__(jobs=1, timeout=timeout)


# --- Dask --------------------------------------------------------------------------------------

_thread_workers = threading.local()
_all_workers: list[IsolatedWorker] = []  # of this process, to stop them when a cluster closes


#: Set in a Dask worker process when its cluster closes: no run process may start after it.
_closing = threading.Event()


def _stop_isolated_workers() -> None:
    _closing.set()
    while _all_workers:
        _all_workers.pop().stop()


def _dask_draw(work: Work, key: SampleKey) -> Any:
    return work.draw(key)


def _dask_run(work: Work, task: Task, sample: Any, timeout: float | None) -> Record:
    # One isolated process per Dask worker thread, kept for the tasks that follow.
    worker = getattr(_thread_workers, "worker", None)
    if worker is None or not worker.work == work:
        # Dask runs one task per worker thread, and a cluster is shared: one thread per run.
        worker = IsolatedWorker(work, timeout, threads=_one_thread_unless_set())
        _thread_workers.worker = worker
        _all_workers.append(worker)
    worker.timeout = timeout
    return worker.run(task, sample)


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(
            "the Dask executor needs dask.distributed, which is not installed. Install it with "
            "pip install \"mibench[dask]\" (or pip install \"dask[distributed]\")."
        ) from None
    return distributed


class DaskExecutor(Executor):
    """The tasks as Dask tasks: each sample drawn once as a task of its own, each run a task.

    Parameters
    ----------
    address : str, optional
        A running scheduler, ``tcp://HOST:PORT``. Without one a ``LocalCluster`` of ``jobs``
        worker processes (one thread each) is started here and stopped by :meth:`close`.
    jobs : int, default 2
        Workers of the local cluster (ignored with ``address``).
    timeout : float, optional
        Seconds one run may take.
    """

    name = "dask"

    #: Seconds to wait for the scheduler at ``address`` before giving up with an InputError.
    connect_timeout: float = 10.0

    def __init__(self, address: str | None = None, jobs: int = 2, timeout: float | None = None):
        _require_distributed()
        if not isinstance(jobs, int) or jobs < 1:
            raise InputError(f"jobs must be a positive integer, got {jobs!r}")
        self.address = address
        self.jobs = jobs
        self.timeout = _check_timeout(timeout)
        self._client = None
        self._cluster = None
        self._interrupted = False
        self._worker_pids: list[int] = []

    def client(self):
        """The Dask client, connecting (or starting the local cluster) on first use."""
        if self._client is None:
            import dask
            from distributed import Client, LocalCluster

            if self.address is None:
                # Workers must not be daemons: each one starts the isolated process of its runs.
                # They start with Ctrl-C blocked (a blocked signal stays blocked in a child):
                # Ctrl-C is this process's to handle, which stops the cluster itself, instead
                # of every worker printing its own KeyboardInterrupt traceback.
                import psutil  # a dependency of distributed

                before = {child.pid for child in psutil.Process().children()}
                with dask.config.set({"distributed.worker.daemon": False}), _sigint_held():
                    # Workers log errors only: a run's failure is its record's business, and a
                    # cancelled task (Ctrl-C) is no news.
                    self._cluster = LocalCluster(
                        n_workers=self.jobs, threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.ERROR,
                    )
                    # Known now, to make sure after Ctrl-C that none outlives the grid.
                    self._worker_pids = sorted(
                        child.pid for child in psutil.Process().children()
                        if child.pid not in before and _is_dask_worker(child))
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(self.address, timeout=self.connect_timeout)
                except (ValueError, OSError, TimeoutError) as error:
                    raise InputError(f"cannot use the Dask scheduler at {self.address!r}: "
                                     f"{_first_line(error)}") from None
        return self._client

    def map(self, tasks: Sequence[Task], work: Work, on_record: OnRecord) -> None:
        from distributed import as_completed

        samples, remaining, task_of = {}, Counter(), {}
        futures = []
        client = None
        try:
            client = self.client()
            for key, group in group_by_sample(tasks):
                samples[key] = client.submit(_dask_draw, work, key, pure=False)
                remaining[key] = len(group)
                for task in group:
                    future = client.submit(_dask_run, work, task, samples[key], self.timeout,
                                           pure=False)
                    task_of[future.key] = task
                    futures.append(future)
            for future in as_completed(futures):
                task = task_of[future.key]
                try:
                    record = future.result()
                except Exception as error:  # the draw failed, or Dask lost the worker
                    record = work.failed(task, f"the Dask task failed: {error_text(error)}")
                on_record(task.index, record)
                remaining[task.sample] -= 1
                if remaining[task.sample] == 0:
                    del samples[task.sample]  # releases the sample on the cluster
        except KeyboardInterrupt:
            self._interrupted = True
            raise
        finally:
            if client is not None and futures:
                with _quiet_dask(self._interrupted):
                    client.cancel(futures + list(samples.values()))

    def close(self) -> None:
        if self._interrupted:
            # The local workers ignore Ctrl-C (it is this process's to handle): stop them, and
            # the run processes they started, at once, before the cluster, so that none
            # outlives the grid or complains that the scheduler went away.
            with _quiet_dask(True):
                _kill_children(self._worker_pids)
                self._close(stop_runs=False)
        else:
            self._close(stop_runs=True)
        self._worker_pids = []

    def _close(self, stop_runs: bool) -> None:
        if self._client is not None:
            if self._cluster is not None and stop_runs:  # stop our workers' run processes
                try:
                    self._client.run(_stop_isolated_workers)
                except Exception:  # a worker already gone has nothing left to stop
                    pass
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _is_dask_worker(process) -> bool:
    """A worker process of a local cluster (spawned by its nanny), not multiprocessing's
    resource tracker, which must live on to clean up after the others."""
    try:
        return "resource_tracker" not in " ".join(process.cmdline())
    except Exception:  # gone already, or not ours to read
        return False


def _kill_children(pids: Sequence[int]) -> None:
    """Kill those of ``pids`` that are still running children of this process, with every
    process they started (their forkserver and its run processes, which hold this process's
    standard error open and would outlive it)."""
    import psutil  # a dependency of distributed, so present wherever the Dask executor runs

    me = psutil.Process()
    ours = {child.pid: child for child in me.children()}
    for pid in pids:
        worker = ours.get(pid)
        if worker is None:
            continue  # ended already, or not a child of this process
        try:
            family = worker.children(recursive=True) + [worker]
        except psutil.Error:
            continue
        for process in family:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(family, timeout=5)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


@contextlib.contextmanager
def _sigint_held():
    """Hold Ctrl-C back while a local cluster starts: SIGINT is blocked in this thread, so the
    threads and processes started meanwhile (the cluster's loop thread and, through it, the
    worker processes) never receive it; a Ctrl-C pressed meanwhile stays pending and is
    delivered here as soon as the cluster is up. Main thread only, where signals exist."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _quiet_dask(quiet: bool):
    """After Ctrl-C, stop the cluster without Dask's log lines about the tasks it drops."""
    if not quiet:
        yield
        return
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


# --- choosing one ------------------------------------------------------------------------------


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
            or not math.isfinite(timeout)):
        raise InputError(f"timeout must be a positive, finite number of seconds, got {timeout!r}")
    return float(timeout)


def make_executor(name: str = "serial", *, jobs: int = 1, timeout: float | None = None,
                  address: str | None = None) -> Executor:
    """The executor called ``name`` (one of :data:`EXECUTORS`), configured.

    ``serial`` with ``jobs > 1`` becomes ``processes``; ``address`` implies ``dask``. Which
    executor a grid gets when none is named is the runner's choice
    (:func:`mibench.grid.runner.default_executor`), not this factory's.
    """
    if address is not None and name not in ("dask", "serial"):
        raise InputError(f"--address is for the dask executor, not {name!r}")
    if address is not None:
        name = "dask"
    if name == "serial" and jobs > 1:
        name = "processes"
    if name == "inline":
        if jobs > 1:
            raise InputError("the inline executor does one run at a time; drop --jobs or choose "
                             "processes or dask")
        if timeout is not None:
            raise InputError("the inline executor cannot enforce a timeout; use serial or processes")
        return InlineExecutor()
    if name == "serial":
        return SerialExecutor(timeout=timeout)
    if name == "processes":
        return ProcessExecutor(jobs=max(jobs, 1), timeout=timeout)
    if name == "dask":
        return DaskExecutor(address=address, jobs=max(jobs, 1), timeout=timeout)
    raise InputError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
