"""Records as text: a table and a summary for people, JSON and CSV for programs.

Records hold nats; the unit is converted here, at display time only.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

from mibench.core.contracts import RECORD_KEYS, Record
from mibench.core.formatting import format_number
from mibench.core.records import json_safe
from mibench.results.scoring import (
    SOLVED_RATIO,
    SuiteScore,
    configuration_labels,
    is_scorable,
    is_solved,
    params_key,
    record_scoring,
    record_suite,
    score_suites,
    to_unit,
)

__all__ = [
    "format_number",
    "records_csv",
    "records_json",
    "records_summary",
    "records_table",
    "score_line",
    "seeds_text",
]


def _display_record(record: Record, unit: str) -> dict:
    data = record.to_dict()
    data["estimate"] = to_unit(record.estimate, unit)
    data["truth"] = to_unit(record.truth, unit)
    return data


def records_json(records: Sequence[Record], unit: str = "nats") -> str:
    """A JSON array of records with exactly the keys of :data:`RECORD_KEYS`.

    An infinite truth is the string "inf" (JSON has no infinity); estimate and truth are in
    ``unit``.
    """
    rows = [json_safe(_display_record(record, unit)) for record in records]
    return json.dumps(rows, indent=2)


def records_csv(records: Sequence[Record], unit: str = "nats") -> str:
    """CSV with a header of :data:`RECORD_KEYS`; params, tags and suites as JSON in one cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(RECORD_KEYS), lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = json_safe(_display_record(record, unit))
        row["params"] = json.dumps(row["params"], sort_keys=True)
        for key in ("tags", "suites"):  # lists as JSON in one cell, like params
            if row.get(key) is not None:
                row[key] = json.dumps(row[key])
        writer.writerow(row)
    return buffer.getvalue()


def _error_cell(record: Record, unit: str) -> str:
    if not record.ok or record.truth is None or math.isinf(record.truth):
        return "-"
    return format_number(to_unit(record.estimate - record.truth, unit))


def _within_cell(record: Record) -> str:
    """This run against the factor-1.5 band, on suites scored by "solved" only."""
    if not record.ok:
        return "FAILED"
    if record_scoring(record) != "solved" or not is_scorable(record.truth):
        return ""
    return "yes" if is_solved(record.estimate, record.truth) else "no"


def _truth_cell(record: Record, unit: str) -> str:
    text = format_number(to_unit(record.truth, unit))
    stderr = record.extras.get("truth_stderr")
    if stderr:
        text += f" ± {format_number(to_unit(stderr, unit), 3)}"
    return text


def _first_line(text: str | None) -> str:
    return text.splitlines()[0] if text else ""


def records_table(records: Sequence[Record], unit: str = "nats") -> str:
    """A fixed-width table per suite: dataset, n, seed, truth, estimate, error, a per-run
    "within 1.5x" column (suites scored by "solved"), seconds.

    With several seeds the per-run column is left out: a task is solved or not by its
    seed-averaged estimate (:func:`mibench.results.scoring.score_suites`, in the summary), and a per-run
    verdict beside it would read as a second score.

    The estimator and its non-default columns (n, seed) appear only when they vary; an
    estimator run in several settings is labelled by the parameters that vary
    (:func:`mibench.results.scoring.configuration_labels`: ``ksg(k=3)``, ``ksg(k=10)``). Skipped
    runs (an estimator of another quantity than the dataset provides) are not rows: a line
    under the table counts them, with the reason.
    """
    shown = [r for r in records if r.status != "skipped"]
    labels = configuration_labels((r.estimator, r.params) for r in records)

    def label(record: Record) -> str:
        return labels[(record.estimator, params_key(record.params))]

    show_estimator = len({(r.estimator, params_key(r.params)) for r in shown}) > 1
    show_n = len({r.n for r in shown}) > 1
    show_seed = len({r.seed for r in shown}) > 1
    per_run = [] if show_seed else ["within 1.5x"]
    header = (
        (["estimator"] if show_estimator else [])
        + ["dataset"]
        + (["n"] if show_n else [])
        + (["seed"] if show_seed else [])
        + [f"truth [{unit}]", f"estimate [{unit}]", "error", *per_run, "seconds"]
    )
    by_suite: dict[str | None, list[Record]] = {}
    for record in shown:
        by_suite.setdefault(record_suite(record), []).append(record)
    rows: list[list[str] | str] = []
    failures = []
    for suite, group in by_suite.items():
        if len(by_suite) > 1:
            rows.append(f"[{suite or 'datasets in no suite'}]")
        for record in group:
            estimate = format_number(to_unit(record.estimate, unit)) if record.ok else "failed"
            rows.append(
                ([label(record)] if show_estimator else [])
                + [record.dataset]
                + ([str(record.n)] if show_n else [])
                + ([str(record.seed)] if show_seed else [])
                + [
                    _truth_cell(record, unit),
                    estimate,
                    _error_cell(record, unit),
                    *([_within_cell(record)] if per_run else []),
                    f"{record.seconds:.2f}",
                ]
            )
            if not record.ok:
                failures.append(f"  {label(record)} on {record.dataset} (n={record.n}, "
                                f"seed={record.seed}): {_first_line(record.error)}")
    cells = [row for row in rows if not isinstance(row, str)]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *cells)]
    numeric = {i for i, name in enumerate(header) if name not in ("estimator", "dataset")}

    def line(cells):
        return "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        ).rstrip()

    lines = [line(header), line(["-" * w for w in widths])]
    lines += [row if isinstance(row, str) else line(row) for row in rows]
    if shown:
        caption = []
        if not show_estimator:
            params = ", ".join(f"{k}={v!r}" for k, v in shown[0].params.items())
            caption.append(f"{shown[0].estimator}({params})")
        if not show_n:
            caption.append(f"n = {shown[0].n}")
        if not show_seed:
            caption.append(f"sample seed = {shown[0].seed}")
        if caption:
            lines.insert(0, ", ".join(caption))
    if failures:
        lines += ["", "Failed runs:"] + failures
    skipped: dict[tuple[str, str], int] = {}
    for record in records:
        if record.status == "skipped":
            reason = _first_line(record.error).split("; ")[0]
            skipped[(label(record), reason)] = skipped.get((label(record), reason), 0) + 1
    if skipped:
        lines += ["", "Not run (the dataset does not provide what the estimator estimates):"]
        lines += [f"  {estimator}: {count} runs ({reason})"
                  for (estimator, reason), count in skipped.items()]
    return "\n".join(lines)


