"""Leaderboards and the estimator-by-task heatmap, computed from records.

``mibench report DIR`` calls :func:`write_report` on the records saved in ``DIR``. The numbers
shown are computed in one place, :func:`aggregate`, which the asv accuracy tracks use too, so a
leaderboard and the benchmark history always count "solved" the same way.

Several seeds of the same (estimator, params, task, n) are first averaged: the cell's estimate is
the mean of its successful runs' estimates, as in the main figure of Beyond-Normal (Czyz et al.,
NeurIPS 2023). A task is solved when that mean is within a factor 1.5 of the truth
(:func:`mibench.scoring.is_solved`) and none of its runs failed: a failure is never rewarded.
All MI is in nats.
"""

from __future__ import annotations

import base64
import html
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mibench.interface import Record
from mibench.scoring import SOLVED_RATIO, is_scorable, is_solved, log_ratio

__all__ = [
    "AGGREGATION_NOTE",
    "Cell",
    "aggregate",
    "leaderboard",
    "leaderboard_html",
    "leaderboard_markdown",
    "plot_heatmap",
    "write_report",
]

#: What every report says about how seeds are combined and what "solved" means.
AGGREGATION_NOTE = (
    "Estimates are averaged over seeds for each (estimator, params, task, n) before scoring. "
    f"A task is solved when that mean is within a factor {SOLVED_RATIO:g} of the true MI "
    f"(|log(estimate/truth)| < log {SOLVED_RATIO:g}, the Beyond-Normal criterion) and none of its "
    "runs failed; only tasks with a finite, positive true MI are scored. The median "
    "|log(estimate/truth)| is over the scored tasks with at least one successful run, a "
    "non-positive estimate counting as infinitely far off. Times are per run, successful "
    "runs only."
)

#: The heatmap's colours saturate at this |log(estimate/truth)|: a factor 4 either way.
HEATMAP_CLIP = math.log(4.0)


def _params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


@dataclass(frozen=True)
class Cell:
    """The runs of one (estimator, params, task, n), seeds combined.

    Attributes
    ----------
    estimate : float or None
        Mean estimate in nats over the successful runs; None when every run failed.
    truth : float or None
        True MI in nats (``math.inf`` if infinite, None if unknown).
    runs, failed : int
        Number of runs (seeds), and how many of them failed.
    seconds : list of float
        Time of each successful run.
    error : str or None
        The first failed run's error text.
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

    @property
    def scorable(self) -> bool:
        return is_scorable(self.truth)

    @property
    def solved(self) -> bool:
        """Mean estimate within a factor 1.5 of the truth, and no failed run."""
        return self.failed == 0 and is_solved(self.estimate, self.truth)

    @property
    def abs_log_ratio(self) -> float:
        """|log(estimate / truth)|: inf for a non-positive estimate, nan when not scorable or
        when every run failed."""
        if not self.scorable or self.estimate is None:
            return math.nan
        if not self.estimate > 0:
            return math.inf
        return abs(log_ratio(self.estimate, self.truth))


def aggregate(records: Iterable[Record]) -> list[Cell]:
    """Combine the seeds of each (estimator, params, task, n) into a :class:`Cell`.

    Cells come in the order their first record appears, so a grid run in the registry's order
    (the Beyond-Normal task order) is reported in that order.
    """
    groups: dict[tuple, list[Record]] = {}
    for record in records:
        key = (record.estimator, _params_key(record.params), record.dataset, record.n)
        groups.setdefault(key, []).append(record)
    cells = []
    for runs in groups.values():
        ok = [r for r in runs if r.ok]
        failed = [r for r in runs if not r.ok]
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
                error=failed[0].error if failed else None,
            )
        )
    return cells


def _varying_params(cells: Sequence[Cell]) -> dict[str, set[str]]:
    """For each estimator, the parameter names whose values differ between its rows."""
    values: dict[str, dict[str, set[str]]] = {}
    for cell in cells:
        for name, value in cell.params.items():
            values.setdefault(cell.estimator, {}).setdefault(name, set()).add(repr(value))
    return {
        estimator: {name for name, seen in params.items() if len(seen) > 1}
        for estimator, params in values.items()
    }


def _label(estimator: str, params: dict[str, Any], n: int | None, varying: set[str]) -> str:
    shown = ", ".join(f"{k}={params[k]!r}" for k in sorted(varying) if k in params)
    text = f"{estimator}({shown})" if shown else estimator
    return text if n is None else f"{text}, n={n}"


def _ranked_rows(cells: Sequence[Cell]) -> list[tuple[dict[str, Any], list[Cell]]]:
    """Leaderboard rows, best first, each with the cells it summarises."""
    varying = _varying_params(cells)
    several_n = len({cell.n for cell in cells}) > 1
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.estimator, _params_key(cell.params), cell.n), []).append(cell)
    rows = []
    for (estimator, _, n), group in groups.items():
        scored = [cell for cell in group if cell.scorable]
        errors = [cell.abs_log_ratio for cell in scored if cell.estimate is not None]
        seconds = [s for cell in group for s in cell.seconds]
        row = {
            "label": _label(estimator, group[0].params, n if several_n else None,
                            varying.get(estimator, set())),
            "estimator": estimator,
            "params": group[0].params,
            "n": n,
            "tasks": len(scored),
            "solved": sum(cell.solved for cell in scored),
            "median_abs_log_ratio": float(np.median(errors)) if errors else math.nan,
            "median_seconds": float(np.median(seconds)) if seconds else math.nan,
            "runs": sum(cell.runs for cell in group),
            "failed": sum(cell.failed for cell in group),
            "seeds": max(cell.runs for cell in group),
        }
        rows.append((row, group))

    def rank(item):
        row = item[0]
        error = row["median_abs_log_ratio"]
        return (-row["solved"], math.isnan(error), error, row["label"])

    return sorted(rows, key=rank)


def leaderboard(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per (estimator, params, n): tasks solved, median error and time, failures.

    Parameters
    ----------
    records : iterable of Record

    Returns
    -------
    list of dict
        Best first (most tasks solved, then smallest median error), each with the keys
        ``label`` (estimator, the parameters that differ between its rows, n if it varies),
        ``estimator``, ``params``, ``n``, ``tasks`` (tasks with a finite, positive true MI),
        ``solved``, ``median_abs_log_ratio`` (nan if no scored task ran), ``median_seconds``
        (nan if no run succeeded), ``runs``, ``failed`` and ``seeds`` (most runs per task).
        See :data:`AGGREGATION_NOTE` for the definitions.
    """
    return [row for row, _ in _ranked_rows(aggregate(records))]


