"""Leaderboards and the estimator-by-task heatmap, computed from records.

``mibench report DIR`` calls :func:`write_report` on the records saved in ``DIR``. The numbers
shown are computed in one place, :func:`mibench.results.scoring.score_suites`, which the CLI summary
and the asv accuracy tracks use too, so a leaderboard, the summary and the benchmark history
always count "solved" the same way. Each suite has its own table and denominator.

A store may hold the records of several mibench versions (a run is a new run in a new
version): the report shows the latest version's records only, and says how many of which
versions it left out (:func:`split_versions`); ``--all-versions`` reports each version on its
own. Records of two versions are never averaged together.

Several seeds of the same (estimator, params, task, n) are first averaged: the cell's estimate is
the mean of its successful runs' estimates, as in the main figure of Beyond-Normal (Czyz et al.,
NeurIPS 2023). A task is solved when that mean is within a factor 1.5 of the truth
(:func:`mibench.results.scoring.is_solved`) and none of its runs failed: a failure is never rewarded.
All MI is in nats.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mibench.core.contracts import Record
from mibench.core.formatting import HTML_STYLE, format_number, format_seconds
from mibench.core.validation import InputError
from mibench.estimators.registry import bound_kind_of
from mibench.grid.provenance import environment_lines
from mibench.results.scoring import (
    SOLVED_RATIO,
    Cell,
    SuiteScore,
    aggregate,
    configuration_labels,
    log_ratio,
    params_key,
    score_suites,
)
from mibench.results.uncertainty import (
    LEVEL,
    RESAMPLES,
    Section,
    bootstrap_scores,
    uncertainty_sections,
    write_uncertainty,
)

__all__ = [
    "AGGREGATION_NOTE",
    "Cell",
    "aggregate",
    "leaderboard",
    "leaderboard_html",
    "leaderboard_markdown",
    "plot_heatmap",
    "split_versions",
    "write_report",
]

#: What every report says about how seeds are combined and what "solved" means.
AGGREGATION_NOTE = (
    "Estimates are averaged over seeds for each (estimator, params, task, n) before scoring. "
    f"The brackets are {100 * LEVEL:g} % bootstrap intervals over seeds (the seeds resampled "
    f"with replacement, {RESAMPLES} times; none with one seed): how much a score moves with the "
    "seeds, not with the choice of tasks. "
    f"A task is solved when that mean is within a factor {SOLVED_RATIO:g} of the true MI "
    f"(|log(estimate/truth)| < log {SOLVED_RATIO:g}, the Beyond-Normal criterion) and none of its "
    "runs failed; only tasks with a finite, positive true MI are scored. The median "
    "|log(estimate/truth)| is over the scored tasks with at least one successful run, a "
    "non-positive estimate counting as infinitely far off. Times are per run, successful "
    "runs only."
)

#: The heatmap's colours saturate at this |log(estimate/truth)|: a factor 4 either way.
HEATMAP_CLIP = math.log(4.0)


def _labels(cells_or_scores: Sequence[Cell | SuiteScore]) -> dict[tuple[str, str, int], str]:
    """The label of each (estimator, params, n): the estimator with its varying parameters
    (:func:`mibench.results.scoring.configuration_labels`), and n where several were run."""
    settings = configuration_labels((c.estimator, c.params) for c in cells_or_scores)
    several_n = len({c.n for c in cells_or_scores}) > 1
    return {
        (c.estimator, params_key(c.params), c.n):
            settings[(c.estimator, params_key(c.params))] + (f", n={c.n}" if several_n else "")
        for c in cells_or_scores
    }


def _heatmap_rows(cells: Sequence[Cell]) -> list[tuple[str, list[Cell]]]:
    """One heatmap row per (estimator, params, n), in the order they first appear, each with
    its label and its cells (seeds combined)."""
    labels = _labels(cells)
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.estimator, params_key(cell.params), cell.n), []).append(cell)
    return [(labels[key], group) for key, group in groups.items()]


def _leaderboard_row(score: SuiteScore, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "estimator": score.estimator,
        "bound": bound_kind_of(score.estimator),
        "params": score.params,
        "n": score.n,
        "suite": score.suite,
        "tasks": score.scored,
        "solved": score.solved,
        "median_abs_log_ratio": score.median_abs_log_ratio,
        "median_seconds": score.median_seconds,
        "runs": score.runs,
        "failed": score.failed,
        "seeds": score.seeds,
    }


def leaderboard(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per (suite, estimator, params, n) on the suites scored by "solved".

    Parameters
    ----------
    records : iterable of Record

    Returns
    -------
    list of dict
        Grouped by suite (in the order of :data:`mibench.datasets.suites.SUITES`), best first within a
        suite (most tasks solved, then smallest median error), each with the keys ``label``
        (estimator, the parameters that differ between its rows, n if it varies),
        ``estimator``, ``params``, ``n``, ``suite``, ``tasks`` (the suite's tasks with a
        finite, positive true MI that were run), ``solved``, ``median_abs_log_ratio`` (nan if
        no scored task ran), ``median_seconds`` (nan if no run succeeded), ``runs``, ``failed``
        and ``seeds`` (most runs per task). See :data:`AGGREGATION_NOTE`.
    """
    records = list(records)
    scores = [s for s in score_suites(records) if s.scoring == "solved" and s.datasets]
    rows = _ranked(scores)
    _add_intervals(rows, records)
    return rows


