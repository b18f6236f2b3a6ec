"""Runs on samples held in memory: one estimator on fixed arrays (x, y), through the grid's run
path, as one :class:`~mibench.core.contracts.Record`.

The experiments estimate MI on samples they make themselves (a layer of a network at one epoch,
tanh(2X) at one n and seed), not on a registered dataset. :class:`SampleRunner` runs such a
sample the way ``mibench run`` runs a grid: the sample is wrapped in a
:class:`~mibench.core.contracts.Dataset` of its own (:func:`sample_dataset`, which draws the same
arrays whatever n and seed ask), the run is a :class:`~mibench.grid.executors.Task` handed with
the runner's :class:`~mibench.grid.runner.RecordWork` to an executor, and so

- a run that raises, or returns a non-finite number, is a ``failed`` record with the error text
  (the runner's own capture), never a traceback in the caller;
- the executor is chosen as the runner chooses it (:func:`~mibench.grid.runner.default_executor`):
  ``inline`` (in this process, at next to no cost) by default, and with a ``timeout`` an
  isolated worker process (:class:`~mibench.grid.executors.IsolatedWorker`, what the ``serial``
  executor runs) that is killed when a run outlives the timeout, the run becoming a failed record
  that says so;
- the record carries what every record carries (estimator identity, canonical parameters,
  versions, the truth where the caller gives it, the seconds of the estimate) and, under
  ``extras["columns"]``, the caller's own columns (the swept variable, the layer, ...);
- :meth:`SampleRunner.provenance` is the provenance entry the result store records
  (:func:`mibench.grid.provenance.collect`).

The estimator runs as it is configured: a sample in memory has no noisy channel to configure an
estimator of I(X; S + Z) for, so such an estimator is given (x, S) and its noise scale by the
caller, and is not re-paired (:func:`~mibench.grid.runner.prepare` is for registered datasets).

Unlike a grid, one :class:`SampleRunner` keeps its worker process from run to run (a fresh one
replaces it only when a run times out or kills it), since an experiment runs thousands of small
estimates one at a time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mibench.core.contracts import MUTUAL_INFORMATION, Dataset, Estimator, Record
from mibench.core.errors import InputError
from mibench.core.records import json_safe
from mibench.grid.executors import (
    InlineExecutor,
    IsolatedWorker,
    SampleKey,
    Task,
    make_executor,
    threads_per_worker,
)
from mibench.grid.runner import RecordWork, default_executor, portable_dataset

__all__ = ["IN_MEMORY_TAG", "SampleRunner", "run_on_sample", "sample_dataset"]

#: The tag of every dataset made by :func:`sample_dataset` (a record's ``tags`` show it).
IN_MEMORY_TAG = "in-memory"


@dataclass(frozen=True, eq=False)  # compared and hashed by identity, never by its arrays
class _FixedSample:
    """A sampler that hands back the same arrays whatever the seed: the sample itself."""

    x: Any
    y: Any

    def __call__(self, n: int, rng: np.random.Generator) -> tuple[Any, Any]:
        if n != len(self.x):
            raise InputError(f"this sample has {len(self.x)} rows; {n} were asked for")
        return self.x, self.y


def _rows(values: Any, what: str) -> int:
    try:
        rows = len(values)
    except TypeError:
        raise InputError(f"{what} must be an array of samples (rows first), got "
                         f"{type(values).__name__}") from None
    if rows < 1:
        raise InputError(f"{what} holds no samples")
    return rows


def sample_dataset(x, y, *, name: str = IN_MEMORY_TAG, truth: float | None = None,
                   truth_stderr: float = 0.0, tags: frozenset[str] | set[str] = frozenset()
                   ) -> Dataset:
    """A Dataset whose every draw is the sample (x, y) itself.

    Parameters
    ----------
    x, y : array-like of shape (n,) or (n, d)
        Paired samples, row i of x with row i of y (numpy arrays, lists, torch tensors). They are
        not copied; drawing turns them into float64 arrays of shape (n, d), as every draw is.
    name : str
        The dataset name the record shows (pick one no registered dataset has, e.g.
        ``"experiment:divergence"``: a registered name would lend the record its tags).
    truth : float, optional
        The true MI in nats (``math.inf`` for an infinite one); None where it is not known.
    truth_stderr : float
        The standard error of ``truth`` where it is only known numerically.
    tags : set of str
        Tags besides :data:`IN_MEMORY_TAG`.

    Raises
    ------
    InputError
        When x or y is not a sequence of samples, or empty, or their lengths differ.
    """
    rows = _rows(x, "x")
    if _rows(y, "y") != rows:
        raise InputError(f"x and y must have the same number of rows, got {rows} and {len(y)}")
    if not isinstance(name, str) or not name:
        raise InputError(f"the sample's name must be a non-empty string, got {name!r}")
    shape_x, shape_y = np.shape(x), np.shape(y)
    return Dataset(
        name=name,
        dim_x=math.prod(shape_x[1:]),
        dim_y=math.prod(shape_y[1:]),
        mutual_information=math.nan if truth is None else float(truth),
        sampler=_FixedSample(x, y),
        mutual_information_stderr=float(truth_stderr),
        tags=frozenset(tags) | {IN_MEMORY_TAG},
        description="a sample held in memory",
    )


class SampleRunner:
    """Runs estimators on samples held in memory, each run one record (see the module notes).

    Parameters
    ----------
    timeout : float, optional
        Seconds one run may take. With a timeout every run happens in an isolated worker
        process, killed when a run outlives it; that run becomes a ``failed`` record that says
        so, and the next run gets a fresh process.
    executor : {"inline", "serial"}, optional
        Where the runs happen; by default the runner's choice
        (:func:`~mibench.grid.runner.default_executor`): ``inline`` without a timeout, ``serial``
        (one isolated worker process) with one.
    name : str
        The dataset name of the records (:func:`sample_dataset`).
    keep : bool, default True
        Keep every record in :attr:`records` (the experiments write them to ``records.jsonl``).

    Use it as a context manager, or call :meth:`close`, to stop its worker process.
    """

    def __init__(self, *, timeout: float | None = None, executor: str | None = None,
                 name: str = IN_MEMORY_TAG, keep: bool = True):
        chosen = executor or default_executor(timeout=timeout)
        if chosen not in ("inline", "serial"):
            raise InputError(f"a sample in memory runs inline or serial, not {chosen!r}: one run "
                             "at a time, as its caller asks")
        # The grid's factory checks the combination (inline cannot time out) and the timeout.
        self._executor = make_executor(chosen, timeout=timeout)
        self.timeout = getattr(self._executor, "timeout", None)
        self.name = name
        self.keep = keep
        self.records: list[Record] = []
        self._datasets: dict[str, Dataset] = {}
        self._work = RecordWork(datasets=self._datasets)
        self._worker: IsolatedWorker | None = None
        self._serial = itertools.count()

    @property
    def executor(self) -> str:
        """The executor's name: ``inline`` or ``serial``."""
        return self._executor.name

    @property
    def inline(self) -> bool:
        return isinstance(self._executor, InlineExecutor)

    def describe(self) -> str:
        """How the runs are executed, as the store's provenance says it (e.g. ``serial,
        timeout=5.0``)."""
        return self.executor + (f", timeout={self.timeout}" if self.timeout is not None else "")

    def provenance(self, described: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The provenance entry of these runs (:func:`mibench.grid.provenance.collect`), with
        ``described`` as its grid (what was run: an experiment's name and size, ...)."""
        from mibench.grid.provenance import collect

        return collect(dict(described or {}), self.describe())

    def run(self, estimator: Estimator, x, y, *, truth: float | None = None, seed: int = 0,
            name: str | None = None, columns: Mapping[str, Any] | None = None) -> Record:
        """Run ``estimator`` on (x, y); never raises for what the run does.

        Parameters
        ----------
        estimator : Estimator
            Run as it is configured.
        x, y : array-like of shape (n,) or (n, d)
            The sample (:func:`sample_dataset`).
        truth : float, optional
            The true MI in nats, carried by the record (None: unknown).
        seed : int
            The seed the caller drew the sample with, for the record (default 0).
        name : str, optional
            The record's dataset name; default the runner's ``name``.
        columns : mapping, optional
            The caller's columns (JSON-able values), kept under ``extras["columns"]``.

        Returns
        -------
        Record
            ``ok`` with the estimate in nats, or ``failed`` with the reason: the estimator
            raised or returned a non-finite number, the sample could not be drawn, the run
            timed out or its process died.

        Raises
        ------
        InputError
            When (x, y) is not a sample (:func:`sample_dataset`) or ``seed`` is negative; a bug
            of the caller's, not a run that failed.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {seed!r}")
        dataset = sample_dataset(x, y, name=name or self.name, truth=truth)
        n = len(x)
        found: list[Record] = []
        if self.inline:
            # As the grid runs inline: the key holds the Dataset, so drawing resolves nothing.
            task = Task(0, estimator, SampleKey(dataset, n, int(seed), MUTUAL_INFORMATION),
                        None, dataset)
            self._executor.map([task], self._work, lambda index, record: found.append(record))
        else:
            # A key of its own for every sample: the worker keeps the last sample it was sent
            # under its key, and two samples must never share one.
            key_name = f"{dataset.name}#{next(self._serial)}"
            self._datasets.clear()
            self._datasets[key_name] = dataset
            task = Task(0, estimator, SampleKey(key_name, n, int(seed), MUTUAL_INFORMATION),
                        None, portable_dataset(dataset))
            self._isolated().run_group(task.sample, [task],
                                       lambda index, record: found.append(record))
            self._datasets.clear()
        (record,) = found
        if columns:
            record.extras["columns"] = json_safe(dict(columns))
        if self.keep:
            self.records.append(record)
        return record

    def _isolated(self) -> IsolatedWorker:
        if self._worker is None:
            self._worker = IsolatedWorker(self._work, self.timeout, threads_per_worker(1))
        return self._worker

    def close(self) -> None:
        """Stop the worker process, if one was started (a later run starts a fresh one)."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def __enter__(self) -> SampleRunner:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def run_on_sample(estimator: Estimator, x, y, *, truth: float | None = None, seed: int = 0,
                  name: str = IN_MEMORY_TAG, columns: Mapping[str, Any] | None = None,
                  timeout: float | None = None, executor: str | None = None) -> Record:
    """One run of ``estimator`` on the sample (x, y) as one record: :meth:`SampleRunner.run`
    with a runner of its own (``timeout`` and ``executor`` as for :class:`SampleRunner`)."""
    with SampleRunner(timeout=timeout, executor=executor, name=name, keep=False) as runner:
        return runner.run(estimator, x, y, truth=truth, seed=seed, columns=columns)
