"""The grid runner: estimator x dataset x n x seed -> records.

Records are the only thing the runner produces. A run that raises becomes a record with status
``failed`` and the error text; the rest of the grid goes on, and every finished record can be
handed to a callback as it arrives, so nothing is lost when a later run fails or the user stops
the grid.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from mibench.datasets import DEFAULT_SUITE_TAG, get_dataset, list_datasets
from mibench.estimators import get_estimator
from mibench.interface import Dataset, Estimator, Record
from mibench.validation import check_integer

__all__ = ["run", "run_one", "default_suite"]


def default_suite() -> list[str]:
    """The datasets ``mibench run`` uses when none is named."""
    return list_datasets(DEFAULT_SUITE_TAG)


@dataclass(frozen=True)
class _Job:
    estimator: Estimator
    dataset: str | Dataset
    n: int
    seed: int


def _error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    if not isinstance(error, ValueError):
        # Not a validation error: the user will want to know where it came from.
        text += "\n" + "".join(traceback.format_exception(error)[-3:]).rstrip()
    return text


def run_one(estimator: Estimator, dataset: str | Dataset, n: int, seed: int) -> Record:
    """Run one estimator on one dataset at one sample size and seed; never raises."""
    dataset_name = dataset if isinstance(dataset, str) else dataset.name
    truth: float | None = None
    extras: dict[str, Any] = {}
    seconds = 0.0
    try:
        if isinstance(dataset, str):
            dataset = get_dataset(dataset)
        if dataset.truth_is_known:
            truth = dataset.mutual_information
            if dataset.mutual_information_stderr > 0:
                extras["truth_stderr"] = dataset.mutual_information_stderr
        x, y = dataset.sample(n, seed)
        start = time.perf_counter()
        result = estimator.estimate_with_extras(x, y)
        seconds = time.perf_counter() - start
        if not math.isfinite(result.value):
            raise FloatingPointError(f"the estimator returned {result.value}")
    except Exception as error:
        return Record(
            estimator=estimator.name,
            params=estimator.get_params(),
            dataset=dataset_name,
            n=n,
            seed=seed,
            estimate=None,
            truth=truth,
            seconds=seconds,
            status="failed",
            error=_error_text(error),
            extras=extras,
        )
    extras.update(result.extras)
    return Record(
        estimator=estimator.name,
        params=estimator.get_params(),
        dataset=dataset_name,
        n=n,
        seed=seed,
        estimate=result.value,
        truth=truth,
        seconds=seconds,
        status="ok",
        error=None,
        extras=extras,
    )


def _run_job(job: _Job) -> Record:
    return run_one(job.estimator, job.dataset, job.n, job.seed)


def _as_list(value, kind) -> list:
    if isinstance(value, (str, Estimator, Dataset, int)):
        return [value]
    values = list(value)
    if not values:
        raise ValueError(f"no {kind} given")
    return values


def _resolve_estimators(estimators, params) -> list[Estimator]:
    resolved = []
    for estimator in _as_list(estimators, "estimators"):
        if isinstance(estimator, Estimator):
            if params:
                raise ValueError("params apply to estimators given by name, not to instances")
            resolved.append(estimator)
        else:
            resolved.append(get_estimator(estimator, **(params or {})))
    return resolved


def _resolve_datasets(datasets) -> list[str | Dataset]:
    if datasets is None:
        return default_suite()
    resolved = []
    for dataset in _as_list(datasets, "datasets"):
        if isinstance(dataset, str):
            get_dataset(dataset)  # an unknown name fails now, before any work is done
        elif not isinstance(dataset, Dataset):
            raise ValueError(f"datasets must be names or Dataset objects, got {dataset!r}")
        resolved.append(dataset)
    return resolved


def run(
    estimators: str | Estimator | Iterable[str | Estimator],
    datasets: str | Dataset | Iterable[str | Dataset] | None = None,
    n: int | Sequence[int] = 5000,
    seeds: int | Sequence[int] = (0,),
    params: dict[str, Any] | None = None,
    *,
    workers: int = 1,
    progress: bool = False,
    on_record: Callable[[Record], None] | None = None,
) -> list[Record]:
    """Run every estimator on every dataset, sample size and seed.

    Parameters
    ----------
    estimators : name, Estimator, or a list of them
    datasets : name, Dataset, or a list of them; default the built-in suite
        (``mibench list datasets`` shows it).
    n : int or list of int, default 5000
        Sample sizes.
    seeds : int or list of int, default (0,)
        Seeds of the samples drawn from each dataset.
    params : dict, optional
        Parameters for the estimators given by name, e.g. ``{"k": 5}``.
    workers : int, default 1
        Processes running the grid in parallel; 1 runs it in this process.
    progress : bool, default False
        Show a progress bar on standard error.
    on_record : callable, optional
        Called with each record as soon as it is finished (in grid order).

    Returns
    -------
    list of Record
        In grid order: dataset, then n, then seed, then estimator.
    """
    estimator_list = _resolve_estimators(estimators, params)
    dataset_list = _resolve_datasets(datasets)
    sizes = [check_integer(size, "n", minimum=1) for size in _as_list(n, "sample sizes")]
    seed_list = [check_integer(seed, "seed", minimum=0) for seed in _as_list(seeds, "seeds")]
    workers = check_integer(workers, "workers", minimum=1)
    jobs = [
        _Job(estimator, dataset, size, seed)
        for dataset in dataset_list
        for size in sizes
        for seed in seed_list
        for estimator in estimator_list
    ]

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), unit="run", leave=False, dynamic_ncols=True)

    records: list[Record] = []

    def finish(record: Record) -> None:
        records.append(record)
        if on_record is not None:
            on_record(record)
        if bar is not None:
            bar.set_postfix_str(f"{record.estimator} on {record.dataset}", refresh=False)
            bar.update(1)

    try:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                finish(_run_job(job))
        else:
            _run_in_processes(jobs, workers, finish)
    finally:
        if bar is not None:
            bar.close()
    return records


def _run_in_processes(jobs: list[_Job], workers: int, finish: Callable[[Record], None]) -> None:
    unpicklable = [job for job in jobs if isinstance(job.dataset, Dataset)]
    if unpicklable:
        raise ValueError("workers > 1 needs datasets given by name (registered datasets)")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_job, job) for job in jobs]
        for job, future in zip(jobs, futures):
            try:
                record = future.result()
            except BrokenProcessPool as error:
                # A worker died (out of memory, a crash in compiled code): record it, go on.
                record = Record(
                    estimator=job.estimator.name,
                    params=job.estimator.get_params(),
                    dataset=str(job.dataset),
                    n=job.n,
                    seed=job.seed,
                    estimate=None,
                    truth=None,
                    seconds=0.0,
                    status="failed",
                    error=f"the worker process died: {error}",
                )
            finish(record)