def _add_intervals(rows: list[dict[str, Any]], records: Sequence[Record]) -> None:
    """Give each row its bootstrap interval over seeds (``solved_interval``,
    ``median_interval``: (low, high), or None with fewer than two seeds)."""
    by_key = {(i.estimator, params_key(i.params), i.suite, i.n): i
              for i in bootstrap_scores(records)}
    for row in rows:
        found = by_key.get((row["estimator"], params_key(row["params"]), row["suite"], row["n"]))
        several = found is not None and found.seeds > 1
        row["solved_interval"] = (found.solved_low, found.solved_high) if several else None
        row["median_interval"] = (found.median_low, found.median_high) if several else None


def _ranked(scores: Sequence[SuiteScore]) -> list[dict[str, Any]]:
    labels = _labels(scores)
    rows = [_leaderboard_row(score, labels[(score.estimator, params_key(score.params), score.n)])
            for score in scores]
    # Suites in the order the records hold them (score_suites keeps it): no registry lookup.
    order = {name: i for i, name in enumerate(dict.fromkeys(score.suite for score in scores))}

    def rank(row):
        error = row["median_abs_log_ratio"]
        return (order.get(row["suite"], len(order)), -row["solved"], math.isnan(error), error,
                row["label"])

    return sorted(rows, key=rank)


def other_suite_lines(records: Iterable[Record], unit: str = "nats") -> list[str]:
    """The scores of the suites not scored by "solved" (independent pairs, network layers),
    one line each, as the CLI summary prints them."""
    from mibench.results.tables import score_line, seeds_text

    records = list(records)
    labels = configuration_labels((r.estimator, r.params) for r in records)
    return [
        f"{score.suite}: {labels[(score.estimator, params_key(score.params))]} "
        f"({seeds_text(score)}): {score_line(score, unit)}"
        for score in score_suites(records)
        if score.scoring != "solved" and score.datasets
    ]


def provenance_lines(records: Sequence[Record]) -> list[str]:
    """Which mibench versions and suites produced the records, for a report's header."""
    versions = sorted({r.mibench_version or "unknown (before 0.2)" for r in records})
    suites = sorted({str(r.suite) for r in records if r.suite})
    seeds = sorted({r.seed for r in records})
    sizes = sorted({r.n for r in records})
    return [
        f"mibench version: {', '.join(versions)}",
        f"suites: {', '.join(suites) or 'none recorded'}",
        f"sample sizes n: {', '.join(map(str, sizes))}; seeds: {', '.join(map(str, seeds))}",
        f"records: {len(records)} ({sum(r.status == 'failed' for r in records)} failed, "
        f"{sum(r.status == 'skipped' for r in records)} skipped)",
    ]


