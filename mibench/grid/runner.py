"""The grid runner: estimator x dataset x n x seed -> records.

Records are the only thing the runner produces. A run that raises becomes a record with status
``failed`` and the error text; the rest of the grid goes on, and every finished record can be
handed to a callback as it arrives, so nothing is lost when a later run fails or the user stops
the grid.

Where the runs are done is an executor's business (:mod:`mibench.grid.executors`: inline, serial,
local processes, Dask); with ``out=DIR`` the records go to a result store
(:mod:`mibench.grid.store`) as they finish, and a run already stored is not done again. A grid can
also come from a TOML file (:mod:`mibench.grid.files`, :func:`run_grid`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mibench._version import __version__
from mibench.core.contracts import NOISY_CHANNEL, QUANTITIES, Dataset, Estimator, Record
from mibench.core.errors import error_text
from mibench.core.validation import InputError, check_integer
from mibench.datasets import DEFAULT_SUITE_TAG, get_dataset, list_datasets
from mibench.datasets.suites import get_suite, suite_of
from mibench.estimators import get_estimator, get_estimator_class
from mibench.grid.executors import Executor, InlineExecutor, SampleKey, Task, make_executor
from mibench.grid.files import Grid
from mibench.grid.store import run_key

__all__ = [
    "default_suite",
    "RecordWork",
    "draw",
    "failed_record",
    "portable_dataset",
    "prepare",
    "resolve_dataset",
    "resolve_params",
    "run",
    "run_grid",
    "run_one",
]


def default_suite() -> list[str]:
    """The datasets ``mibench run`` uses when none is named."""
    return list_datasets(DEFAULT_SUITE_TAG)


@dataclass(frozen=True)
class _Job:
    estimator: Estimator
    dataset: str | Dataset
    n: int
    seed: int
    suite: str | None = None


def _truth_of(dataset: Dataset) -> tuple[float | None, dict[str, Any]]:
    """The truth a record carries (None where unknown) and the extras holding its standard
    error where it is only known numerically."""
    if not dataset.truth_is_known:
        return None, {}
    stderr = dataset.mutual_information_stderr
    return dataset.mutual_information, ({"truth_stderr": stderr} if stderr > 0 else {})


def prepare(estimator: Estimator, dataset: Dataset) -> tuple[Estimator | None, str | None]:
    """Pair an estimator with a dataset: (the estimator configured for it, None), or
    (None, why it is not run there).

    An estimator runs only on a dataset that provides the quantity it estimates. An estimator
    of :data:`~mibench.core.contracts.NOISY_CHANNEL` is configured for the dataset's channel (its
    noise scale, and whether x is a label), so it estimates the MI of that noisy layer.
    """
    quantity = estimator.quantity
    if quantity not in QUANTITIES:
        return None, f"estimator {estimator.name!r} declares an unknown quantity {quantity!r}"
    if quantity not in dataset.quantities:
        provided = " and ".join(sorted(dataset.quantities))
        return None, (
            f"{estimator.name} estimates {quantity}; {dataset.name} provides {provided} only"
        )
    if quantity == NOISY_CHANNEL:
        reason = dataset.channel.unsupported_by(estimator)
        if reason is not None:  # e.g. S is not a function of x and the estimator assumes it
            return None, f"{reason}: {dataset.name}"
        return estimator.for_channel(dataset.channel), None
    return estimator, None


def draw(dataset: Dataset, n: int, seed: int, quantity: str):
    """The sample an estimator of ``quantity`` reads from ``dataset`` at (n, seed)."""
    return dataset.sample_for(quantity, n, seed)


def _record(estimator, dataset_name, n, seed, suite, **fields) -> Record:
    return Record(
        estimator=estimator.name,
        params=estimator.get_params(),
        dataset=dataset_name,
        n=n,
        seed=seed,
        suite=suite,
        mibench_version=__version__,
        **fields,
    )


def _skipped_record(estimator, dataset_name, n, seed, suite, reason: str) -> Record:
    """Not run: the estimator's quantity is not one the dataset provides (``reason``)."""
    return _record(estimator, dataset_name, n, seed, suite, estimate=None, truth=None,
                   seconds=0.0, status="skipped", error=reason)


