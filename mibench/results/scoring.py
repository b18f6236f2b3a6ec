"""How estimates are scored against the truth: the Beyond-Normal criterion, seeds combined,
and one score per suite.

All inputs in nats. :func:`score_suites` is the one scoring function: the CLI summary, the
reports and the asv accuracy tracks all call it, so every place counts "solved" the same way.

Scoring is a pure function of the records: each record carries what scoring needs (its
``suite``, the suite's ``scoring`` method, the dataset's ``tags`` and the ``suites`` that hold
the dataset), so a stored record is scored the same whatever mibench is installed when the
report is made. Records written before mibench 0.3 lack those fields; for them only, and only
for the missing field, the installed registry is asked (as 0.2 did), so the report of such an
old store can change with the installed version (:func:`record_suite`, :func:`record_scoring`,
:func:`record_tags`, :func:`record_suites`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mibench.core.records import params_text

__all__ = [
    "NATS_PER_BIT",
    "SOLVED_RATIO",
    "Cell",
    "SuiteScore",
    "aggregate",
    "configuration_labels",
    "is_scorable",
    "is_solved",
    "log_ratio",
    "params_key",
    "record_scoring",
    "record_suite",
    "record_suites",
    "record_tags",
    "rise_per_decade",
    "score_suites",
    "suite_scoring",
    "to_unit",
    "varying_params",
]

#: Beyond-Normal's criterion: an estimate solves a task when it is within a factor 1.5 of the
#: truth, |log(estimate / truth)| < log 1.5.
SOLVED_RATIO = 1.5

NATS_PER_BIT = math.log(2.0)


def is_scorable(truth: float | None) -> bool:
    """Whether the criterion applies: the truth is finite and positive (not 0, inf or unknown)."""
    return truth is not None and math.isfinite(truth) and truth > 0


def log_ratio(estimate: float | None, truth: float | None) -> float:
    """log(estimate / truth); nan where the criterion does not apply or the estimate is <= 0."""
    if estimate is None or not is_scorable(truth) or not estimate > 0:
        return math.nan
    return math.log(estimate / truth)


def is_solved(estimate: float | None, truth: float | None) -> bool:
    """|log(estimate / truth)| < log 1.5; False for a failed run or a non-positive estimate."""
    if estimate is None or not is_scorable(truth):
        return False
    if not estimate > 0:
        return False
    return abs(math.log(estimate / truth)) < math.log(SOLVED_RATIO)


def to_unit(value_in_nats: float | None, unit: str) -> float | None:
    """Convert nats to "nats" or "bits" for display; None and inf pass through."""
    if unit not in ("nats", "bits"):
        raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}")
    if value_in_nats is None or unit == "nats":
        return value_in_nats
    return value_in_nats / NATS_PER_BIT


# --- Seeds combined, and one score per suite ---------------------------------------------


def params_key(params: dict[str, Any]) -> str:
    """A canonical text of an estimator's parameters, to group records by configuration
    (:func:`mibench.core.records.params_text`)."""
    return params_text(params)


@dataclass(frozen=True)
class Cell:
    """The runs of one (estimator, params, dataset, n), seeds combined.

    Attributes
    ----------
    estimate : float or None
        Mean estimate in nats over the successful runs; None when none succeeded.
    truth : float or None
        True MI in nats (``math.inf`` if infinite, None if unknown).
    runs, failed, skipped : int
        Number of runs (seeds), how many failed, and how many were skipped (the estimator's
        quantity is not one the dataset provides).
    seconds : tuple of float
        Time of each successful run.
    error : str or None
        The first failed (or skipped) run's error text.
    suite : str or None
        The suite the (first) run was run under.
    """

    estimator: str
    params: dict[str, Any]
    dataset: str
    n: int
    estimate: float | None
    truth: float | None
    runs: int
    failed: int
    seconds: tuple[float, ...]
    error: str | None
    suite: str | None = None
    skipped: int = 0
    tags: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()

    @property
    def scorable(self) -> bool:
        """The Beyond-Normal criterion applies: finite, positive truth, and the cell ran."""
        return is_scorable(self.truth) and self.skipped < self.runs

    @property
    def solved(self) -> bool:
        """THE definition of solved: the seed-averaged estimate within a factor 1.5 of the
        truth, and no failed run (a failure is never rewarded)."""
        return self.scorable and self.failed == 0 and is_solved(self.estimate, self.truth)

    @property
    def abs_log_ratio(self) -> float:
        """|log(estimate / truth)|: inf for a non-positive estimate, nan when not scorable or
        when every run failed."""
        if not self.scorable or self.estimate is None:
            return math.nan
        if not self.estimate > 0:
            return math.inf
        return abs(log_ratio(self.estimate, self.truth))


def varying_params(settings: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """For each estimator, the names of the parameters whose values differ between its
    settings (``settings``: (estimator, params) pairs), sorted."""
    seen: dict[str, dict[str, set[str]]] = {}
    for estimator, params in settings:
        for name, value in params.items():
            seen.setdefault(estimator, {}).setdefault(name, set()).add(params_text({"v": value}))
    return {estimator: sorted(name for name, values in by_name.items() if len(values) > 1)
            for estimator, by_name in seen.items()}


def configuration_labels(settings: Iterable[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], str]:
    """THE label of each estimator setting, used by every table, summary and report: the
    estimator, with the parameters that differ between its settings (``ksg(k=3)`` and
    ``ksg(k=10)``; plain ``ksg`` when it ran in one setting).

    Parameters
    ----------
    settings : iterable of (str, dict)
        (estimator, params) of every setting shown together.

    Returns
    -------
    dict
        ``(estimator, params_key(params))`` to its label.
    """
    settings = list(settings)
    varying = varying_params(settings)
    labels = {}
    for estimator, params in settings:
        shown = ", ".join(f"{k}={params[k]!r}" for k in varying.get(estimator, ()) if k in params)
        labels[(estimator, params_key(params))] = f"{estimator}({shown})" if shown else estimator
    return labels


def record_suite(record) -> str | None:
    """The suite a record is scored under: the one it names, else (records written before
    suites were recorded) the first installed suite that holds its dataset."""
    if record.suite:
        return record.suite
    from mibench.datasets.suites import suite_of

    return suite_of(record.dataset)


def suite_scoring(suite: str | None) -> str:
    """How the INSTALLED suite ``suite`` is scored ("solved" for None or an unknown suite): the
    fallback for records written before records carried their scoring."""
    if suite is None:
        return "solved"
    from mibench.datasets.suites import get_suite

    try:
        return get_suite(suite).scoring
    except ValueError:  # a suite of another version of mibench
        return "solved"


def record_scoring(record) -> str:
    """How the record's suite is scored: as the record says, else (old records) as the
    installed suite is."""
    scoring = getattr(record, "scoring", None)
    if scoring and record.suite:
        return scoring
    return suite_scoring(record_suite(record))


def _installed_tags(dataset: str) -> frozenset[str] | None:
    from mibench.datasets import dataset_tags

    try:
        return dataset_tags(dataset)
    except ValueError:  # not registered in this version
        return None


def record_tags(record) -> tuple[str, ...]:
    """The dataset's tags: as the record says, else (old records) the installed dataset's."""
    tags = getattr(record, "tags", None)
    if tags is None:
        tags = _installed_tags(record.dataset) or ()
    return tuple(sorted(tags))


def record_suites(record) -> tuple[str, ...]:
    """Every suite that holds the record's dataset: as the record says, else (old records) the
    installed suites whose tag the installed dataset carries; at least its own suite."""
    suites = getattr(record, "suites", None)
    if suites is None:
        from mibench.datasets.suites import SUITES

        tags = _installed_tags(record.dataset) or frozenset()
        suites = [suite.name for suite in SUITES if suite.tag in tags]
    own = record_suite(record)
    return tuple(suites) if own is None or own in suites else (own, *suites)


def aggregate(records: Iterable) -> list[Cell]:
    """Combine the seeds of each (estimator, params, dataset, n) into a :class:`Cell`.

    Cells come in the order their first record appears, so a grid run in the registry's order
    (the Beyond-Normal task order) is reported in that order.
    """
    groups: dict[tuple, list] = {}
    suites: dict[tuple, str | None] = {}
    for record in records:
        key = (record.estimator, params_key(record.params), record.dataset, record.n)
        groups.setdefault(key, []).append(record)
        if key not in suites:
            suites[key] = record_suite(record)
    cells = []
    for key, runs in groups.items():
        ok = [r for r in runs if r.status == "ok"]
        failed = [r for r in runs if r.status == "failed"]
        skipped = [r for r in runs if r.status == "skipped"]
        truth = next((r.truth for r in runs if r.truth is not None), None)
        cells.append(
            Cell(
                estimator=runs[0].estimator,
                params=dict(runs[0].params),
                dataset=runs[0].dataset,
                n=runs[0].n,
                estimate=statistics.fmean(r.estimate for r in ok) if ok else None,
                truth=truth,
                runs=len(runs),
                failed=len(failed),
                seconds=tuple(r.seconds for r in ok),
                error=(failed or skipped)[0].error if (failed or skipped) else None,
                suite=suites[key],
                skipped=len(skipped),
                tags=record_tags(runs[0]),
                suites=record_suites(runs[0]),
            )
        )
    return cells


@dataclass(frozen=True)
class SuiteScore:
    """One estimator configuration at one n on one suite, seeds combined. MI in nats.

    Attributes
    ----------
    estimator, params, n, suite
        What was scored; ``suite`` is None for datasets in no suite.
    scoring : {"solved", "bias", "layers"}
        How the suite is scored (:data:`mibench.datasets.suites.SCORINGS`).
    datasets : int
        The denominator: datasets of the suite that were run (not skipped).
    seeds : int
        The most runs (seeds) of any dataset.
    runs, failed, skipped : int
    solved : int
        "solved" suites: datasets solved (:attr:`Cell.solved`), of ``scored`` datasets with a
        finite, positive truth.
    scored : int
    median_abs_log_ratio : float
        "solved" suites: over the scored datasets with a successful run (nan if none).
    mean_estimate, largest_abs_estimate : float
        "bias" suites (truth 0): the mean and the largest |mean estimate| (nan if none ran).
    noisy, noisy_mean_abs_error, noisy_largest_abs_error : int, float, float
        "layers" suites: noisy (stochastic) layers, whose MI is finite and estimable, and the
        mean and largest |mean estimate - truth| over them.
    finite_truth, mean_abs_error, largest_abs_error : int, float, float
        "layers" suites: deterministic layers with a finite truth (H(L) over a finite input
        set, or I(Y; L)), and the mean and largest |mean estimate - truth| over them.
    infinite_truth : int
        "layers" suites: datasets whose true MI is infinite.
    infinite_estimates : tuple of float
        Their mean estimates (finite numbers that describe the estimator).
    growth_per_decade : float
        "layers" suites: the mean, over the infinite-truth datasets, of the slope of the
        estimate against log10 n across every n this configuration ran (nan for one n).
    median_seconds : float
    """

    estimator: str
    params: dict[str, Any]
    n: int
    suite: str | None
    scoring: str
    datasets: int
    seeds: int
    runs: int
    failed: int
    skipped: int
    solved: int = 0
    scored: int = 0
    median_abs_log_ratio: float = math.nan
    mean_estimate: float = math.nan
    largest_abs_estimate: float = math.nan
    noisy: int = 0
    noisy_mean_abs_error: float = math.nan
    noisy_largest_abs_error: float = math.nan
    finite_truth: int = 0
    mean_abs_error: float = math.nan
    largest_abs_error: float = math.nan
    infinite_truth: int = 0
    infinite_estimates: tuple[float, ...] = ()
    growth_per_decade: float = math.nan
    median_seconds: float = math.nan


def rise_per_decade(sizes: Sequence[float], values: Sequence[float | None]) -> float:
    """Least-squares slope of ``values`` against log10 of ``sizes``: nats per decade of n.

    NaN when fewer than two finite points at distinct sizes remain.
    """
    points = [(math.log10(size), value) for size, value in zip(sizes, values)
              if value is not None and math.isfinite(value)]
    if len({log for log, _ in points}) < 2:
        return math.nan
    return statistics.linear_regression(*zip(*points)).slope


def _growth_per_decade(cells: Sequence[Cell]) -> float:
    """Mean over datasets of :func:`rise_per_decade` of the seed-averaged estimates."""
    by_dataset: dict[str, list[Cell]] = {}
    for cell in cells:
        by_dataset.setdefault(cell.dataset, []).append(cell)
    slopes = [rise_per_decade([c.n for c in group], [c.estimate for c in group])
              for group in by_dataset.values()]
    slopes = [slope for slope in slopes if not math.isnan(slope)]
    return statistics.fmean(slopes) if slopes else math.nan


def _scored_under(cell: Cell, selected: Sequence[str]) -> list[str | None]:
    """The suites a cell counts toward: every suite that was run (``selected``) and holds its
    dataset (as its records say), so a Beyond-Normal v1 task that v2 reuses counts toward v2
    too when v2 was run; its own suite where no selected suite holds it."""
    members = [suite for suite in selected if suite in cell.suites]
    return members or [cell.suite]


def score_suites(records: Iterable) -> list[SuiteScore]:
    """Score every (estimator, params, n) on every suite it ran on: THE one scoring function.

    The CLI summary, ``mibench report`` and the asv accuracy tracks all call it, so the same
    records give the same numbers everywhere. Seeds are averaged first (:func:`aggregate`),
    then each suite is scored its own way (:mod:`mibench.datasets.suites`); no score mixes suites. A
    dataset counts toward every suite that was run and holds it (the 13 Beyond-Normal v1 tasks
    that v2 reuses count toward both when both were run), and toward no suite that was not.

    Returns
    -------
    list of SuiteScore
        In the order the (estimator, params) configurations first appear, then by suite in
        the order the suites first appear in the records (unregistered datasets last), then
        by n.
    """
    records = list(records)
    cells = aggregate(records)
    # Suites in the order they first appear in the records (a grid runs them in registry
    # order), each scored as its records say.
    scorings: dict[str, str] = {}
    for record in records:
        suite = record_suite(record)
        if suite is not None and suite not in scorings:
            scorings[suite] = record_scoring(record)
    selected = list(scorings)
    order = {name: i for i, name in enumerate(selected)}
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        for suite in _scored_under(cell, selected):
            groups.setdefault((cell.estimator, params_key(cell.params), suite, cell.n), []).append(cell)
    configurations = list(dict.fromkeys((cell.estimator, params_key(cell.params)) for cell in cells))
    rank = {configuration: i for i, configuration in enumerate(configurations)}

    scores = []
    for (estimator, key, suite, n), group in groups.items():
        ran = [cell for cell in group if cell.skipped < cell.runs]
        seconds = [s for cell in ran for s in cell.seconds]
        common = dict(
            estimator=estimator,
            params=dict(group[0].params),
            n=n,
            suite=suite,
            scoring=scorings.get(suite, "solved"),
            datasets=len(ran),
            seeds=max(cell.runs for cell in group),
            runs=sum(cell.runs for cell in group),
            failed=sum(cell.failed for cell in group),
            skipped=sum(cell.skipped for cell in group),
            median_seconds=statistics.median(seconds) if seconds else math.nan,
        )
        extra: dict[str, Any] = {}
        if common["scoring"] == "solved":
            scored = [cell for cell in ran if cell.scorable]
            errors = [cell.abs_log_ratio for cell in scored if cell.estimate is not None]
            extra = dict(
                solved=sum(cell.solved for cell in scored),
                scored=len(scored),
                median_abs_log_ratio=statistics.median(errors) if errors else math.nan,
            )
        elif common["scoring"] == "bias":
            estimates = [cell.estimate for cell in ran if cell.estimate is not None]
            if estimates:
                extra = dict(
                    mean_estimate=statistics.fmean(estimates),
                    largest_abs_estimate=max(abs(e) for e in estimates),
                )
        else:
            def is_noisy(cell):
                return "stochastic" in cell.tags

            def abs_errors(group):
                return [abs(c.estimate - c.truth) for c in group if c.estimate is not None]

            noisy = [c for c in ran if is_noisy(c) and c.truth is not None and math.isfinite(c.truth)]
            noisy_errors = abs_errors(noisy)
            finite = [c for c in ran if not is_noisy(c) and c.truth is not None
                      and math.isfinite(c.truth)]
            errors = abs_errors(finite)
            infinite = [c for c in ran if c.truth is not None and math.isinf(c.truth)]
            same_configuration = [
                c for (e, k, s, _), g in groups.items() if (e, k, s) == (estimator, key, suite)
                for c in g if c.truth is not None and math.isinf(c.truth)
            ]
            extra = dict(
                noisy=len(noisy),
                noisy_mean_abs_error=statistics.fmean(noisy_errors) if noisy_errors else math.nan,
                noisy_largest_abs_error=max(noisy_errors) if noisy_errors else math.nan,
                finite_truth=len(finite),
                mean_abs_error=statistics.fmean(errors) if errors else math.nan,
                largest_abs_error=max(errors) if errors else math.nan,
                infinite_truth=len(infinite),
                infinite_estimates=tuple(c.estimate for c in infinite if c.estimate is not None),
                growth_per_decade=_growth_per_decade(same_configuration),
            )
        scores.append(SuiteScore(**common, **extra))
    scores.sort(key=lambda s: (rank[(s.estimator, params_key(s.params))],
                               order.get(s.suite, len(order)), s.n))
    return scores
