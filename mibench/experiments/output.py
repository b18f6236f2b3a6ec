"""The files every experiment leaves: ``records.csv``, ``summary.md``, ``records.jsonl``,
``provenance.json``, and the index of a run of all of them (``index.md``, ``index.html``).

``records.csv`` is the tidy table of :attr:`ExperimentResult.rows`: one row per estimate,
the required columns first (:data:`REQUIRED_COLUMNS`), then the others in order of first
appearance; dict parameters as JSON; infinities as ``inf``; None as an empty cell.

``records.jsonl`` holds :attr:`ExperimentResult.records`, the records of the grid's run path
(one per estimate, the row's own columns under ``extras["columns"]``), in the result store's
format (:func:`mibench.core.records.save_records`); ``provenance.json`` says which software, on
which machine and executor, made them (:mod:`mibench.grid.provenance`), as a store's does.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mibench.core.contracts import Record
from mibench.core.formatting import HTML_STYLE, format_value
from mibench.core.records import RECORDS_FILENAME, save_records
from mibench.experiments.contract import ExperimentResult, Verdict

__all__ = [
    "RECORDS_CSV",
    "REQUIRED_COLUMNS",
    "SUMMARY_MD",
    "check_rows",
    "control_warning",
    "controls_that_hold",
    "failed_runs_note",
    "summary_markdown",
    "verdict_table_markdown",
    "write_index",
    "write_outputs",
    "write_records_csv",
]

RECORDS_CSV = "records.csv"
SUMMARY_MD = "summary.md"
#: Every row of every experiment has these; the swept variable (``n``, ``w``, ``t``, ...) too.
REQUIRED_COLUMNS = ("estimator", "params", "seed", "estimate_nats", "truth_nats")


def check_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """ValueError naming the first row that lacks a required column."""
    for index, row in enumerate(rows):
        missing = [column for column in REQUIRED_COLUMNS if column not in row]
        if missing:
            raise ValueError(
                f"experiment row {index} lacks the column(s) {', '.join(missing)}; every row "
                f"needs {', '.join(REQUIRED_COLUMNS)} (truth_nats may be None)"
            )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return json.dumps(dict(value), sort_keys=True, default=str)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


def write_records_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Write the tidy rows as CSV (required columns first). Returns ``path``."""
    check_rows(rows)
    columns = list(REQUIRED_COLUMNS)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])
    return path


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "NO"


def _control_cells(verdict: Verdict) -> tuple[str, str, str]:
    """(counterfactual, its value, whether the check holds there) of a verdict's control."""
    control = verdict.control
    if control is None:
        return "NONE (no control)", "", ""
    return (control.name, format_value(control.value),
            "HOLDS: the check cannot fail" if control.holds else "no (as it must)")