def run_one(
    estimator: Estimator,
    dataset: str | Dataset,
    n: int,
    seed: int,
    sample: tuple | None = None,
    suite: str | None = None,
) -> Record:
    """Run one estimator on one dataset at one sample size and seed; never raises.

    Parameters
    ----------
    estimator : Estimator
    dataset : name or Dataset
    n, seed : int
    sample : (x, y), optional
        The sample already drawn for this estimator's quantity (:func:`draw`), to share one
        draw between estimators; drawn here when None.
    suite : str, optional
        The suite the run is scored under; default the first suite that holds the dataset.

    Returns
    -------
    Record
        Status ``ok``, ``failed`` (with the error) or ``skipped`` (with the reason: the
        estimator's quantity is not one the dataset provides).
    """
    dataset_name = dataset if isinstance(dataset, str) else dataset.name
    truth: float | None = None
    extras: dict[str, Any] = {}
    seconds = 0.0
    try:
        if isinstance(dataset, str):
            dataset = get_dataset(dataset)
        suite = suite_of(dataset_name, suite)
        configured, reason = prepare(estimator, dataset)
        if configured is None:
            return _skipped_record(estimator, dataset_name, n, seed, suite, reason)
        estimator = configured
        truth, extras = _truth_of(dataset)
        x, y = sample if sample is not None else draw(dataset, n, seed, estimator.quantity)
        start = time.perf_counter()
        result = estimator.estimate_with_extras(x, y)
        seconds = time.perf_counter() - start
        if not math.isfinite(result.value):
            raise FloatingPointError(f"the estimator returned {result.value}")
    except Exception as error:
        return _record(estimator, dataset_name, n, seed, suite, estimate=None, truth=truth,
                       seconds=seconds, status="failed", error=error_text(error), extras=extras)
    extras.update(result.extras)
    return _record(estimator, dataset_name, n, seed, suite, estimate=result.value, truth=truth,
                   seconds=seconds, status="ok", error=None, extras=extras)


def _as_list(value, kind) -> list:
    if isinstance(value, (str, Estimator, Dataset, int)):
        return [value]
    values = list(value)
    if not values:
        raise InputError(f"no {kind} given")
    return values


