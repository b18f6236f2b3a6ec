"""The leaderboard and heatmap, checked on hand-built records whose answer is known."""

import math
import re

import pytest

from mibench.core.contracts import Record
from mibench.core.records import load_records, save_records
from mibench.results.report import aggregate, leaderboard, plot_heatmap, write_report

TRUTHS = {"task-a": 0.5, "task-b": 1.0, "task-c": 2.0}


def record(estimator, dataset, estimate, *, truth=None, seed=0, n=1000, seconds=1.0,
           params=None, status="ok"):
    return Record(
        estimator=estimator,
        params={"k": 3} if params is None else params,
        dataset=dataset,
        n=n,
        seed=seed,
        estimate=estimate if status == "ok" else None,
        truth=TRUTHS.get(dataset) if truth is None else truth,
        seconds=seconds if status == "ok" else 0.0,
        status=status,
        error=None if status == "ok" else "FloatingPointError: the estimator returned nan",
    )


def exact_and_doubled():
    """Estimator "exact" hits every truth, "double" reports twice every truth."""
    records = []
    for dataset, truth in TRUTHS.items():
        records.append(record("exact", dataset, truth, seconds=0.1))
        records.append(record("double", dataset, 2 * truth, seconds=3.0))
    return records


def by_estimator(rows):
    return {row["estimator"]: row for row in rows}


def test_exact_estimator_solves_all_and_doubled_solves_none():
    rows = leaderboard(exact_and_doubled())
    assert [row["estimator"] for row in rows] == ["exact", "double"]  # best first
    exact, double = rows
    assert (exact["solved"], exact["tasks"]) == (3, 3)
    assert (double["solved"], double["tasks"]) == (0, 3)
    assert exact["median_abs_log_ratio"] == pytest.approx(0.0, abs=1e-12)
    assert double["median_abs_log_ratio"] == pytest.approx(math.log(2))
    assert exact["median_seconds"] == pytest.approx(0.1)
    assert double["median_seconds"] == pytest.approx(3.0)
    assert exact["failed"] == double["failed"] == 0


def test_seeds_are_averaged_before_scoring():
    # 0.5 and 1.7 average to 1.1, within a factor 1.5 of 1.0, though 0.5 alone is not;
    # the median error is then |log 1.1|, not the median of the two seeds' errors.
    records = [
        record("ksg", "task-b", 0.5, seed=0, seconds=1.0),
        record("ksg", "task-b", 1.7, seed=1, seconds=3.0),
    ]
    (row,) = leaderboard(records)
    assert row["solved"] == 1 and row["seeds"] == 2 and row["runs"] == 2
    assert row["median_abs_log_ratio"] == pytest.approx(math.log(1.1))
    assert row["median_seconds"] == pytest.approx(2.0)
    (cell,) = aggregate(records)
    assert cell.estimate == pytest.approx(1.1)


def test_failed_runs_are_counted_and_never_solve_a_task():
    records = [
        record("ksg", "task-a", 0.5, seed=0),
        record("ksg", "task-a", None, seed=1, status="failed"),  # one of two seeds failed
        record("ksg", "task-b", None, status="failed"),  # every seed failed
        record("ksg", "task-c", 2.1),
    ]
    (row,) = leaderboard(records)
    assert row["failed"] == 2 and row["runs"] == 4
    assert (row["solved"], row["tasks"]) == (1, 3)  # only task-c: task-a had a failure
    # task-a (exact mean of its successful seed) and task-c count; task-b has no estimate.
    assert row["median_abs_log_ratio"] == pytest.approx(math.log(2.1 / 2.0) / 2)


def test_unscorable_tasks_are_not_counted_and_nonpositive_estimates_are_infinitely_off():
    records = [
        record("ksg", "independent", 0.01, truth=0.0),
        record("ksg", "layer", 4.2, truth=math.inf),
        record("ksg", "task-a", -0.1),
        record("ksg", "task-b", 1.0),
        record("ksg", "task-c", 0.0),
    ]
    (row,) = leaderboard(records)
    assert (row["solved"], row["tasks"]) == (1, 3)
    assert row["median_abs_log_ratio"] == math.inf  # two of the three scored tasks are inf


def test_rows_are_split_by_params_and_sample_size():
    records = [record("ksg", "task-b", 1.0, params={"k": 3}),
               record("ksg", "task-b", 2.0, params={"k": 10}),
               record("ksg", "task-b", 1.0, params={"k": 3}, n=5000)]
    rows = leaderboard(records)
    assert sorted(row["label"] for row in rows) == [
        "ksg(k=10), n=1000", "ksg(k=3), n=1000", "ksg(k=3), n=5000"]
    assert rows[-1]["label"] == "ksg(k=10), n=1000" and rows[-1]["solved"] == 0


def test_write_report_files_and_contents(tmp_path):
    records = exact_and_doubled() + [record("double", "task-a", None, seed=1, status="failed")]
    save_records(records, tmp_path / "records.jsonl")
    written = write_report(load_records(tmp_path), tmp_path)
    assert set(written) == {"leaderboard", "html", "heatmap", "task_spread", "intervals",
                            "task_spread_figure"}
    for path in written.values():
        assert path.exists() and path.parent == tmp_path

    markdown = written["leaderboard"].read_text()
    assert "| 1 | exact | 3 / 3 | 0.000 |" in markdown
    # (with the bracketed interval over seeds where there are several)
    assert re.search(rf"\| 2 \| double \| 0 / 3( \[0, 0\])? \| {math.log(2):.3f}( \[[^]]*\])? \|",
                     markdown)
    assert "1 / 4" in markdown  # the failed run, of double's four
    assert "averaged over seeds" in markdown

    page = written["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "</table>" in page
    assert "<td>exact</td>" in page and "<td>double</td>" in page
    assert re.search(rf'<td class="num">{math.log(2):.3f}( \[[^]]*\])?</td>', page)
    # Standalone: the heatmap is embedded, nothing is fetched.
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_heatmap_png_is_written(tmp_path):
    path = plot_heatmap(exact_and_doubled(), tmp_path / "heatmap.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_empty_records_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no records"):
        write_report([], tmp_path)
