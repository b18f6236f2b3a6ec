"""Records as text: a table and a summary for people, JSON and CSV for programs.

Records hold nats; the unit is converted here, at display time only.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from itertools import groupby

from mibench.interface import RECORD_KEYS, Record
from mibench.records_io import json_safe
from mibench.scoring import SOLVED_RATIO, is_scorable, is_solved, to_unit

__all__ = ["format_number", "records_table", "records_summary", "records_json", "records_csv"]


def format_number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if math.isnan(value):
        return "nan"
    return f"{value:.{digits}f}"


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
    """CSV with a header of :data:`RECORD_KEYS`; params as a JSON object in one cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(RECORD_KEYS), lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = json_safe(_display_record(record, unit))
        row["params"] = json.dumps(row["params"], sort_keys=True)
        writer.writerow(row)
    return buffer.getvalue()


def _error_cell(record: Record, unit: str) -> str:
    if not record.ok or record.truth is None or math.isinf(record.truth):
        return "-"
    return format_number(to_unit(record.estimate - record.truth, unit))


def _solved_cell(record: Record) -> str:
    if not record.ok:
        return "FAILED"
    if not is_scorable(record.truth):
        return ""
    return "yes" if is_solved(record.estimate, record.truth) else "no"


def _truth_cell(record: Record, unit: str) -> str:
    text = format_number(to_unit(record.truth, unit))
    stderr = record.extras.get("truth_stderr")
    if stderr:
        text += f" ± {format_number(to_unit(stderr, unit), 3)}"
    return text


def records_table(records: Sequence[Record], unit: str = "nats") -> str:
    """A fixed-width table: dataset, n, seed, truth, estimate, error, solved, seconds.

    The estimator and its non-default columns (n, seed) appear only when they vary.
    """
    show_estimator = len({(r.estimator, json.dumps(r.params, sort_keys=True, default=str))
                          for r in records}) > 1
    show_n = len({r.n for r in records}) > 1
    show_seed = len({r.seed for r in records}) > 1
    header = (
        (["estimator"] if show_estimator else [])
        + ["dataset"]
        + (["n"] if show_n else [])
        + (["seed"] if show_seed else [])
        + [f"truth [{unit}]", f"estimate [{unit}]", "error", "solved", "seconds"]
    )
    rows = []
    failures = []
    for record in records:
        estimate = (
            format_number(to_unit(record.estimate, unit)) if record.ok else "failed"
        )
        rows.append(
            ([record.estimator] if show_estimator else [])
            + [record.dataset]
            + ([str(record.n)] if show_n else [])
            + ([str(record.seed)] if show_seed else [])
            + [
                _truth_cell(record, unit),
                estimate,
                _error_cell(record, unit),
                _solved_cell(record),
                f"{record.seconds:.2f}",
            ]
        )
        if not record.ok:
            first_line = (record.error or "").splitlines()[0] if record.error else ""
            failures.append(f"  {record.estimator} on {record.dataset} (n={record.n}, "
                            f"seed={record.seed}): {first_line}")
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    numeric = {i for i, name in enumerate(header) if name not in ("estimator", "dataset")}

    def line(cells):
        return "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        ).rstrip()

    lines = [line(header), line(["-" * w for w in widths])] + [line(row) for row in rows]
    if records:
        caption = []
        if not show_estimator:
            params = ", ".join(f"{k}={v!r}" for k, v in records[0].params.items())
            caption.append(f"{records[0].estimator}({params})")
        if not show_n:
            caption.append(f"n = {records[0].n}")
        if not show_seed:
            caption.append(f"sample seed = {records[0].seed}")
        if caption:
            lines.insert(0, ", ".join(caption))
    if failures:
        lines += ["", "Failed runs:"] + failures
    return "\n".join(lines)


def records_summary(records: Sequence[Record], unit: str = "nats") -> str:
    """One paragraph per estimator: tasks solved, bias on MI-0 tasks, failures, total time."""
    def key(record):
        return (record.estimator, json.dumps(record.params, sort_keys=True, default=str))

    paragraphs = []
    for (name, _), group in groupby(sorted(records, key=key), key=key):
        group = list(group)
        scorable = [r for r in group if is_scorable(r.truth)]
        solved = sum(is_solved(r.estimate, r.truth) for r in scorable)
        zero_truth = [r for r in group if r.ok and r.truth == 0]
        failed = sum(not r.ok for r in group)
        seconds = sum(r.seconds for r in group)
        lines = [
            f"{name}: solved {solved} of {len(scorable)} tasks with finite, positive true MI "
            f"(|log(estimate/truth)| < log {SOLVED_RATIO:g})"
        ]
        if zero_truth:
            bias = statistics.fmean(r.estimate for r in zero_truth)
            worst = max(abs(r.estimate) for r in zero_truth)
            lines.append(
                f"  independent pairs (true MI 0): mean estimate {format_number(to_unit(bias, unit))}"
                f" {unit}, largest |estimate| {format_number(to_unit(worst, unit))} {unit}"
            )
        infinite = [r for r in group if r.ok and r.truth is not None and math.isinf(r.truth)]
        if infinite:
            lines.append(
                f"  {len(infinite)} runs where the true MI is infinite: any finite estimate "
                "reflects the estimator, not the data"
            )
        lines.append(
            f"  {len(group)} runs, {failed} failed, {seconds:.1f} s spent estimating"
        )
        paragraphs.append("\n".join(lines))
    return "\n".join(paragraphs)