def resolve_params(names: Sequence[str], params: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Split ``params`` into the parameters of each named estimator.

    Three forms, which may be mixed (a specific one wins over a bare one):

    - ``{"ksg": {"k": 5}}``: parameters of one estimator;
    - ``{"ksg.k": 5}``: the same, as ``--param ksg.k=5`` writes it;
    - ``{"k": 5}``: a bare parameter, for every named estimator that takes ``k``; an error only
      if none of them does.

    Returns
    -------
    dict
        Estimator name to its parameters (every name in ``names`` is a key).
    """
    names = list(dict.fromkeys(names))
    resolved: dict[str, dict[str, Any]] = {name: {} for name in names}
    specific: dict[str, dict[str, Any]] = {name: {} for name in names}
    for key, value in (params or {}).items():
        if not isinstance(key, str) or not key:
            raise InputError(f"parameter names are non-empty strings, got {key!r}")
        if isinstance(value, dict) and key in get_estimator_names():
            target, values = key, value
        elif "." in key:
            target, _, name = key.partition(".")
            values = {name: value}
        else:
            takers = [n for n in names if key in get_estimator_class(n).parameter_names()]
            if not takers:
                valid = "; ".join(
                    f"{n}: {', '.join(get_estimator_class(n).parameter_names()) or 'none'}"
                    for n in names
                )
                raise InputError(
                    f"parameter {key!r} is taken by none of the estimators "
                    f"{', '.join(names)}. Their parameters: {valid}"
                )
            for name in takers:
                resolved[name][key] = value
            continue
        if target not in resolved:
            raise InputError(
                f"parameters given for estimator {target!r}, which is not among the estimators "
                f"run ({', '.join(names) or 'none by name'})"
            )
        specific[target].update(values)
    for name in names:
        resolved[name].update(specific[name])
    return resolved


def get_estimator_names() -> list[str]:
    from mibench.estimators import list_estimators

    return list_estimators()


def _resolve_estimators(estimators, params) -> list[Estimator]:
    given = _as_list(estimators, "estimators")
    names = [e for e in given if isinstance(e, str)]
    if params and not names:
        raise InputError("params apply to estimators given by name, not to instances")
    per_estimator = resolve_params(names, params)
    resolved = []
    for estimator in given:
        if isinstance(estimator, Estimator):
            resolved.append(estimator)
        elif isinstance(estimator, str):
            resolved.append(get_estimator(estimator, **per_estimator[estimator]))
        else:
            raise InputError(f"estimators must be names or Estimator objects, got {estimator!r}")
    return resolved


def _resolve_datasets(datasets) -> list[str | Dataset]:
    if datasets is None:
        return default_suite()
    resolved = []
    for dataset in _as_list(datasets, "datasets"):
        if isinstance(dataset, str):
            get_dataset(dataset)  # an unknown name fails now, before any work is done
        elif not isinstance(dataset, Dataset):
            raise InputError(f"datasets must be names or Dataset objects, got {dataset!r}")
        resolved.append(dataset)
    return resolved


def resolve_dataset(dataset: str | Dataset) -> Dataset:
    """The Dataset of a registered name (built on first use), or the Dataset itself."""
    return get_dataset(dataset) if isinstance(dataset, str) else dataset


def _sampler_left_behind(n, rng):
    raise RuntimeError("this copy of the dataset carries its truth and channel, not its sampler: "
                       "the sample is drawn where the dataset was built")


def portable_dataset(dataset: Dataset) -> Dataset:
    """What a run needs of ``dataset`` (truth, tags, noisy channel), picklable and light: the
    samplers, which may hold a trained network and are local functions, are left behind."""
    channel = dataset.channel
    if channel is not None:
        channel = dataclasses.replace(channel, sampler=_sampler_left_behind)
    return dataclasses.replace(dataset, sampler=_sampler_left_behind, channel=channel)


def failed_record(estimator: Estimator, dataset: str | Dataset, n: int, seed: int, reason: str,
                  suite: str | None = None) -> Record:
    """The record of a run that could not finish (timed out, its process died), with the truth."""
    dataset_name = dataset if isinstance(dataset, str) else dataset.name
    truth, extras = None, {}
    try:
        truth, extras = _truth_of(resolve_dataset(dataset))
    except Exception:  # the dataset itself is the problem; the reason says so
        pass
    return _record(estimator, dataset_name, n, seed, suite_of(dataset_name, suite),
                   estimate=None, truth=truth, seconds=0.0, status="failed", error=reason,
                   extras=extras)


@dataclass(frozen=True)
class RecordWork:
    """The work of a grid run, handed to an executor: draw a sample, run one task on it, or
    make the failed record of a task that could not finish."""

    def draw(self, key: SampleKey) -> Any:
        return draw(resolve_dataset(key.dataset), key.n, key.seed, key.quantity)

    def run(self, task: Task, sample: Any) -> Record:
        key = task.sample
        dataset = task.dataset or key.dataset
        return run_one(task.estimator, dataset, key.n, key.seed, sample=sample, suite=task.suite)

    def failed(self, task: Task, reason: str) -> Record:
        key = task.sample
        dataset = task.dataset or key.dataset
        return failed_record(task.estimator, dataset, key.n, key.seed, reason, suite=task.suite)


def run(
    estimators: str | Estimator | Iterable[str | Estimator],
    datasets: str | Dataset | Iterable[str | Dataset] | None = None,
    n: int | Sequence[int] = 5000,
    seeds: int | Sequence[int] = (0,),
    params: dict[str, Any] | None = None,
    *,
    suite: str | None = None,
    workers: int = 1,
    executor: str | Executor | None = None,
    timeout: float | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    rerun_failed: bool = False,
    progress: bool = False,
    on_record: Callable[[Record], None] | None = None,
) -> list[Record]:
    """Run every estimator on every dataset, sample size and seed.

    Parameters
    ----------
    estimators : name, Estimator, or a list of them
    datasets : name, Dataset, or a list of them; default the datasets of ``suite``, or the
        built-in default suite (``mibench list datasets --tag default`` shows it).
    n : int or list of int, default 5000
        Sample sizes.
    seeds : int or list of int, default (0,)
        Seeds of the samples drawn from each dataset.
    params : dict, optional
        Parameters of the estimators given by name: ``{"ksg": {"k": 5}}`` (or ``{"ksg.k": 5}``)
        for one estimator, ``{"k": 5}`` for every named estimator that takes ``k``
        (:func:`resolve_params`).
    suite : str, optional
        A suite name (:data:`mibench.datasets.suites.SUITES`, e.g. ``"beyond-normal-v2"``): run its
        datasets when none are given, and score the runs under it. By default each dataset's
        runs are scored under the first suite that holds it.
    workers : int, default 1
        Runs side by side (``--jobs``): more than 1 means the ``processes`` executor unless
        ``executor`` says otherwise; for ``dask``, the workers of the local cluster.
    executor : {"inline", "serial", "processes", "dask"} or Executor, optional
        Where the runs are done (:mod:`mibench.grid.executors`). Default: ``inline`` (this process)
        for ``workers=1`` without a timeout, else ``processes``; ``dask`` with ``address``.
    timeout : float, optional
        Seconds a run may take; a run that takes longer is killed and recorded as failed.
    address : str, optional
        A Dask scheduler, ``tcp://HOST:PORT``.
    out : str or Path, optional
        A result store (:class:`mibench.grid.store.ResultStore`): runs already stored there are
        not run again, each new record is stored the moment it is finished, and the store's
        provenance is recorded.
    rerun_failed : bool, default False
        With ``out``: run again the runs stored as failed.
    progress : bool, default False
        Show a progress bar on standard error.
    on_record : callable, optional
        Called with each new record as soon as it is finished (in completion order; grid order
        for the inline executor).

    Returns
    -------
    list of Record
        In grid order: dataset, then n, then seed, then estimator; with ``out``, the runs found
        in the store are included. An estimator whose quantity a dataset does not provide gets a
        ``skipped`` record there, with the reason.
    """
    estimator_list = _resolve_estimators(estimators, params)
    if suite is not None:
        chosen = get_suite(suite)
        if datasets is None:
            datasets = chosen.datasets()
    dataset_list = _resolve_datasets(datasets)
    sizes = [check_integer(size, "n", minimum=1) for size in _as_list(n, "sample sizes")]
    seed_list = [check_integer(seed, "seed", minimum=0) for seed in _as_list(seeds, "seeds")]
    jobs = [
        _Job(estimator, dataset, size, seed, suite)
        for dataset in dataset_list
        for size in sizes
        for seed in seed_list
        for estimator in estimator_list
    ]
    described = {
        "estimators": [{"name": e.name, "params": e.get_params()} for e in estimator_list],
        "datasets": [d if isinstance(d, str) else d.name for d in dataset_list],
        "n": sizes,
        "seeds": seed_list,
        "suite": suite,
    }
    return _run_jobs(jobs, described, workers=workers, executor=executor, timeout=timeout,
                     address=address, out=out, rerun_failed=rerun_failed, progress=progress,
                     on_record=on_record)


def run_grid(grid: Grid | str | Path, **options) -> list[Record]:
    """Run a grid (:mod:`mibench.grid.files`, or the path of a TOML grid file).

    ``options`` are those of :func:`run` from ``workers`` on (executor, timeout, out, ...).
    """
    from mibench.grid.files import load_grid

    if not isinstance(grid, Grid):
        grid = load_grid(grid)
    estimator_list = grid.build_estimators()
    jobs = [
        _Job(estimator, dataset, size, seed, grid.suite_of.get(dataset))
        for dataset in grid.datasets
        for size in grid.sizes
        for seed in grid.seeds
        for estimator in estimator_list
    ]
    return _run_jobs(jobs, grid.source, **options)


def _choose_executor(executor, workers, timeout, address) -> tuple[Executor, bool]:
    """The executor to use, and whether it was made here (and so is closed here)."""
    if isinstance(executor, Executor):
        return executor, False
    if executor is None:
        executor = "dask" if address else ("inline" if workers == 1 and timeout is None
                                           else "processes")
    return make_executor(executor, jobs=workers, timeout=timeout, address=address), True


def _run_jobs(jobs: list[_Job], described: dict[str, Any], *, workers: int = 1,
              executor: str | Executor | None = None, timeout: float | None = None,
              address: str | None = None, out: str | Path | None = None,
              rerun_failed: bool = False, progress: bool = False,
              on_record: Callable[[Record], None] | None = None) -> list[Record]:
    workers = check_integer(workers, "workers", minimum=1)
    runner, owned = _choose_executor(executor, workers, timeout, address)
    store = None
    try:
        if not isinstance(runner, InlineExecutor) and any(
                isinstance(job.dataset, Dataset) for job in jobs):
            raise InputError(f"the {runner.name} executor needs datasets given by name "
                             "(registered datasets); Dataset objects run with executor='inline'")
        if out is not None:
            from mibench.grid.provenance import collect, record_provenance
            from mibench.grid.store import ResultStore

            store = ResultStore(out)
            record_provenance(out, collect(described, _describe(runner)))

        records: dict[int, Record] = {}
        tasks: list[Task] = []
        keys = {}
        for index, job in enumerate(jobs):
            dataset = resolve_dataset(job.dataset)
            configured, reason = prepare(job.estimator, dataset)
            estimator = configured or job.estimator
            if store is not None:
                keys[index] = run_key(estimator, dataset.name, job.n, job.seed, __version__)
                if store.is_done(keys[index], rerun_failed):
                    records[index] = store.get(keys[index])
                    continue
            if configured is None:
                records[index] = _skipped_record(job.estimator, dataset.name, job.n, job.seed,
                                                 suite_of(dataset.name, job.suite), reason)
                continue
            key = SampleKey(job.dataset, job.n, job.seed, estimator.quantity)
            # Outside this process a run gets the dataset's truth and channel, not the dataset.
            travelling = None if isinstance(runner, InlineExecutor) else portable_dataset(dataset)
            tasks.append(Task(index, estimator, key, job.suite, travelling))
        if store is not None and rerun_failed:
            store.forget_failed(keys[task.index] for task in tasks)

        # New records are stored the moment they exist; the callback sees them in grid order
        # when they are made in grid order (inline), else as they come.
        # (Skipped runs are new records too, made here: store and report them like the others.)
        fresh = sorted(set(range(len(jobs))) - set(records) | {
            i for i, r in records.items()
            if r.status == "skipped" and (store is None or keys[i] not in store)})
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(jobs), initial=len(jobs) - len(fresh), unit="run", leave=False,
                       dynamic_ncols=True)
        in_order = isinstance(runner, InlineExecutor)
        announced = 0

        def announce(record: Record) -> None:
            if on_record is not None:
                on_record(record)
            if bar is not None:
                bar.set_postfix_str(f"{record.estimator} on {record.dataset}", refresh=False)
                bar.update(1)

        def finish(index: int, record: Record) -> None:
            nonlocal announced
            records[index] = record
            if store is not None:
                store.append(record)
            if not in_order:
                announce(record)
                return
            while announced < len(fresh) and fresh[announced] in records:
                announce(records[fresh[announced]])
                announced += 1

        for index in fresh:
            if index in records:  # skipped
                finish(index, records[index])
        try:
            if tasks:
                runner.map(tasks, RecordWork(), finish)
        finally:
            if bar is not None:
                bar.close()
    finally:
        # Here, not only after the runs: an error or Ctrl-C while the grid is set up (datasets
        # built, networks trained) must not leave the store's directory locked.
        if store is not None:
            store.close()
        if owned:
            runner.close()
    return [records[index] for index in range(len(jobs))]


def _describe(executor: Executor) -> str:
    details = [executor.name]
    for attribute in ("jobs", "timeout", "address"):
        value = getattr(executor, attribute, None)
        if value is not None:
            details.append(f"{attribute}={value}")
    return ", ".join(details)
