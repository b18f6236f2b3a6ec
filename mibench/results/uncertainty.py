"""How sure each score is: bootstrap intervals over seeds, the spread of every task over
seeds, the coverage of the estimators' own standard errors, and the convergence of neural runs.

Every number here is computed from records alone, in nats, like the scores themselves
(:mod:`mibench.results.scoring`), and uses that module's definition of "solved".

- :func:`bootstrap_scores`: for every (estimator, params, n) on every "solved" suite, a
  percentile interval (95 % by default) for the number of tasks solved and for the median
  |log(estimate / truth)|, over seeds: the seeds of the configuration are drawn with
  replacement (one draw for all its tasks, so whatever a seed shares across tasks stays
  together), each task's estimate is averaged over the drawn seeds, and the suite is scored
  again. It measures how much the score would move with other seeds; it says nothing about
  tasks that were not run.
- :func:`task_spreads`: per (estimator, params, dataset, n), the mean estimate, its standard
  deviation over seeds, the bias (mean - truth) and the RMSE over seeds.
- :func:`stderr_coverage`: for the estimators that report their own standard error (the
  ``stderr`` of a record's extras: ``noisy-sp``'s Monte Carlo error, the neural held-out
  average's), how often estimate +- z se (with the truth's own standard error added in
  quadrature) holds the truth. A nominal 95 % interval that covers far less than 95 % says the
  standard error leaves out the larger part of the error (training, bias).
- :func:`convergence` and :func:`converged_only`: the share of neural runs whose
  ``diagnostics`` say they converged (the checks of the Beyond-Normal reference, bmi), and the
  records without the runs that did not, to score converged runs only as bmi's tables do.

:func:`write_uncertainty` puts all of it into a report directory (``mibench report``).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from mibench.core.contracts import Record
from mibench.core.validation import InputError
from mibench.results.scoring import (
    SOLVED_RATIO,
    _scored_under,
    aggregate,
    params_key,
    record_suite,
    score_suites,
)

__all__ = [
    "LEVEL",
    "RESAMPLES",
    "ConvergenceShare",
    "Coverage",
    "ScoreInterval",
    "TaskSpread",
    "bootstrap_scores",
    "converged_only",
    "convergence",
    "interval_suffixes",
    "stderr_coverage",
    "task_spreads",
    "Section",
    "plot_task_spreads",
    "uncertainty_markdown",
    "uncertainty_sections",
    "write_uncertainty",
]

#: The confidence level of every interval, unless one is asked for.
LEVEL = 0.95
#: Bootstrap resamples of the seeds.
RESAMPLES = 2000


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise InputError(f"level must be a probability strictly between 0 and 1, got {level!r}")
    return float(level)


# --- bootstrap intervals of the suite scores ------------------------------------------------


@dataclass(frozen=True)
class ScoreInterval:
    """A suite score with its bootstrap interval over seeds. MI errors in nats (log ratios).

    Attributes
    ----------
    estimator, params, n, suite
        What was scored, as in :class:`mibench.results.scoring.SuiteScore`.
    seeds : int
        The distinct seeds the configuration ran (what is resampled).
    scored : int
        Tasks with a finite, positive truth that were run.
    solved : int
        Tasks solved with all seeds (equal to ``SuiteScore.solved``).
    solved_low, solved_high : int
        The percentile interval of the solved count over the resamples (the lower and upper
        order statistics, so both are counts).
    median_abs_log_ratio, median_low, median_high : float
        The median |log(estimate / truth)| with all seeds (equal to the SuiteScore's) and its
        percentile interval; nan where no scored task has a successful run.
    level : float
        The interval's confidence level (0.95: a 95 % interval).
    resamples : int
    """

    estimator: str
    params: dict[str, Any]
    n: int
    suite: str | None
    seeds: int
    scored: int
    solved: int
    solved_low: int
    solved_high: int
    median_abs_log_ratio: float
    median_low: float
    median_high: float
    level: float
    resamples: int


def _seed_table(records: Sequence[Record], seeds: Sequence[int]):
    """Per seed: the estimate (0 where none), whether it is usable, whether the run failed."""
    by_seed = {record.seed: record for record in records}  # a rerun replaces the earlier run
    values = np.zeros(len(seeds))
    ok = np.zeros(len(seeds))
    failed = np.zeros(len(seeds))
    for i, seed in enumerate(seeds):
        record = by_seed.get(seed)
        if record is None:
            continue
        if record.status == "ok" and record.estimate is not None:
            values[i], ok[i] = record.estimate, 1.0
        elif record.status == "failed":
            failed[i] = 1.0
    return values, ok, failed


def bootstrap_scores(
    records: Iterable[Record],
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> list[ScoreInterval]:
    """Bootstrap intervals over seeds of the solved count and the median error, per
    (estimator, params, n) and "solved" suite.

    Each resample draws as many seeds as the configuration ran, with replacement, from them
    (the same draw for every task); every task's estimate is the mean of its successful runs
    over the drawn seeds (a seed drawn twice counts twice), a drawn failed run fails the task,
    and the suite is scored by :data:`mibench.results.scoring.SOLVED_RATIO` as
    :func:`~mibench.results.scoring.score_suites` scores it. With one seed the interval is the
    point value: there is nothing to resample.

    Parameters
    ----------
    records : iterable of Record
    level : float
        Confidence level of the percentile intervals, in (0, 1).
    resamples : int
        Number of bootstrap resamples.
    seed : int
        Seed of the resampling, so a report is reproducible.

    Returns
    -------
    list of ScoreInterval
        In the order of :func:`~mibench.results.scoring.score_suites`.
    """
    level = _check_level(level)
    if resamples < 1:
        raise InputError(f"resamples must be a positive number, got {resamples!r}")
    records = list(records)
    rng = np.random.default_rng(seed)
    selected = {record_suite(record) for record in records} - {None}
    by_cell: dict[tuple, list[Record]] = {}
    for record in records:
        key = (record.estimator, params_key(record.params), record.dataset, record.n)
        by_cell.setdefault(key, []).append(record)

    results = []
    weights_of: dict[tuple, np.ndarray] = {}
    seeds_of: dict[tuple, list[int]] = {}
    cells_of: dict[tuple, list] = {}
    for score in score_suites(records):
        if score.scoring != "solved" or not score.datasets:
            continue
        configuration = (score.estimator, params_key(score.params), score.n)
        if configuration not in weights_of:
            seeds = sorted({r.seed for key, group in by_cell.items()
                            if (key[0], key[1], key[3]) == configuration for r in group})
            seeds_of[configuration] = seeds
            # Row 0: every seed once (the point value); then the resamples' seed counts.
            weights_of[configuration] = np.vstack([
                np.ones(len(seeds)),
                rng.multinomial(len(seeds), np.full(len(seeds), 1 / len(seeds)), size=resamples),
            ])
            cells_of[configuration] = [
                (cell, _scored_under(cell, selected)) for cell in aggregate(
                    r for key, group in by_cell.items()
                    if (key[0], key[1], key[3]) == configuration for r in group
                )
                if cell.scorable
            ]
        seeds, weights = seeds_of[configuration], weights_of[configuration]
        cells = [cell for cell, suites in cells_of[configuration] if score.suite in suites]
        solved = np.zeros(weights.shape[0], dtype=int)
        errors = np.full((weights.shape[0], len(cells)), np.nan)
        for column, cell in enumerate(cells):
            runs = by_cell[(cell.estimator, params_key(cell.params), cell.dataset, cell.n)]
            values, ok, failed = _seed_table(runs, seeds)
            counts = weights @ ok
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (weights @ values) / counts
                ratio = np.abs(np.log(means / cell.truth))
            has_estimate = counts > 0
            positive = has_estimate & (means > 0)
            errors[:, column] = np.where(positive, ratio, np.where(has_estimate, np.inf, np.nan))
            any_failed = (weights @ failed) > 0
            solved += positive & ~any_failed & (ratio < math.log(SOLVED_RATIO))
        medians = _nanmedian_rows(errors)
        tail = (1 - level) / 2
        results.append(ScoreInterval(
            estimator=score.estimator,
            params=dict(score.params),
            n=score.n,
            suite=score.suite,
            seeds=len(seeds),
            scored=len(cells),
            solved=int(solved[0]),
            solved_low=int(np.quantile(solved[1:], tail, method="lower")),
            solved_high=int(np.quantile(solved[1:], 1 - tail, method="higher")),
            median_abs_log_ratio=float(medians[0]),
            median_low=_quantile(medians[1:], tail, "lower"),
            median_high=_quantile(medians[1:], 1 - tail, "higher"),
            level=level,
            resamples=resamples,
        ))
    return results


def _nanmedian_rows(values: np.ndarray) -> np.ndarray:
    """The median of each row over its non-nan entries (inf counts); nan for an all-nan row."""
    medians = np.full(values.shape[0], np.nan)
    for i, row in enumerate(values):
        kept = row[~np.isnan(row)]
        if kept.size:
            medians[i] = np.median(kept)
    return medians


def _quantile(values: np.ndarray, q: float, method: str) -> float:
    kept = values[~np.isnan(values)]
    return float(np.quantile(kept, q, method=method)) if kept.size else math.nan


def interval_suffixes(records: Iterable[Record], *, level: float = LEVEL,
                      resamples: int = RESAMPLES, seed: int = 0) -> dict[tuple, str]:
    """For the CLI summary: per (estimator, params key, suite, n) scored on at least two seeds,
    the text " (95 % interval over seeds: solved a-b, median |log ratio| c-d)"."""
    texts = {}
    for i in bootstrap_scores(records, level=level, resamples=resamples, seed=seed):
        if i.seeds < 2:
            continue
        median = (f", median |log ratio| {_fmt(i.median_low)}-{_fmt(i.median_high)}"
                  if not math.isnan(i.median_abs_log_ratio) else "")
        texts[(i.estimator, params_key(i.params), i.suite, i.n)] = (
            f" ({100 * i.level:g} % interval over seeds: solved {i.solved_low}-{i.solved_high}"
            f"{median})"
        )
    return texts


# --- the spread of each task over seeds ----------------------------------------------------


@dataclass(frozen=True)
class TaskSpread:
    """The successful runs of one (estimator, params, dataset, n) over seeds. All in nats.

    Attributes
    ----------
    runs : int
        Successful runs (seeds) the numbers are computed from; ``failed`` runs are left out.
    mean : float
        Mean estimate over the runs.
    sd : float
        Standard deviation of the estimates over seeds (ddof 1; nan for one run).
    stderr_of_mean : float
        sd / sqrt(runs): how far the mean may be from the estimator's expectation.
    bias : float
        mean - truth (nan where the truth is infinite or unknown).
    rmse : float
        sqrt(mean over runs of (estimate - truth)^2) = sqrt(bias^2 + (runs - 1)/runs sd^2).
    """

    estimator: str
    params: dict[str, Any]
    dataset: str
    n: int
    suite: str | None
    truth: float | None
    runs: int
    failed: int
    mean: float
    sd: float
    stderr_of_mean: float
    bias: float
    rmse: float


def task_spreads(records: Iterable[Record]) -> list[TaskSpread]:
    """Mean, standard deviation over seeds, bias and RMSE of every (estimator, params,
    dataset, n), in the order the cells first appear."""
    groups: dict[tuple, list[Record]] = {}
    for record in records:
        if record.status == "skipped":
            continue
        key = (record.estimator, params_key(record.params), record.dataset, record.n)
        groups.setdefault(key, []).append(record)
    spreads = []
    for runs in groups.values():
        estimates = np.array([r.estimate for r in runs if r.status == "ok" and r.estimate is not None])
        truth = next((r.truth for r in runs if r.truth is not None), None)
        finite_truth = truth is not None and math.isfinite(truth)
        count = estimates.size
        mean = float(estimates.mean()) if count else math.nan
        sd = float(estimates.std(ddof=1)) if count > 1 else math.nan
        spreads.append(TaskSpread(
            estimator=runs[0].estimator,
            params=dict(runs[0].params),
            dataset=runs[0].dataset,
            n=runs[0].n,
            suite=record_suite(runs[0]),
            truth=truth,
            runs=count,
            failed=sum(r.status == "failed" for r in runs),
            mean=mean,
            sd=sd,
            stderr_of_mean=sd / math.sqrt(count) if count > 1 else math.nan,
            bias=mean - truth if finite_truth and count else math.nan,
            rmse=float(np.sqrt(np.mean((estimates - truth) ** 2))) if finite_truth and count else math.nan,
        ))
    return spreads


# --- the estimators' own standard errors against the truth -----------------------------------


@dataclass(frozen=True)
class Coverage:
    """How often an estimator's own interval, estimate +- z se, holds the truth.

    Attributes
    ----------
    runs : int
        Successful runs that report a standard error and have a finite truth.
    covered : int
        Of those, the runs with |estimate - truth| <= z sqrt(se^2 + se_truth^2), z the
        standard normal quantile of (1 + level) / 2 and se_truth the truth's own standard
        error where it is only known numerically.
    fraction : float
        covered / runs; should be about ``level`` if the standard errors are honest.
    median_stderr : float
        The median reported standard error, in nats.
    """

    estimator: str
    params: dict[str, Any]
    runs: int
    covered: int
    fraction: float
    median_stderr: float
    level: float


def stderr_coverage(records: Iterable[Record], *, level: float = LEVEL) -> list[Coverage]:
    """Coverage of the intervals built from each run's ``stderr`` (extras), per (estimator,
    params); configurations with no such run are left out."""
    level = _check_level(level)
    z = float(stats.norm.ppf((1 + level) / 2))
    groups: dict[tuple, list[tuple[bool, float]]] = {}
    names: dict[tuple, tuple[str, dict]] = {}
    for record in records:
        stderr = record.extras.get("stderr")
        if (record.status != "ok" or record.estimate is None or stderr is None
                or record.truth is None or not math.isfinite(record.truth)):
            continue
        combined = math.hypot(stderr, record.extras.get("truth_stderr") or 0.0)
        key = (record.estimator, params_key(record.params))
        names.setdefault(key, (record.estimator, dict(record.params)))
        groups.setdefault(key, []).append((abs(record.estimate - record.truth) <= z * combined, stderr))
    return [
        Coverage(
            estimator=names[key][0],
            params=names[key][1],
            runs=len(hits),
            covered=sum(hit for hit, _ in hits),
            fraction=sum(hit for hit, _ in hits) / len(hits),
            median_stderr=statistics.median(se for _, se in hits),
            level=level,
        )
        for key, hits in groups.items()
    ]


# --- convergence of the neural runs ----------------------------------------------------------


@dataclass(frozen=True)
class ConvergenceShare:
    """The neural runs of one (estimator, params) and what their diagnostics say.

    ``runs`` counts the successful runs with ``diagnostics``; ``converged`` those whose
    diagnostics say ``converged``; ``stopped_early``, ``still_rising`` and
    ``training_dropped`` count each of bmi's checks.
    """

    estimator: str
    params: dict[str, Any]
    runs: int
    converged: int
    fraction: float
    stopped_early: int
    still_rising: int
    training_dropped: int


def convergence(records: Iterable[Record]) -> list[ConvergenceShare]:
    """The share of converged runs per (estimator, params), over the runs with diagnostics."""
    groups: dict[tuple, list[dict]] = {}
    names: dict[tuple, tuple[str, dict]] = {}
    for record in records:
        diagnostics = record.extras.get("diagnostics")
        if record.status != "ok" or not isinstance(diagnostics, dict):
            continue
        key = (record.estimator, params_key(record.params))
        names.setdefault(key, (record.estimator, dict(record.params)))
        groups.setdefault(key, []).append(diagnostics)
    return [
        ConvergenceShare(
            estimator=names[key][0],
            params=names[key][1],
            runs=len(found),
            converged=sum(bool(d.get("converged")) for d in found),
            fraction=sum(bool(d.get("converged")) for d in found) / len(found),
            stopped_early=sum(bool(d.get("stopped_early")) for d in found),
            still_rising=sum(bool(d.get("training_still_rising")) for d in found),
            training_dropped=sum(bool(d.get("training_dropped")) for d in found),
        )
        for key, found in groups.items()
    ]


def converged_only(records: Iterable[Record]) -> list[Record]:
    """The records without the successful runs whose diagnostics say they did not converge.

    Runs without diagnostics (classical estimators) and failed runs are kept, so a task whose
    every run is dropped disappears from its configuration's score rather than counting as
    failed: the converged-only score is bmi's "converged only" table, not a penalty.
    """
    return [
        record for record in records
        if not (record.status == "ok" and isinstance(record.extras.get("diagnostics"), dict)
                and not record.extras["diagnostics"].get("converged"))
    ]


# --- the report ------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _label(estimator: str, params: dict[str, Any], varying: dict[str, set[str]]) -> str:
    shown = {k: v for k, v in params.items() if len(varying.get(k, ())) > 1}
    return estimator + (f" ({', '.join(f'{k}={v}' for k, v in shown.items())})" if shown else "")


def _varying(items) -> dict[str, dict[str, set[str]]]:
    seen: dict[str, dict[str, set[str]]] = {}
    for item in items:
        for name, value in item.params.items():
            seen.setdefault(item.estimator, {}).setdefault(name, set()).add(repr(value))
    return seen


@dataclass(frozen=True)
class Section:
    """One section of a report: a title, a note and a table of text cells, rendered as markdown
    (:meth:`markdown`) or HTML (:meth:`html`) from the same cells."""

    title: str
    note: str
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()

    def markdown(self) -> str:
        lines = ["", f"## {self.title}", "", self.note]
        if self.header:
            def cells(texts) -> str:
                return "| " + " | ".join(text.replace("|", "\\|") for text in texts) + " |"

            lines += ["", cells(self.header),
                      "|" + "|".join("---" if i == 0 else "---:"
                                     for i in range(len(self.header))) + "|"]
            lines += [cells(row) for row in self.rows]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        from html import escape

        text = f"<h2>{escape(self.title)}</h2>\n<p class=\"note\">{escape(self.note)}</p>\n"
        if self.header:
            head = "".join(f"<th>{escape(h)}</th>" for h in self.header)
            cell = ('<td>{}</td>', '<td class="num">{}</td>')
            body = "\n".join(
                "<tr>" + "".join(cell[i > 0].format(escape(c)) for i, c in enumerate(row))
                + "</tr>"
                for row in self.rows)
            text += (f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n"
                     "</tbody>\n</table>\n")
        return text


def uncertainty_sections(
    records: Iterable[Record],
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
) -> list[Section]:
    """The report's sections on uncertainty: what the leaderboard's intervals over seeds are
    (the intervals themselves are in the leaderboard's table), the converged share and
    converged-only scores of the neural runs, and the coverage of the estimators' own
    standard errors. Empty sections are left out."""
    records = list(records)
    percent = f"{100 * level:g} %"
    sections = [Section(
        f"Intervals over seeds ({percent} bootstrap)",
        f"The bracketed intervals of the leaderboard are {percent} percentile intervals over "
        f"{resamples} bootstrap resamples of the seeds (the seeds a configuration ran, drawn "
        "with replacement, one draw for all its tasks; each task's estimate averaged over the "
        "drawn seeds, then scored as above). They show how much a score moves with the seeds, "
        "not with the choice of tasks; with one seed there is none. Per task, the mean, the "
        "standard deviation over seeds, the bias and the RMSE: task_spread.csv, drawn in "
        "task_spread.png (each task's mean / truth with +- one standard deviation); the "
        "intervals are drawn in intervals.png.",
    )]

    shares = convergence(records)
    if shares:
        converged_scores = {
            (s.estimator, params_key(s.params), s.suite, s.n): s
            for s in score_suites(converged_only(records)) if s.scoring == "solved"
        }
        varying = _varying(shares)
        rows = []
        for share in shares:
            key = (share.estimator, params_key(share.params))
            solved = "; ".join(
                f"{s.suite}: {s.solved} / {s.scored}" for (e, k, _, _), s in converged_scores.items()
                if (e, k) == key
            )
            rows.append((
                _label(share.estimator, share.params, varying.get(share.estimator, {})),
                str(share.runs), f"{share.converged} ({100 * share.fraction:.0f} %)",
                str(share.stopped_early), str(share.still_rising), str(share.training_dropped),
                solved or "-",
            ))
        sections.append(Section(
            "Convergence of the neural runs",
            "A run converged when early stopping ended it (where enabled) and its training "
            "bound, smoothed over a tenth of the steps, was neither still rising by more than "
            "5 % nor more than 5 % below its peak at the end: the checks of the Beyond-Normal "
            "reference (bmi). Converged-only scores leave the other runs out, as bmi's "
            "converged-only tables do (a task left with no run drops out of the count).",
            ("estimator", "runs", "converged", "early stop triggered", "training still rising",
             "training fell from its peak", "converged-only solved"),
            tuple(rows),
        ))

    coverages = stderr_coverage(records, level=level)
    if coverages:
        varying = _varying(coverages)
        sections.append(Section(
            "Coverage of the estimators' own standard errors",
            f"Runs that report a standard error (stderr): the share whose {percent} interval, "
            "estimate +- z se (with the truth's own standard error added in quadrature), holds "
            f"the truth; about {level:g} if the standard error were the whole error. The neural "
            "standard error covers only the held-out evaluation given the trained critic, not "
            "the training or the bias of the bound.",
            ("estimator", "runs with a standard error", "covered",
             "median standard error [nats]"),
            tuple((_label(c.estimator, c.params, varying.get(c.estimator, {})), str(c.runs),
                   f"{c.covered} ({100 * c.fraction:.0f} %)", _fmt(c.median_stderr, 4))
                  for c in coverages),
        ))
    return sections


def uncertainty_markdown(records: Iterable[Record], *, level: float = LEVEL,
                         resamples: int = RESAMPLES) -> str:
    """:func:`uncertainty_sections` as markdown."""
    return "".join(section.markdown()
                   for section in uncertainty_sections(records, level=level, resamples=resamples))


def write_task_spreads(records: Iterable[Record], path: str | Path) -> Path:
    """Write :func:`task_spreads` as CSV (nats), one row per (estimator, params, dataset, n)."""
    path = Path(path)
    fields = ["estimator", "params", "dataset", "n", "suite", "truth", "runs", "failed", "mean",
              "sd", "stderr_of_mean", "bias", "rmse"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for spread in task_spreads(records):
            row = [getattr(spread, name) for name in fields]
            row[1] = params_key(spread.params)
            writer.writerow(row)
    return path


def _short(label: str, width: int = 48) -> str:
    """A label cut to ``width`` characters for a figure's axis (the markdown has them whole)."""
    return label if len(label) <= width else label[: width - 3] + "..."


def plot_intervals(intervals: Sequence[ScoreInterval], path: str | Path) -> Path:
    """Solved count and median error per configuration with their bootstrap intervals (error
    bars), one row of panels per suite; written as PNG."""
    # A Figure without pyplot renders with Agg and leaves the user's backend alone.
    from matplotlib.figure import Figure

    path = Path(path)
    by_suite: dict[str | None, list[ScoreInterval]] = {}
    for interval in intervals:
        by_suite.setdefault(interval.suite, []).append(interval)
    rows = max(1, len(by_suite))
    height = max(2.5, sum(0.3 * len(g) + 1.2 for g in by_suite.values()))
    figure = Figure(figsize=(12, height), layout="constrained")
    axes = figure.subplots(rows, 2, squeeze=False)
    varying = _varying(intervals)
    for row, (suite, group) in enumerate(by_suite.items()):
        group = sorted(group, key=lambda i: i.solved)
        labels = [_short(_label(i.estimator, i.params, varying.get(i.estimator, {})))
                  for i in group]
        positions = np.arange(len(group))
        for column, (point, low, high, title) in enumerate((
            ([i.solved for i in group], [i.solved_low for i in group],
             [i.solved_high for i in group], "tasks solved"),
            ([i.median_abs_log_ratio for i in group], [i.median_low for i in group],
             [i.median_high for i in group], "median |log(estimate / truth)|"),
        )):
            axis = axes[row, column]
            point, low, high = (np.asarray(v, dtype=float) for v in (point, low, high))
            finite = np.isfinite(point) & np.isfinite(low) & np.isfinite(high)
            errors = np.vstack([np.where(finite, point - low, 0), np.where(finite, high - point, 0)])
            axis.errorbar(np.where(np.isfinite(point), point, np.nan), positions, xerr=errors,
                          fmt="o", capsize=3)
            axis.set_yticks(positions, labels if column == 0 else [""] * len(labels))
            axis.set_title(f"{suite or 'no suite'}: {title}", fontsize=9)
            axis.grid(axis="x", alpha=0.3)
    if not by_suite:
        axes[0, 0].text(0.5, 0.5, "no suite scored by solved", ha="center")
    level = intervals[0].level if intervals else LEVEL
    figure.suptitle(f"{100 * level:g} % bootstrap intervals over seeds", fontsize=10)
    figure.savefig(path, dpi=120)
    return path


def plot_task_spreads(records: Iterable[Record], path: str | Path) -> Path:
    """Every task's mean estimate over seeds against its truth, with +- one standard deviation
    over seeds: one panel per configuration (estimator, params, n), the tasks with a finite,
    positive truth along x in order of their truth, mean / truth on a log scale on y, the
    band of the solved criterion (a factor 1.5) shaded. Written as PNG."""
    from matplotlib.figure import Figure

    from mibench.results.scoring import SOLVED_RATIO

    path = Path(path)
    spreads = [s for s in task_spreads(records)
               if s.truth is not None and math.isfinite(s.truth) and s.truth > 0 and s.runs]
    tasks = sorted({(s.truth, s.dataset) for s in spreads})
    position = {dataset: i for i, (_, dataset) in enumerate(tasks)}
    varying = _varying(spreads)
    several_n = len({s.n for s in spreads}) > 1
    panels: dict[str, list[TaskSpread]] = {}
    for spread in spreads:
        label = _label(spread.estimator, spread.params, varying.get(spread.estimator, {}))
        panels.setdefault(label + (f", n={spread.n}" if several_n else ""), []).append(spread)
    columns = min(3, max(1, len(panels)))
    rows = max(1, math.ceil(len(panels) / columns))
    figure = Figure(figsize=(5 * columns, 2.6 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    for axis, (label, group) in zip(axes.flat, panels.items()):
        x = np.array([position[s.dataset] for s in group])
        truth = np.array([s.truth for s in group])
        ratio = np.array([s.mean for s in group]) / truth
        sd = np.nan_to_num(np.array([s.sd for s in group]) / truth)
        # A log axis: a bar reaching below 1e-3 (or zero) is cut there, never above its point.
        low = np.minimum(np.clip(ratio - sd, 1e-3, None), ratio)
        shown = ratio > 0
        axis.axhspan(1 / SOLVED_RATIO, SOLVED_RATIO, color="tab:green", alpha=0.12, lw=0)
        axis.axhline(1.0, color="black", lw=0.6)
        axis.errorbar(x[shown], ratio[shown],
                      yerr=[(ratio - low)[shown], sd[shown]], fmt="o", ms=2.5, lw=0.8)
        if (~shown).any():  # a non-positive mean cannot be drawn on a log axis: mark it
            axis.plot(x[~shown], np.full((~shown).sum(), 1.2e-2), "v", color="tab:red", ms=3)
        # Means off the axis are drawn on its edge as arrows, not lost.
        for off, edge, marker in ((shown & (ratio > 1e2), 0.85e2, "^"),
                                  (shown & (ratio < 1e-2), 1.2e-2, "v")):
            if off.any():
                axis.plot(x[off], np.full(off.sum(), edge), marker, color="tab:orange", ms=3)
        axis.set_yscale("log")
        axis.set_ylim(1e-2, 1e2)
        axis.set_title(_short(label, 60), fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    for axis in axes.flat[len(panels):]:
        axis.set_visible(False)
    for axis in axes[:, 0]:
        axis.set_ylabel("mean estimate / truth")
    for axis in axes[-1, :]:
        axis.set_xlabel("task, in order of its true MI")
    if not panels:
        axes[0, 0].set_visible(True)
        axes[0, 0].text(0.5, 0.5, "no task with a finite, positive truth", ha="center",
                        transform=axes[0, 0].transAxes)
    figure.suptitle("Each task's mean over seeds / truth, +- one standard deviation over seeds "
                    f"(shaded: within a factor {SOLVED_RATIO:g}; red: mean <= 0; orange: off the "
                    "axis)", fontsize=9)
    figure.savefig(path, dpi=110)
    return path


def write_uncertainty(
    records: Iterable[Record],
    output_dir: str | Path,
    *,
    leaderboard: str | Path | None = None,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, Path]:
    """Write ``task_spread.csv`` and ``intervals.png`` into ``output_dir``, and append the
    sections of :func:`uncertainty_markdown` to ``leaderboard`` (a markdown file) if given.

    Returns
    -------
    dict of str to Path
        ``{"task_spread": ..., "intervals": ...}``.
    """
    records = list(records)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    intervals = bootstrap_scores(records, level=level, resamples=resamples, seed=seed)
    paths = {
        "task_spread": write_task_spreads(records, output_dir / "task_spread.csv"),
        "task_spread_figure": plot_task_spreads(records, output_dir / "task_spread.png"),
        "intervals": plot_intervals(intervals, output_dir / "intervals.png"),
    }
    if leaderboard is not None:
        with Path(leaderboard).open("a", encoding="utf-8") as handle:
            handle.write(uncertainty_markdown(records, level=level, resamples=resamples))
    return paths