_COLUMNS = (
    ("rank", "#"),
    ("label", "estimator"),
    ("solved", f"solved [{100 * LEVEL:g} % interval]"),
    ("median_abs_log_ratio", f"median |log(est/truth)| [{100 * LEVEL:g} % interval]"),
    ("median_seconds", "median time [s]"),
    ("failed", "failed runs"),
    ("n", "n"),
    ("seeds", "seeds"),
    ("bound", "bound"),
)


def _interval_text(interval: tuple | None, pattern: str) -> str:
    """" [low, high]" of a bootstrap interval over seeds; empty for none (one seed)."""
    if interval is None or any(isinstance(v, float) and math.isnan(v) for v in interval):
        return ""  # one seed, or no scored task ran: nothing to resample
    # A resample with a non-positive mean is infinitely far off: say so, do not hide it.
    return " [" + ", ".join("inf" if isinstance(v, float) and math.isinf(v) else pattern.format(v)
                            for v in interval) + "]"


def _table_cells(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    table = []
    for rank, row in enumerate(rows, 1):
        table.append(
            [
                str(rank),
                row["label"],
                f"{row['solved']} / {row['tasks']}" + _interval_text(row.get("solved_interval"),
                                                                     "{:d}"),
                format_number(row["median_abs_log_ratio"], 3, nan="-")
                + _interval_text(row.get("median_interval"), "{:.3f}"),
                format_seconds(row["median_seconds"]),
                f"{row['failed']} / {row['runs']}",
                str(row["n"]),
                str(row["seeds"]),
                row.get("bound", "?"),
            ]
        )
    return table


def _params_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [f"{row['label']}: {params_key(row['params'])}" for row in rows]


def _by_suite(rows: Sequence[dict[str, Any]]) -> dict[str | None, list[dict[str, Any]]]:
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get("suite"), []).append(row)
    return groups


def _suite_title(suite: str | None, rows: Sequence[dict[str, Any]]) -> str:
    tasks = max((row["tasks"] for row in rows), default=0)
    return f"{suite or 'datasets in no suite'} ({tasks} tasks with a finite, positive true MI)"


def leaderboard_markdown(
    rows: Sequence[dict[str, Any]],
    header_lines: Sequence[str] = (),
    other_lines: Sequence[str] = (),
) -> str:
    """The leaderboard rows (from :func:`leaderboard`) as a markdown document: one table per
    suite, then the scores of the other suites (``other_lines``, from
    :func:`other_suite_lines`); ``header_lines`` (from :func:`provenance_lines`) on top."""
    header = [title for _, title in _COLUMNS]
    lines = ["# mibench leaderboard", ""]
    lines += [f"- {line}" for line in header_lines]
    lines += ["", AGGREGATION_NOTE]
    for suite, group in _by_suite(rows).items():
        lines += [
            "",
            f"## {_suite_title(suite, group)}",
            "",
            "| " + " | ".join(h.replace("|", "\\|") for h in header) + " |",
            "|" + "|".join("---:" if h != "estimator" else "---" for h in header) + "|",
        ]
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
            for cells in _table_cells(group)
        ]
    if other_lines:
        lines += ["", "## Other suites (not scored by solved)", ""]
        lines += [f"- {line}" for line in other_lines]
    lines += ["", "Parameters of each row:", ""]
    lines += [f"- `{line}`" for line in dict.fromkeys(_params_lines(rows))]
    return "\n".join(lines) + "\n"