def controls_that_hold(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """The verdicts whose control holds (or that have none): their check proves nothing."""
    return [v for v in verdicts if v.control is None or v.control.holds]


def control_warning(verdicts: Sequence[Verdict]) -> str:
    """A loud line naming the verdicts whose control holds or is missing; '' when none."""
    bad = controls_that_hold(verdicts)
    if not bad:
        return ""
    return ("**WARNING: the control holds (or is missing) for " + f"{len(bad)} verdict(s)**: "
            + "; ".join(_escape_cell(v.name) for v in bad)
            + ". The same check passed where the claim says it must fail, so these verdicts "
            "cannot tell the claim from its negation; the experiment fails.")


def verdict_table_markdown(verdicts: Sequence[Verdict]) -> str:
    """The verdicts as a markdown table, each beside its control.

    Columns: the number, its value, the prediction, whether it holds; the control's
    counterfactual, the same number there, whether the check holds there (it must not); and
    ``passes`` (holds and the control does not).
    """
    lines = ["| number | value | prediction | holds | control (must fail) | control value "
             "| control holds | passes |",
             "|---|---:|---|---|---|---:|---|---|"]
    for verdict in verdicts:
        control_name, control_value, control_holds = _control_cells(verdict)
        lines.append(
            f"| {_escape_cell(verdict.name)} | {format_value(verdict.value)} | "
            f"{_escape_cell(verdict.prediction)} | {_yes_no(verdict.holds)} | "
            f"{_escape_cell(control_name)} | {control_value} | {control_holds} | "
            f"{_yes_no(verdict.passes)} |"
        )
    warning = control_warning(verdicts)
    return "\n".join(lines) + (f"\n\n{warning}" if warning else "")


def _verdict_count_line(verdicts: Sequence[Verdict]) -> str:
    held = sum(v.holds for v in verdicts)
    failed_controls = sum(v.control is not None and not v.control.holds for v in verdicts)
    passed = sum(v.passes for v in verdicts)
    return (f"{held} of {len(verdicts)} numbers as the claim predicts; {failed_controls} of "
            f"{len(verdicts)} controls fail as they must; {passed} of {len(verdicts)} pass.")


def _settings_lines(settings: Mapping[str, Any]) -> list[str]:
    return [f"- `{key}`: `{json.dumps(value, default=str)}`" for key, value in settings.items()]


def summary_markdown(result: ExperimentResult, title: str = "experiment") -> str:
    """``summary.md``: the claim, the verdict table, the summary text, the settings."""
    parts = [
        f"# {title}",
        "",
        f"**Claim.** {result.claim}",
        "",
        f"**Verdict.** {_verdict_count_line(result.verdicts)}",
        "",
        verdict_table_markdown(result.verdicts),
        "",
    ]
    if result.summary:
        parts += [result.summary, ""]
    if result.figures:
        parts += ["## Figures", ""]
        parts += [f"![{Path(p).stem}]({Path(p).name})" for p in result.figures]
        parts.append("")
    parts += ["## Settings", "", *_settings_lines(result.settings), ""]
    return "\n".join(parts)


def failed_runs_note(records: Sequence[Record]) -> str:
    """A paragraph naming the runs among ``records`` that failed (timed out, raised, returned
    a non-finite number) and why, the first few of each reason; '' when none failed."""
    failed = [r for r in records if r.status == "failed"]
    if not failed:
        return ""
    reasons: dict[str, list[Record]] = {}
    for record in failed:
        reason = (record.error or "no reason given").splitlines()[0]
        reasons.setdefault(reason, []).append(record)
    lines = [f"**{len(failed)} of {len(records)} estimator runs failed**; their rows have no "
             f"estimate, and the verdicts that need them are decided without them (or fail). "
             f"{RECORDS_FILENAME} has every record with its error:"]
    for reason, group in reasons.items():
        shown = ", ".join(f"{r.estimator} on {r.dataset.split('/', 1)[-1]} (n={r.n}, seed={r.seed})"
                          for r in group[:3])
        more = f" and {len(group) - 3} more" if len(group) > 3 else ""
        lines.append(f"- {_escape_cell(reason)}: {shown}{more}")
    return "\n".join(lines)


def write_outputs(result: ExperimentResult, output_dir: Path, title: str = "experiment",
                  provenance: Mapping[str, Any] | None = None) -> dict:
    """Write ``records.csv``, ``summary.md`` and ``records.jsonl`` of ``result`` into
    ``output_dir``, and ``provenance.json`` when ``provenance`` (an entry of
    :func:`mibench.grid.provenance.collect`) is given.

    The figures are already there (the experiment wrote them). ``records.jsonl`` and
    ``provenance.json`` are replaced: they describe this run only. Returns the paths written,
    by kind (``records``, ``summary``, ``records_jsonl``, ``provenance``).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    records = write_records_csv(result.rows, output_dir / RECORDS_CSV)
    summary = output_dir / SUMMARY_MD
    summary.write_text(summary_markdown(result, title), encoding="utf-8")
    written = {"records": records, "summary": summary,
               "records_jsonl": save_records(result.records, output_dir / RECORDS_FILENAME)}
    if provenance is not None:
        from mibench.grid.provenance import PROVENANCE_FILENAME, record_provenance

        path = output_dir / PROVENANCE_FILENAME
        path.unlink(missing_ok=True)  # this run's records only, so this run's provenance only
        record_provenance(output_dir, dict(provenance))
        written["provenance"] = path
    return written


def _verdicts_html(verdicts: Sequence[Verdict]) -> str:
    def flag(value: bool, good: bool) -> str:
        text = {True: "yes", False: "NO"}[value] if good else (
            "HOLDS: the check cannot fail" if value else "no (as it must)")
        bad = (not value) if good else value
        return f'<td class="no">{text}</td>' if bad else f"<td>{text}</td>"

    rows = []
    for v in verdicts:
        control = v.control
        if control is None:
            control_cells = '<td class="no">NONE (no control)</td><td></td><td class="no">-</td>'
        else:
            control_cells = (f"<td>{html.escape(control.name)}</td>"
                             f'<td class="num">{format_value(control.value)}</td>'
                             + flag(control.holds, good=False))
        rows.append(
            f'<tr><td>{html.escape(v.name)}</td><td class="num">{format_value(v.value)}</td>'
            f"<td>{html.escape(v.prediction)}</td>{flag(bool(v.holds), good=True)}"
            f"{control_cells}{flag(v.passes, good=True)}</tr>"
        )
    bad = controls_that_hold(verdicts)
    warning = ""
    if bad:
        warning = ('<p class="warning">WARNING: the control holds (or is missing) for '
                   f"{len(bad)} verdict(s): "
                   + "; ".join(html.escape(v.name) for v in bad)
                   + ". The same check passed where the claim says it must fail; the experiment "
                   "fails.</p>")
    return (
        warning + "<table><thead><tr><th>number</th><th>value</th><th>prediction</th>"
        "<th>holds</th><th>control (must fail)</th><th>control value</th><th>control holds</th>"
        f"<th>passes</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def write_index(
    results: Mapping[str, ExperimentResult],
    output_dir: Path,
    settings: Mapping[str, Any],
    errors: Mapping[str, str] | None = None,
) -> dict:
    """``index.md`` and ``index.html`` over experiments run into ``output_dir/NAME/``.

    Parameters
    ----------
    results : mapping of name to ExperimentResult
        The experiments that ran, in the order to show them.
    output_dir : Path
        Holds one sub-directory per experiment; receives the two index files.
    settings : mapping
        The run's settings (mibench version, quick flag, ...), listed at the top.
    errors : mapping of name to str, optional
        Experiments that raised, with their error text.
    """
    from mibench._version import __version__

    output_dir = Path(output_dir)
    errors = dict(errors or {})
    settings = {"mibench version": __version__, **settings}
    md = ["# mibench: the talk's experiments", ""]
    md += ["## Settings", "", *_settings_lines(settings), ""]
    md += ["| experiment | claim | numbers as predicted | controls failing as they must |",
           "|---|---|---|---|"]
    for name, result in results.items():
        held = sum(v.holds for v in result.verdicts)
        failing = sum(v.control is not None and not v.control.holds for v in result.verdicts)
        md.append(f"| [{name}](#{name}) | {_escape_cell(result.claim)} | "
                  f"{held} of {len(result.verdicts)} | {failing} of {len(result.verdicts)} |")
    for name, error in errors.items():
        md.append(f"| {name} | failed: {_escape_cell(error)} | - | - |")
    md.append("")
    page = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>mibench experiments</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>",
        "<h1>mibench: the talk's experiments</h1>",
        "<h2>Settings</h2><ul>"
        + "".join(
            f"<li>{html.escape(k)}: <code>{html.escape(json.dumps(v, default=str))}</code></li>"
            for k, v in settings.items()
        )
        + "</ul>",
    ]
    for name, result in results.items():
        md += [f"## {name}", "", f"**Claim.** {result.claim}", "",
               verdict_table_markdown(result.verdicts), ""]
        if result.summary:
            md += [result.summary, ""]
        page += [f'<h2 id="{html.escape(name)}">{html.escape(name)}</h2>',
                 f"<p><b>Claim.</b> {html.escape(result.claim)}</p>",
                 _verdicts_html(result.verdicts)]
        if result.summary:
            page.append(f"<pre>{html.escape(result.summary)}</pre>")
        for figure in result.figures:
            figure = Path(figure)
            relative = f"{name}/{figure.name}"
            md += [f"![{name}: {figure.stem}]({relative})", ""]
            if figure.exists():
                encoded = base64.b64encode(figure.read_bytes()).decode("ascii")
                page.append(f'<img alt="{html.escape(name)}: {html.escape(figure.stem)}" '
                            f'src="data:image/png;base64,{encoded}">')
        md += [f"Records: [{name}/{RECORDS_CSV}]({name}/{RECORDS_CSV}); settings: "
               + ", ".join(f"`{k}={json.dumps(v, default=str)}`"
                           for k, v in result.settings.items()), ""]
        page.append(f'<p>Records: <a href="{html.escape(name)}/{RECORDS_CSV}">{RECORDS_CSV}</a>; '
                    f"settings: <code>{html.escape(json.dumps(result.settings, default=str))}"
                    "</code></p>")
    for name, error in errors.items():
        md += [f"## {name}", "", f"Failed: `{error}`", ""]
        page.append(f"<h2>{html.escape(name)}</h2><p>Failed: <code>{html.escape(error)}</code></p>")
    page.append("</body>\n</html>\n")
    index_md = output_dir / "index.md"
    index_html = output_dir / "index.html"
    index_md.write_text("\n".join(md), encoding="utf-8")
    index_html.write_text("\n".join(page), encoding="utf-8")
    return {"index_md": index_md, "index_html": index_html}