def _format(value: float, digits: int = 3) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _format_seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3g}"


_COLUMNS = (
    ("rank", "#"),
    ("label", "estimator"),
    ("solved", "solved"),
    ("median_abs_log_ratio", "median |log(est/truth)|"),
    ("median_seconds", "median time [s]"),
    ("failed", "failed runs"),
    ("n", "n"),
    ("seeds", "seeds"),
)


def _table_cells(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    table = []
    for rank, row in enumerate(rows, 1):
        table.append(
            [
                str(rank),
                row["label"],
                f"{row['solved']} / {row['tasks']}",
                _format(row["median_abs_log_ratio"]),
                _format_seconds(row["median_seconds"]),
                f"{row['failed']} / {row['runs']}",
                str(row["n"]),
                str(row["seeds"]),
            ]
        )
    return table


def _params_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [f"{row['label']}: {_params_key(row['params'])}" for row in rows]


def leaderboard_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The leaderboard rows (from :func:`leaderboard`) as a markdown document."""
    header = [title for _, title in _COLUMNS]
    lines = [
        "# mibench leaderboard",
        "",
        AGGREGATION_NOTE,
        "",
        "| " + " | ".join(h.replace("|", "\\|") for h in header) + " |",
        "|" + "|".join("---:" if h != "estimator" else "---" for h in header) + "|",
    ]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
        for cells in _table_cells(rows)
    ]
    lines += ["", "Parameters of each row:", ""]
    lines += [f"- `{line}`" for line in _params_lines(rows)]
    return "\n".join(lines) + "\n"


_HTML_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 80em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
p.note { max-width: 60em; }
code { font-size: 90%; }
img { max-width: 100%; }
"""


def leaderboard_html(rows: Sequence[dict[str, Any]], heatmap_png: bytes | None = None) -> str:
    """The leaderboard as a standalone HTML page (no external assets).

    Parameters
    ----------
    rows : list of dict
        From :func:`leaderboard`.
    heatmap_png : bytes, optional
        A PNG image, embedded in the page as a data URI.
    """
    header = "".join(f"<th>{html.escape(title)}</th>" for _, title in _COLUMNS)
    body = []
    for cells in _table_cells(rows):
        tds = [
            f'<td>{html.escape(text)}</td>' if key == "label"
            else f'<td class="num">{html.escape(text)}</td>'
            for (key, _), text in zip(_COLUMNS, cells)
        ]
        body.append("<tr>" + "".join(tds) + "</tr>")
    params = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in _params_lines(rows))
    figure = ""
    if heatmap_png:
        encoded = base64.b64encode(heatmap_png).decode("ascii")
        figure = (
            "<h2>Estimate by task</h2>\n"
            f'<img alt="heatmap of log(estimate/truth), estimator by task" '
            f'src="data:image/png;base64,{encoded}">\n'
        )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>mibench leaderboard</title>\n"
        f"<style>{_HTML_STYLE}</style>\n</head>\n<body>\n"
        "<h1>mibench leaderboard</h1>\n"
        f'<p class="note">{html.escape(AGGREGATION_NOTE)}</p>\n'
        f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>\n"
        f"<h2>Parameters</h2>\n<ul>{params}</ul>\n"
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

    cells = aggregate(records)
    if not cells:
        raise ValueError("no records to plot")
    tasks = list(dict.fromkeys(cell.dataset for cell in cells))
    column = {task: j for j, task in enumerate(tasks)}
    ranked = _ranked_rows(cells)
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
    longest_label = max(len(row["label"]) for row, _ in ranked)
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
        axes.text(j, i, text, ha="center", va="center", fontsize=6.5, **kwargs)

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
    axes.set_yticks(range(n_rows), ["true MI"] + [row["label"] for row, _ in ranked], fontsize=8)
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


def write_report(records: Iterable[Record], output_dir: str | Path) -> dict[str, Path]:
    """Write ``leaderboard.md``, ``leaderboard.html`` and ``heatmap.png`` into ``output_dir``.

    Parameters
    ----------
    records : iterable of Record
        For example ``mibench.records_io.load_records(DIR)``.
    output_dir : str or Path
        Created if missing.

    Returns
    -------
    dict of str to Path
        ``{"leaderboard": ..., "html": ..., "heatmap": ...}``.
    """
    records = list(records)
    if not records:
        raise ValueError("no records to report on")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = leaderboard(records)
    heatmap = plot_heatmap(records, output_dir / "heatmap.png")
    markdown = output_dir / "leaderboard.md"
    markdown.write_text(leaderboard_markdown(rows), encoding="utf-8")
    page = output_dir / "leaderboard.html"
    page.write_text(leaderboard_html(rows, heatmap.read_bytes()), encoding="utf-8")
    return {"leaderboard": markdown, "html": page, "heatmap": heatmap}