def leaderboard_html(
    rows: Sequence[dict[str, Any]],
    heatmap_png: bytes | None = None,
    header_lines: Sequence[str] = (),
    other_lines: Sequence[str] = (),
    *,
    sections: Sequence[Section] = (),
    figures: Sequence[tuple[str, str, bytes]] = (),
) -> str:
    """The leaderboard as a standalone HTML page (no external assets).

    Parameters
    ----------
    rows : list of dict
        From :func:`leaderboard`.
    heatmap_png : bytes, optional
        A PNG image, embedded in the page as a data URI (the heatmap of :func:`plot_heatmap`).
    sections : sequence of Section
        Further sections after the tables (:func:`mibench.results.uncertainty.uncertainty_sections`).
    figures : sequence of (title, alt text, PNG bytes)
        Further figures, embedded at the end.
    """
    header = "".join(f"<th>{html.escape(title)}</th>" for _, title in _COLUMNS)
    tables = []
    for suite, group in _by_suite(rows).items():
        body = []
        for cells in _table_cells(group):
            tds = [
                f'<td>{html.escape(text)}</td>' if key == "label"
                else f'<td class="num">{html.escape(text)}</td>'
                for (key, _), text in zip(_COLUMNS, cells)
            ]
            body.append("<tr>" + "".join(tds) + "</tr>")
        tables.append(
            f"<h2>{html.escape(_suite_title(suite, group))}</h2>\n"
            f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n"
            + "\n".join(body) + "\n</tbody>\n</table>\n"
        )
    if other_lines:
        tables.append("<h2>Other suites (not scored by solved)</h2>\n<ul>"
                      + "".join(f"<li>{html.escape(line)}</li>" for line in other_lines)
                      + "</ul>\n")
    provenance = "".join(f"<li>{html.escape(line)}</li>" for line in header_lines)
    params = "".join(f"<li><code>{html.escape(line)}</code></li>"
                     for line in dict.fromkeys(_params_lines(rows)))
    shown = list(figures)
    if heatmap_png:
        shown.insert(0, ("Estimate by task", "heatmap of log(estimate/truth), estimator by task",
                         heatmap_png))
    figure = "".join(
        f"<h2>{html.escape(title)}</h2>\n"
        f'<img alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">\n'
        for title, alt, png in shown
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>mibench leaderboard</title>\n"
        f"<style>{HTML_STYLE}</style>\n</head>\n<body>\n"
        "<h1>mibench leaderboard</h1>\n"
        f"<ul>{provenance}</ul>\n"
        f'<p class="note">{html.escape(AGGREGATION_NOTE)}</p>\n'
        + "".join(tables)
        + "".join(section.html() for section in sections)
        + f"<h2>Parameters</h2>\n<ul>{params}</ul>\n"
        + figure
        + "</body>\n</html>\n"
    )


