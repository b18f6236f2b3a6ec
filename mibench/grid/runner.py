"""The grid runner: estimator x dataset x n x seed -> records.

Records are the only thing the runner produces. A run that raises becomes a record with status
``failed`` and the error text; the rest of the grid goes on, and every finished record can be
handed to a callback as it arrives, so nothing is lost when a later run fails or the user stops
the grid.

One run path: :func:`run` and :func:`run_grid` (and through them the CLI) build the same jobs and
hand them to one function, which resolves each dataset once, pairs each estimator with each
dataset once (:func:`prepare`), asks the result store what is done, and gives the rest to an
executor as :class:`~mibench.grid.executors.Task` objects carrying the prepared estimator and what
the run needs of its dataset. The executor (:mod:`mibench.grid.executors`: inline, serial, local
processes, Dask) knows nothing of the runner; it calls the runner's :class:`RecordWork`. Which
executor runs a grid by default is decided in one place, :func:`default_executor`, for the CLI and
the API alike. With ``out=DIR`` the records go to a result store (:mod:`mibench.grid.store`) as
they finish, and a run already stored is not done again. A grid can also come from a TOML file
(:mod:`mibench.grid.files`, :func:`run_grid`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mibench._version import __version__
from mibench.core.contracts import (
    NOISY_CHANNEL,
    QUANTITIES,
    Dataset,
    Estimator,
    Record,
    canonical_params,
    estimator_identity,
    estimator_version,
)
from mibench.core.errors import error_text
from mibench.core.records import params_text
from mibench.core.validation import InputError, check_integer
from mibench.datasets import DEFAULT_SUITE_TAG, dataset_tags, get_dataset, list_datasets
from mibench.datasets.suites import SUITES, get_suite, suite_of
from mibench.estimators import get_estimator, get_estimator_class, list_estimators
from mibench.grid.executors import Executor, InlineExecutor, SampleKey, Task, make_executor
from mibench.grid.files import MAX_RUNS, Grid
from mibench.grid.store import run_key

__all__ = [
    "MAX_RUNS",
    "MAX_SEEDS_PER_BATCH",
    "RecordWork",
    "SeedGroupResult",
    "batches_seeds",
    "check_grid_size",
    "default_executor",
    "default_suite",
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


def _scoring_fields(dataset: str | Dataset, suite: str | None) -> dict[str, Any]:
    """What scoring needs of a run's dataset and suite, carried by its record so that stored
    records are scored without the registry: the suite's scoring, the dataset's tags and
    every suite that holds the dataset."""
    scoring = None
    if suite is not None:
        try:
            scoring = get_suite(suite).scoring
        except ValueError:  # a suite name this version does not know
            scoring = None
    name = dataset if isinstance(dataset, str) else dataset.name
    try:
        if not isinstance(dataset, str) and name not in list_datasets():
            raise ValueError(name)  # a Dataset object only (a sample in memory): no hints needed
        tags = dataset_tags(name)
    except ValueError:  # not registered: in no suite, whatever tags a Dataset object carries
        tags = None if isinstance(dataset, str) else dataset.tags
        return {"scoring": scoring, "tags": None if tags is None else sorted(tags), "suites": []}
    return {"scoring": scoring, "tags": sorted(tags),
            "suites": [s.name for s in SUITES if s.tag in tags]}


def _record(estimator: Estimator, dataset: str | Dataset, n: int, seed: int, suite: str | None,
            **fields) -> Record:
    return Record(
        estimator=estimator_identity(estimator),
        params=canonical_params(estimator),
        dataset=dataset if isinstance(dataset, str) else dataset.name,
        n=n,
        seed=seed,
        suite=suite,
        mibench_version=__version__,
        estimator_version=estimator_version(estimator),
        **_scoring_fields(dataset, suite),
        **fields,
    )


def _skipped_record(estimator, dataset, n, seed, suite, reason: str) -> Record:
    """Not run: the estimator's quantity is not one the dataset provides (``reason``)."""
    return _record(estimator, dataset, n, seed, suite, estimate=None, truth=None,
                   seconds=0.0, status="skipped", error=reason)