def seeds_text(score: SuiteScore) -> str:
    """The denominator of a score: n and the number of seeds."""
    return f"n={score.n}, {score.seeds} seed{'s' if score.seeds != 1 else ''}"


def score_line(score: SuiteScore, unit: str) -> str:
    """A suite score in words, as its suite is scored (solved, bias, or layer errors)."""
    def value(nats: float) -> str:
        return f"{format_number(to_unit(nats, unit))} {unit}"

    if score.scoring == "solved":
        text = (f"solved {score.solved} of {score.scored} tasks"
                + (f" (median |log(estimate/truth)| {score.median_abs_log_ratio:.3f})"
                   if not math.isnan(score.median_abs_log_ratio) else ""))
    elif score.scoring == "bias":
        text = f"{score.datasets} pairs with true MI 0"
        if not math.isnan(score.mean_estimate):
            text += (f": mean estimate {value(score.mean_estimate)}, largest |estimate| "
                     f"{value(score.largest_abs_estimate)}")
    else:
        def errors(count, what, mean, largest):
            if math.isnan(mean):
                return f"{count} {what}, none estimated"
            return f"{count} {what}: mean |error| {value(mean)}, largest {value(largest)}"

        parts = []
        if score.noisy:
            parts.append(errors(score.noisy, "noisy", score.noisy_mean_abs_error,
                                score.noisy_largest_abs_error))
        if score.finite_truth:
            parts.append(errors(score.finite_truth, "deterministic with a finite truth",
                                score.mean_abs_error, score.largest_abs_error))
        if score.infinite_truth:
            estimates = score.infinite_estimates
            text = f"{score.infinite_truth} deterministic with an infinite truth"
            if estimates:
                text += (f": estimates {format_number(to_unit(min(estimates), unit))} to "
                         f"{value(max(estimates))}" if len(estimates) > 1
                         else f": estimate {value(estimates[0])}")
            if not math.isnan(score.growth_per_decade):
                text += (f", growing {format_number(to_unit(score.growth_per_decade, unit), 2)} "
                         f"{unit} per decade of n")
            parts.append(text)
        # One line per kind of layer: they are read separately.
        text = f"{score.datasets} layer{'s' if score.datasets != 1 else ''}:" + "".join(
            f"\n      {part}" for part in parts
        )
    return text


def records_summary(records: Sequence[Record], unit: str = "nats") -> str:
    """Per estimator configuration, one line per suite and n with that suite's own score and
    denominator (:func:`mibench.results.scoring.score_suites`), then runs, failures, skips and time."""
    scores = score_suites(records)
    # Issue 21: each solved count with its bootstrap interval over seeds (results.uncertainty).
    from mibench.results.uncertainty import interval_suffixes

    intervals = interval_suffixes(records)
    labels = configuration_labels((r.estimator, r.params) for r in records)
    paragraphs = []
    configurations = list(dict.fromkeys((s.estimator, params_key(s.params)) for s in scores))
    any_layers = any(s.scoring == "layers" and s.infinite_truth for s in scores)
    for estimator, key in configurations:
        own = [s for s in scores if (s.estimator, params_key(s.params)) == (estimator, key)
               and s.datasets]
        group = [r for r in records if (r.estimator, params_key(r.params)) == (estimator, key)]
        width = max((len(s.suite or "no suite") for s in own), default=0)
        lines = [f"{labels.get((estimator, key), estimator)}:"]
        lines += [f"  {(s.suite or 'no suite').ljust(width)}  {seeds_text(s)}: {score_line(s, unit)}"
                  + intervals.get((s.estimator, key, s.suite, s.n), "")
                  for s in own]
        failed = sum(r.status == "failed" for r in group)
        skipped = sum(r.status == "skipped" for r in group)
        seconds = sum(r.seconds for r in group)
        lines.append(
            f"  {len(group)} runs, {failed} failed"
            + (f", {skipped} skipped (not its quantity)" if skipped else "")
            + f", {seconds:.1f} s spent estimating"
        )
        paragraphs.append("\n".join(lines))
    notes = []
    if any(s.scoring == "solved" and s.datasets for s in scores):
        notes.append(
        f"solved: the estimate averaged over seeds within a factor {SOLVED_RATIO:g} of the true "
        "MI and no failed run (the Beyond-Normal criterion), of the tasks with a finite, "
        "positive true MI.")
    if any_layers:
        notes.append("An infinite true MI (a deterministic layer of a continuous input): any "
                     "finite estimate there describes the estimator, not the network.")
    return "\n".join(paragraphs + notes)