def plot_heatmap(records: Iterable[Record], path: str | Path) -> Path:
    """Draw estimator by task, coloured by log(estimate / truth), and save it as a PNG.

    The layout follows the main figure of Beyond-Normal: one row per (estimator, params, n),
    one column per task, the true MI in a top row, every cell annotated with its mean estimate
    in nats. Blue is an underestimate, red an overestimate; the colours saturate at a factor 4
    and the colour bar marks the factor-1.5 band of the solved criterion. Grey cells have no
    finite positive truth to score against (MI 0, infinite or unknown); hatched cells failed
    (entirely, or, under an estimate, some of the seeds).

    Parameters
    ----------
    records : iterable of Record
    path : str or Path
        Where to write the PNG.

    Returns
    -------
    Path
    """
    # A Figure without pyplot renders with Agg and leaves the user's backend alone.
    import matplotlib
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    cells = [cell for cell in aggregate(records) if cell.skipped < cell.runs]
    if not cells:
        raise InputError("no records to plot (every run was skipped)")
    tasks = list(dict.fromkeys(cell.dataset for cell in cells))
    column = {task: j for j, task in enumerate(tasks)}
    ranked = _heatmap_rows(cells)
    truths = {}
    for cell in cells:
        if cell.truth is not None:
            truths.setdefault(cell.dataset, cell.truth)

    values = np.full((len(ranked), len(tasks)), np.nan)
    for i, (_, group) in enumerate(ranked):
        for cell in group:
            j = column[cell.dataset]
            if cell.scorable and cell.estimate is not None:
                ratio = log_ratio(cell.estimate, cell.truth)
                # A non-positive estimate is as far below the truth as it gets.
                values[i, j] = -HEATMAP_CLIP if math.isnan(ratio) else ratio
    clipped = np.clip(values, -HEATMAP_CLIP, HEATMAP_CLIP)

    n_rows, n_cols = len(ranked) + 1, len(tasks)
    # Inches: a cell is about 0.45 x 0.3, and the rotated task names need room below.
    longest_label = max(len(label) for label, _ in ranked)
    width = 2.0 + 0.07 * longest_label + 0.45 * n_cols
    height = 1.2 + 0.3 * n_rows + 0.065 * max(len(task) for task in tasks)
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots()
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
    norm = Normalize(-HEATMAP_CLIP, HEATMAP_CLIP)
    image = axes.imshow(
        np.vstack([np.full((1, n_cols), np.nan), clipped]),
        cmap=cmap, norm=norm, aspect="auto", interpolation="nearest",
    )

    def annotate(i, j, text, **kwargs):
        kwargs.setdefault("fontsize", 6.5)  # a failed cell asks for a smaller one
        axes.text(j, i, text, ha="center", va="center", **kwargs)

    for j, task in enumerate(tasks):
        truth = truths.get(task)
        annotate(0, j, "?" if truth is None else ("inf" if math.isinf(truth) else f"{truth:.2f}"),
                 fontweight="bold")
    for i, (_, group) in enumerate(ranked, 1):
        for cell in group:
            j = column[cell.dataset]
            if cell.estimate is None:
                axes.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.85",
                                         hatch="////", edgecolor="0.55", linewidth=0))
                annotate(i, j, "failed", color="0.2", fontsize=5)
                continue
            if not cell.scorable:
                axes.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.88",
                                         linewidth=0))
            elif cell.failed:
                axes.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="////",
                                         edgecolor="0.3", linewidth=0))
            dark = cell.scorable and abs(clipped[i - 1, j]) > 0.6 * HEATMAP_CLIP
            annotate(i, j, f"{cell.estimate:.2f}", color="white" if dark else "black")

    axes.axhline(0.5, color="black", linewidth=1.0)
    axes.set_xticks(range(n_cols), tasks, rotation=90, fontsize=7)
    axes.set_yticks(range(n_rows), ["true MI"] + [label for label, _ in ranked], fontsize=8)
    axes.tick_params(length=0)
    axes.set_title("Mean estimate [nats] by task; colour: log(estimate / truth)", fontsize=9)
    colorbar = figure.colorbar(image, ax=axes, extend="both", shrink=0.8, pad=0.01)
    factors = [0.25, 0.5, 1.0, 2.0, 4.0]
    colorbar.set_ticks([math.log(f) for f in factors], labels=[f"{f:g}x" for f in factors])
    colorbar.ax.tick_params(labelsize=7)
    colorbar.set_label("estimate / truth (log scale)", fontsize=8)
    for bound in (-math.log(SOLVED_RATIO), math.log(SOLVED_RATIO)):
        colorbar.ax.axhline(bound, color="black", linewidth=0.8, linestyle="--")
    path = Path(path)
    figure.savefig(path, dpi=150)
    return path


def _version_order(version: str) -> tuple:
    """A sortable form of a version string: its numbers in order; "" (records written before
    0.2 named none) sorts first."""
    return tuple(int(part) for part in re.findall(r"\d+", version)) if version else (-1,)


def split_versions(records: Iterable[Record]) -> tuple[str, dict[str, list[Record]]]:
    """The records grouped by the mibench version that wrote them, newest first.

    Returns
    -------
    latest : str
        The newest version ("" if no record names one).
    by_version : dict of str to list of Record
        Every version's records, newest version first.
    """
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.mibench_version or "", []).append(record)
    ordered = dict(sorted(groups.items(), key=lambda item: _version_order(item[0]), reverse=True))
    return next(iter(ordered), ""), ordered