def _run_prepared(estimator: Estimator, dataset: Dataset, n: int, seed: int, sample: tuple | None,
                  suite: str | None) -> Record:
    """Run an estimator already paired with ``dataset`` (:func:`prepare`); never raises.

    ``dataset`` may be the light copy of :func:`portable_dataset` when ``sample`` is given.
    """
    truth, extras = _truth_of(dataset)
    seconds = 0.0
    try:
        x, y = sample if sample is not None else draw(dataset, n, seed, estimator.quantity)
        start = time.perf_counter()
        result = estimator.estimate_with_extras(x, y)
        seconds = time.perf_counter() - start
        if not math.isfinite(result.value):
            raise FloatingPointError(f"the estimator returned {result.value}")
    except Exception as error:
        return _record(estimator, dataset, n, seed, suite, estimate=None, truth=truth,
                       seconds=seconds, status="failed", error=error_text(error), extras=extras)
    extras.update(result.extras)
    return _record(estimator, dataset, n, seed, suite, estimate=result.value, truth=truth,
                   seconds=seconds, status="ok", error=None, extras=extras)


def run_one(
    estimator: Estimator,
    dataset: str | Dataset,
    n: int,
    seed: int,
    sample: tuple | None = None,
    suite: str | None = None,
) -> Record:
    """Run one estimator on one dataset at one sample size and seed; never raises.

    The grid runner does not call this: it resolves and pairs once per grid and runs the
    prepared estimator; this is the same run for a caller holding one estimator and one
    dataset.

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
    suite = suite_of(dataset_name, suite)
    try:
        dataset = resolve_dataset(dataset)
        configured, reason = prepare(estimator, dataset)
    except Exception as error:
        return _record(estimator, dataset, n, seed, suite, estimate=None, truth=None,
                       seconds=0.0, status="failed", error=error_text(error))
    if configured is None:
        return _skipped_record(estimator, dataset, n, seed, suite, reason)
    return _run_prepared(configured, dataset, n, seed, sample, suite)


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
        if isinstance(value, dict) and key in list_estimators():
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
    return _distinct_estimators(resolved)


def _setting(estimator: Estimator) -> tuple[str, str, str]:
    """What makes two estimators one setting: identity, plugin version, canonical params."""
    return (estimator_identity(estimator), estimator_version(estimator) or "",
            params_text(canonical_params(estimator)))


def _distinct_estimators(estimators: Sequence[Estimator]) -> list[Estimator]:
    """Each setting once (the first given): ``-e ksg -e ksg`` is one estimator, and so are
    ``variant=1`` and ``variant=1.0``."""
    distinct: dict[tuple[str, str, str], Estimator] = {}
    for estimator in estimators:
        distinct.setdefault(_setting(estimator), estimator)
    return list(distinct.values())


def _resolve_datasets(datasets) -> list[str | Dataset]:
    if datasets is None:
        return default_suite()
    resolved: dict[Any, str | Dataset] = {}
    for dataset in _as_list(datasets, "datasets"):
        if isinstance(dataset, str):
            dataset_tags(dataset)  # an unknown name fails now, before any work (nothing is built)
            resolved.setdefault(dataset, dataset)
        elif isinstance(dataset, Dataset):
            resolved.setdefault(id(dataset), dataset)
        else:
            raise InputError(f"datasets must be names or Dataset objects, got {dataset!r}")
    return list(resolved.values())


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
    """The record of a run that could not finish (timed out, its process died), with the truth
    where ``dataset`` is a Dataset (a name is not resolved here)."""
    dataset_name = dataset if isinstance(dataset, str) else dataset.name
    truth, extras = (None, {}) if isinstance(dataset, str) else _truth_of(dataset)
    return _record(estimator, dataset, n, seed, suite_of(dataset_name, suite),
                   estimate=None, truth=truth, seconds=0.0, status="failed", error=reason,
                   extras=extras)


#: At most this many seeds of one estimator setting, dataset and sample size are trained as one
#: batch (:meth:`~mibench.estimators.neural.estimators.NeuralEstimator.estimate_seeds`).
MAX_SEEDS_PER_BATCH = 10


def batches_seeds(estimator: Estimator) -> bool:
    """Whether the runner trains several seeds of ``estimator`` together: it has an
    ``estimate_seeds(samples, seeds)`` method and a ``seed`` parameter (the neural bounds)."""
    return callable(getattr(estimator, "estimate_seeds", None)) and "seed" in estimator.get_params()


@dataclass(frozen=True)
class SeedGroupResult:
    """The records of a seed group, one per seed in the group's order.

    ``lost`` is the reason when the group could not finish as a whole (its process timed out or
    died, its samples could not be drawn): the runner then runs its seeds again one by one, so
    that one slow seed does not fail the others.
    """

    records: tuple[Record, ...]
    lost: str | None = None


def _run_seed_group(estimator: Estimator, dataset: Dataset, n: int, seeds: tuple[int, ...],
                    samples: Sequence[tuple], suite: str | None) -> SeedGroupResult:
    """Run ``estimator`` on the sample of each seed, training all seeds at once; never raises.

    Each record is what :func:`_run_prepared` gives that seed alone (the estimator's own
    ``seed`` parameter seeds every run's training, as it does one run at a time), up to the
    float32 rounding of the batched training; its ``seconds`` is the group's time divided by
    the number of seeds, and ``extras["batch_seconds"]`` the group's time.
    """
    truth, truth_extras = _truth_of(dataset)
    training_seed = estimator.get_params()["seed"]
    start = time.perf_counter()
    try:
        outcomes = estimator.estimate_seeds(list(samples), [training_seed] * len(seeds),
                                            return_exceptions=True)
    except Exception:  # a sample the batch refuses: each seed alone gives its own error
        return SeedGroupResult(tuple(_run_prepared(estimator, dataset, n, seed, sample, suite)
                                     for seed, sample in zip(seeds, samples)))
    elapsed = time.perf_counter() - start
    records = []
    for seed, outcome in zip(seeds, outcomes):
        if not isinstance(outcome, Exception) and not math.isfinite(outcome.value):
            outcome = FloatingPointError(f"the estimator returned {outcome.value}")
        failed = isinstance(outcome, Exception)
        extras = dict(truth_extras) if failed else {**truth_extras, **outcome.extras,
                                                    "batch_seconds": elapsed}
        records.append(_record(estimator, dataset, n, seed, suite,
                               estimate=None if failed else outcome.value, truth=truth,
                               seconds=elapsed / len(seeds), status="failed" if failed else "ok",
                               error=error_text(outcome) if failed else None, extras=extras))
    return SeedGroupResult(tuple(records))


@dataclass(frozen=True)
class RecordWork:
    """The work of a grid run, handed to an executor: draw a sample, run one task on it, or
    make the failed record of a task that could not finish.

    A task the runner made carries its prepared estimator and its dataset (the Dataset, or the
    light copy of :func:`portable_dataset` for another process), so a run neither resolves
    nor pairs anything again. ``datasets`` holds the Datasets the runner resolved in this
    process, for drawing; it does not travel (a copy of the work in another process resolves
    a dataset by name, once, where it draws).
    """

    datasets: Mapping[str, Dataset] = field(default_factory=dict, compare=False, repr=False,
                                            kw_only=True)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("datasets", None)  # samplers are local functions and hold networks
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "datasets", {})

    def _dataset(self, dataset: str | Dataset) -> Dataset:
        if isinstance(dataset, Dataset):
            return dataset
        found = self.datasets.get(dataset)
        if found is None:
            found = get_dataset(dataset)
            if isinstance(self.datasets, dict):
                self.datasets[dataset] = found
        return found

    def draw(self, key: SampleKey) -> Any:
        dataset = self._dataset(key.dataset)
        if isinstance(key.seed, tuple):  # a seed group: every seed's sample
            return [draw(dataset, key.n, seed, key.quantity) for seed in key.seed]
        return draw(dataset, key.n, key.seed, key.quantity)

    def run(self, task: Task, sample: Any) -> Record | SeedGroupResult:
        key = task.sample
        if isinstance(key.seed, tuple):
            dataset, estimator = task.dataset, task.estimator
            if dataset is None:  # made by hand: resolve and pair here
                try:
                    dataset = self._dataset(key.dataset)
                    estimator, reason = prepare(estimator, dataset)
                    if estimator is None:
                        raise InputError(reason)
                except Exception as error:
                    return self.failed(task, error_text(error))
            return _run_seed_group(estimator, dataset, key.n, key.seed, sample, task.suite)
        if task.dataset is None:  # a task made by hand, not by the runner: pair it here
            return run_one(task.estimator, key.dataset, key.n, key.seed, sample=sample,
                           suite=task.suite)
        return _run_prepared(task.estimator, task.dataset, key.n, key.seed, sample, task.suite)

    def failed(self, task: Task, reason: str) -> Record | SeedGroupResult:
        key = task.sample
        dataset = task.dataset or key.dataset
        if isinstance(dataset, str):  # a task made by hand: the record still gets the truth
            try:
                dataset = self._dataset(dataset)
            except Exception:  # the dataset itself is the problem; the reason says so
                pass
        if isinstance(key.seed, tuple):
            return SeedGroupResult(tuple(failed_record(task.estimator, dataset, key.n, seed,
                                                       reason, suite=task.suite)
                                         for seed in key.seed), lost=reason)
        return failed_record(task.estimator, dataset, key.n, key.seed, reason, suite=task.suite)


def _seed_groups(tasks: list[Task], workers: int = 1) -> tuple[list[Task], dict[int, list[Task]]]:
    """Replace the tasks of each estimator that batches seeds (:func:`batches_seeds`) by seed
    groups: one task per (estimator setting, dataset, n, quantity, suite) and up to
    :data:`MAX_SEEDS_PER_BATCH` seeds, keyed by a tuple of seeds and indexed by its first
    member. Returns the new task list (in grid order of first members) and each group's
    member tasks."""
    grouped: dict[Any, list[Task]] = {}
    open_group: dict[tuple, int] = {}  # the batch each setting's next seed joins
    order: list[int] = []
    batching: dict[int, bool] = {}
    for task in tasks:
        key = task.sample
        if id(task.estimator) not in batching:
            batching[id(task.estimator)] = batches_seeds(task.estimator)
        dataset = key.dataset if isinstance(key.dataset, str) else id(key.dataset)
        setting = (id(task.estimator), dataset, key.n, key.quantity, task.suite)
        group = open_group.get(setting)
        if (not batching[id(task.estimator)] or group is None
                or len(grouped[group]) == MAX_SEEDS_PER_BATCH):
            group = len(order)
            order.append(group)
            grouped[group] = []
            if batching[id(task.estimator)]:
                open_group[setting] = group
        grouped[group].append(task)
    # Fewer tasks than workers (one neural setting on one dataset, say): split the largest
    # batches, so that no worker sits idle while one trains every seed.
    while len(order) < workers and any(len(grouped[g]) > 1 for g in order):
        largest = max(order, key=lambda g: len(grouped[g]))
        half = len(grouped[largest]) // 2
        new = max(grouped) + 1
        grouped[new], grouped[largest] = grouped[largest][half:], grouped[largest][:half]
        order.insert(order.index(largest) + 1, new)
    result: list[Task] = []
    members: dict[int, list[Task]] = {}
    for group in order:
        tasks_of = grouped[group]
        first = tasks_of[0]
        if len(tasks_of) == 1:
            result.append(first)
            continue
        seeds = tuple(task.sample.seed for task in tasks_of)
        key = dataclasses.replace(first.sample, seed=seeds)
        result.append(dataclasses.replace(first, sample=key))
        members[first.index] = tasks_of
    return result, members


def check_grid_size(runs: int, allow_large: bool = False, limit: int | None = None) -> int:
    """Refuse a grid of more than ``limit`` (default :data:`MAX_RUNS`) runs unless
    ``allow_large`` (``--yes``).

    A typo (``last = 99999999`` in a seed range) must not start a grid that fills the disk
    before it prints anything. Returns ``runs``.
    """
    limit = MAX_RUNS if limit is None else limit
    if runs > limit and not allow_large:
        raise InputError(
            f"the grid has {runs:,} runs, more than the {limit:,} mibench runs without asking; "
            "check its sizes and seeds, and confirm with --yes (allow_large=True from Python)"
        )
    return runs


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
    on_start: Callable[[int, int], None] | None = None,
    allow_large: bool = False,
    batch_seeds: bool = True,
) -> list[Record]:
    """Run every estimator on every dataset, sample size and seed.

    Parameters
    ----------
    estimators : name, Estimator, or a list of them
        Each setting once: the same name (with the same parameters) or an equal setting given
        twice is run once.
    datasets : name, Dataset, or a list of them; default the datasets of ``suite``, or the
        built-in default suite (``mibench list datasets --tag default`` shows it). Each once.
    n : int or list of int, default 5000
        Sample sizes (each once).
    seeds : int or list of int, default (0,)
        Seeds of the samples drawn from each dataset (each once).
    params : dict, optional
        Parameters of the estimators given by name: ``{"ksg": {"k": 5}}`` (or ``{"ksg.k": 5}``)
        for one estimator, ``{"k": 5}`` for every named estimator that takes ``k``
        (:func:`resolve_params`).
    suite : str, optional
        A suite name (:data:`mibench.datasets.suites.SUITES`, e.g. ``"beyond-normal-v2"``): run its
        datasets when none are given, and score the runs under it. By default each dataset's
        runs are scored under the first suite that holds it.
    workers : int, default 1
        Runs side by side (``--jobs``); see :func:`default_executor`.
    executor : {"inline", "serial", "processes", "dask"} or Executor, optional
        Where the runs are done (:mod:`mibench.grid.executors`); by default
        :func:`default_executor` chooses, as it does for the CLI.
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
    on_start : callable, optional
        Called once before any run starts with (runs in the grid, runs already in the store).
    allow_large : bool, default False
        Run a grid of more than :data:`MAX_RUNS` runs (``--yes``); refused otherwise.
    batch_seeds : bool, default True
        Train the seeds of an estimator that can (the neural bounds, :func:`batches_seeds`)
        together: up to :data:`MAX_SEEDS_PER_BATCH` seeds of one setting, dataset and n as one
        batched model, each seed with the record it would get alone (up to float32 rounding).
        Such a batch may take ``timeout`` times its number of seeds; one that times out or
        dies is run again seed by seed. False (``--no-batch-seeds``): one run at a time.

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
    sizes = list(dict.fromkeys(check_integer(size, "n", minimum=1)
                               for size in _as_list(n, "sample sizes")))
    seed_list = list(dict.fromkeys(check_integer(seed, "seed", minimum=0)
                                   for seed in _as_list(seeds, "seeds")))
    check_grid_size(len(estimator_list) * len(dataset_list) * len(sizes) * len(seed_list),
                    allow_large)
    jobs = [
        _Job(estimator, dataset, size, seed, suite)
        for dataset in dataset_list
        for size in sizes
        for seed in seed_list
        for estimator in estimator_list
    ]
    described = {
        "estimators": [{"name": estimator_identity(e), "params": canonical_params(e)}
                       for e in estimator_list],
        "datasets": [d if isinstance(d, str) else d.name for d in dataset_list],
        "n": sizes,
        "seeds": seed_list,
        "suite": suite,
    }
    return _run_jobs(jobs, described, workers=workers, executor=executor, timeout=timeout,
                     address=address, out=out, rerun_failed=rerun_failed, progress=progress,
                     on_record=on_record, on_start=on_start, batch_seeds=batch_seeds)


def run_grid(grid: Grid | str | Path, *, allow_large: bool = False, **options) -> list[Record]:
    """Run a grid (:mod:`mibench.grid.files`, or the path of a TOML grid file).

    ``options`` are those of :func:`run` from ``workers`` on (executor, timeout, out,
    on_start, ...); a grid of more than :data:`MAX_RUNS` runs needs ``allow_large=True``.
    """
    from mibench.grid.files import load_grid

    if not isinstance(grid, Grid):
        grid = load_grid(grid)
    check_grid_size(grid.runs, allow_large)
    estimator_list = grid.build_estimators()
    jobs = [
        _Job(estimator, dataset, size, seed, grid.suite_of.get(dataset))
        for dataset in grid.datasets
        for size in grid.sizes
        for seed in grid.seeds
        for estimator in estimator_list
    ]
    return _run_jobs(jobs, grid.source, **options)


def default_executor(workers: int = 1, timeout: float | None = None,
                     address: str | None = None) -> str:
    """THE default executor, for the CLI and the API alike (docs/grid.md, Executors).

    ``dask`` with a scheduler ``address``; ``processes`` for more than one worker; ``serial``
    (one isolated worker process) when a run may time out, since only a process can be
    stopped; else ``inline``, in this process, which costs nothing to start and runs Dataset
    objects and estimators of any class.
    """
    if address:
        return "dask"
    if workers > 1:
        return "processes"
    if timeout is not None:
        return "serial"
    return "inline"


def _choose_executor(executor, workers, timeout, address) -> tuple[Executor, bool]:
    """The executor to use, and whether it was made here (and so is closed here)."""
    if isinstance(executor, Executor):
        return executor, False
    if executor is None:
        executor = default_executor(workers, timeout, address)
    return make_executor(executor, jobs=workers, timeout=timeout, address=address), True


class _Pairing:
    """Each dataset of a grid resolved once, each (estimator, dataset) paired once."""

    def __init__(self, travels: bool):
        self.travels = travels
        self.datasets: dict[Any, Dataset] = {}
        self.portable: dict[int, Dataset] = {}
        self.pairs: dict[tuple[int, int], tuple[Estimator | None, str | None]] = {}

    def dataset(self, dataset: str | Dataset) -> Dataset:
        key = dataset if isinstance(dataset, str) else id(dataset)
        if key not in self.datasets:
            self.datasets[key] = resolve_dataset(dataset)
        return self.datasets[key]

    def pair(self, estimator: Estimator, dataset: Dataset) -> tuple[Estimator | None, str | None]:
        key = (id(estimator), id(dataset))
        if key not in self.pairs:
            self.pairs[key] = prepare(estimator, dataset)
        return self.pairs[key]

    def travelling(self, dataset: Dataset) -> Dataset:
        """What a task carries of its dataset: the Dataset in this process, else a light copy."""
        if not self.travels:
            return dataset
        if id(dataset) not in self.portable:
            self.portable[id(dataset)] = portable_dataset(dataset)
        return self.portable[id(dataset)]


def _run_jobs(jobs: list[_Job], described: dict[str, Any], *, workers: int = 1,
              executor: str | Executor | None = None, timeout: float | None = None,
              address: str | None = None, out: str | Path | None = None,
              rerun_failed: bool = False, progress: bool = False,
              on_record: Callable[[Record], None] | None = None,
              on_start: Callable[[int, int], None] | None = None,
              batch_seeds: bool = True) -> list[Record]:
    workers = check_integer(workers, "workers", minimum=1)
    runner, owned = _choose_executor(executor, workers, timeout, address)
    store = None
    try:
        inline = isinstance(runner, InlineExecutor)
        if not inline and any(isinstance(job.dataset, Dataset) for job in jobs):
            raise InputError(f"the {runner.name} executor needs datasets given by name "
                             "(registered datasets); Dataset objects run with executor='inline'")
        if out is not None:
            from mibench.grid.provenance import collect, record_provenance
            from mibench.grid.store import ResultStore

            store = ResultStore(out)
            record_provenance(out, collect(described, _describe(runner)))

        pairing = _Pairing(travels=not inline)
        records: dict[int, Record] = {}
        tasks: list[Task] = []
        keys = {}
        suites: dict[tuple[str, str | None], str | None] = {}
        for index, job in enumerate(jobs):
            dataset = pairing.dataset(job.dataset)
            configured, reason = pairing.pair(job.estimator, dataset)
            estimator = configured or job.estimator
            if (dataset.name, job.suite) not in suites:
                suites[(dataset.name, job.suite)] = suite_of(dataset.name, job.suite)
            suite = suites[(dataset.name, job.suite)]
            if store is not None:
                keys[index] = run_key(estimator, dataset.name, job.n, job.seed, __version__)
                if store.is_done(keys[index], rerun_failed):
                    records[index] = store.get(keys[index])
                    continue
            if configured is None:
                records[index] = _skipped_record(job.estimator, dataset, job.n, job.seed,
                                                 suite, reason)
                continue
            # Inline, the sample key holds the Dataset itself, so drawing resolves nothing.
            key = SampleKey(dataset if inline else dataset.name, job.n, job.seed,
                            estimator.quantity)
            tasks.append(Task(index, estimator, key, suite, pairing.travelling(dataset)))
        if store is not None and rerun_failed:
            store.forget_failed(keys[task.index] for task in tasks)

        # New records are stored the moment they exist; the callback sees them in grid order
        # when they are made in grid order (inline), else as they come.
        # (Skipped runs are new records too, made here: store and report them like the others.)
        fresh = sorted(set(range(len(jobs))) - set(records) | {
            i for i, r in records.items()
            if r.status == "skipped" and (store is None or keys[i] not in store)})
        if on_start is not None:
            on_start(len(jobs), len(jobs) - len(fresh))
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(jobs), initial=len(jobs) - len(fresh), unit="run", leave=False,
                       dynamic_ncols=True)
        in_order = inline
        announced = 0

        def announce(record: Record) -> None:
            if on_record is not None:
                on_record(record)
            if bar is not None:
                bar.set_postfix_str(f"{record.estimator} on {record.dataset}", refresh=False)
                bar.update(1)

        members: dict[int, list[Task]] = {}
        if batch_seeds:
            tasks, members = _seed_groups(tasks, workers)
        lost: list[Task] = []

        def finish(index: int, record: Record | SeedGroupResult) -> None:
            nonlocal announced
            if isinstance(record, SeedGroupResult):
                if record.lost is not None:  # timed out or died as a whole: seed by seed
                    lost.extend(members[index])
                    return
                for member, member_record in zip(members[index], record.records):
                    finish(member.index, member_record)
                return
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
                named = {name: d for name, d in pairing.datasets.items() if isinstance(name, str)}
                work = RecordWork(datasets=named)
                runner.map(tasks, work, finish)
                if lost:
                    runner.map(sorted(lost, key=lambda task: task.index), work, finish)
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