def _version_name(version: str) -> str:
    return version or "unknown (before 0.2)"


def _left_out_line(latest: str, by_version: dict[str, list[Record]]) -> list[str]:
    older = [(version, len(group)) for version, group in by_version.items() if version != latest]
    if not older:
        return []
    listed = ", ".join(f"{count} of mibench {_version_name(version)}" for version, count in older)
    return [f"shown: the {len(by_version[latest])} records of mibench {_version_name(latest)}, "
            f"the latest version in the store; left out: {listed} (mibench report "
            "--all-versions reports each version on its own)"]


def _write_one(records: list[Record], output_dir: Path, store_dir: Path,
               extra_header: Sequence[str]) -> dict[str, Path]:
    rows = leaderboard(records)
    header = provenance_lines(records) + list(extra_header)
    header += environment_lines(store_dir)  # from the store's provenance.json, if any
    others = other_suite_lines(records)
    output_dir.mkdir(parents=True, exist_ok=True)
    heatmap = plot_heatmap(records, output_dir / "heatmap.png")
    # task_spread.csv and the figures of the intervals and of each task's spread over seeds;
    # then the sections on convergence and standard-error coverage, in both documents.
    extra = write_uncertainty(records, output_dir)
    sections = uncertainty_sections(records)
    markdown = output_dir / "leaderboard.md"
    markdown.write_text(leaderboard_markdown(rows, header, others)
                        + "".join(section.markdown() for section in sections), encoding="utf-8")
    figures = [
        ("Estimate by task", "heatmap of log(estimate/truth), estimator by task", heatmap),
        ("Intervals over seeds", "solved count and median error with their bootstrap intervals",
         extra["intervals"]),
        ("Each task over seeds", "mean estimate / truth per task, +- one standard deviation",
         extra["task_spread_figure"]),
    ]
    page = output_dir / "leaderboard.html"
    page.write_text(leaderboard_html(rows, None, header, others, sections=sections,
                                     figures=[(t, a, p.read_bytes()) for t, a, p in figures]),
                    encoding="utf-8")
    return {"leaderboard": markdown, "html": page, "heatmap": heatmap, **extra}


def write_report(records: Iterable[Record], output_dir: str | Path,
                 all_versions: bool = False) -> dict[str, Path]:
    """Write ``leaderboard.md``, ``leaderboard.html`` and ``heatmap.png`` into ``output_dir``.

    Only the records of the latest mibench version among ``records`` are reported (a header
    line says what was left out), unless ``all_versions``: then each older version is reported
    on its own as well, into ``output_dir/versions/VERSION/``. Records of two versions are
    never averaged together.

    Parameters
    ----------
    records : iterable of Record
        For example ``mibench.core.records.load_records(DIR)``.
    output_dir : str or Path
        Created if missing.
    all_versions : bool, default False
        Report every version's records, each on its own.

    Returns
    -------
    dict of str to Path
        ``{"leaderboard": ..., "html": ..., "heatmap": ..., "task_spread": ...,
        "intervals": ...}`` (the last two from :func:`mibench.results.uncertainty.write_uncertainty`),
        and with ``all_versions`` ``"leaderboard VERSION"`` for each older version.

    Raises
    ------
    InputError
        For no records, or a directory the report cannot be written into.
    """
    records = list(records)
    if not records:
        raise InputError("no records to report on")
    output_dir = Path(output_dir)
    latest, by_version = split_versions(records)
    try:
        if not all_versions:
            return _write_one(by_version[latest], output_dir, output_dir,
                              _left_out_line(latest, by_version))
        written = {}
        for version, group in by_version.items():
            if version == latest:
                written.update(_write_one(group, output_dir, output_dir, ()))
            else:
                directory = output_dir / "versions" / (version or "unknown")
                written[f"leaderboard {_version_name(version)}"] = _write_one(
                    group, directory, output_dir, ())["leaderboard"]
        return written
    except OSError as error:
        raise InputError(f"cannot write the report into {output_dir}: "
                         f"{error.strerror or error}") from None
