"""scripts/bmi_side_by_side.py: the neural bounds under bmi's protocol beside mibench's defaults,
only on the tasks that every bound finished, with every seed, in both stores."""

from pathlib import Path

from mibench.core.contracts import Record
from mibench.core.records import save_records
from tests.repository_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
side_by_side = load_script("bmi_side_by_side")
SEEDS = range(3)


def _store(path, ratio, *, missing=None):
    # Every neural bound on tasks A and B (truth 1), estimate = ratio; ``missing`` leaves out
    # one (estimator, dataset, seed) run, as a grid still running would.
    records = [
        Record(estimator=name, params={}, dataset=dataset, n=5000, seed=seed, estimate=ratio,
               truth=1.0, seconds=0.5, status="ok", error=None, extras={})
        for name in side_by_side.BOUNDS_IN_BOTH_GRIDS for dataset in ("task-a", "task-b") for seed in SEEDS
        if (name, dataset, seed) != missing
    ]  # fmt: skip
    save_records(records, path / "records.jsonl")
    return str(path)


def test_only_tasks_complete_in_both_stores_are_compared(tmp_path, capsys):
    (tmp_path / "bmi").mkdir(), (tmp_path / "ours").mkdir()
    bmi = _store(tmp_path / "bmi", 3.0, missing=("nwj", "task-b", 2))  # unsolved: 3x the truth
    ours = _store(tmp_path / "ours", 1.0)  # solved
    side_by_side.main([bmi, ours])
    out = capsys.readouterr().out
    assert out.startswith("1 tasks complete in both stores, seeds 0-2")
    rows = [line for line in out.splitlines() if line.startswith("| infonce |")]
    # bmi's row first, then mibench's, each scored on the one complete task; swapping the
    # stores' labels would put the solved count on the wrong row.
    assert "| bmi's | 1 | 0 [0, 0] |" in rows[0] and "| mibench defaults | 1 | 1 [1, 1] |" in rows[1]
    # Control: with the missing run present, both tasks are compared.
    bmi = _store(tmp_path / "bmi", 3.0)
    side_by_side.main([bmi, ours])
    assert capsys.readouterr().out.startswith("2 tasks complete in both stores")


def test_the_docs_table_is_the_scripts_output_on_the_committed_stores(capsys):
    # docs/beyond-normal.md's table of the neural half must be regenerated when either
    # committed store changes; a number typed or left stale by hand fails here.
    side_by_side.main([str(ROOT / "data" / "bmi-protocol"), str(ROOT / "data" / "beyond-normal")])
    out = capsys.readouterr().out
    assert out.startswith("53 tasks complete in both stores, seeds 0-9")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "beyond-normal-v" in line]
    assert len(rows) == 16  # four bounds, two suites, two protocols
    doc = (ROOT / "docs" / "beyond-normal.md").read_text().splitlines()
    missing = [row for row in rows if row not in doc]
    assert not missing, f"docs/beyond-normal.md lacks the script's row {missing[0]!r}"
    # Control: the same row with its solved count one higher is not in the docs.
    cells = rows[0].split(" | ")
    solved, interval = cells[4].split(" ", 1)  # "25 [24, 26]"
    cells[4] = f"{int(solved) + 1} {interval}"
    assert " | ".join(cells) not in doc


def test_per_task_lists_each_tasks_means_and_the_pairs_one_protocol_alone_solves(tmp_path, capsys):
    (tmp_path / "bmi").mkdir(), (tmp_path / "ours").mkdir()
    bmi = _store(tmp_path / "bmi", 3.0)  # every mean 3x the truth: unsolved
    ours = _store(tmp_path / "ours", 1.2)  # within a factor 1.5: solved
    side_by_side.main([bmi, ours, "--per-task"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| task-")]
    assert len(rows) == 2
    assert rows[0].count("3.000 / 1.200 ✓") == len(side_by_side.BOUNDS_IN_BOTH_GRIDS)
    assert "Solved by bmi's settings only: 0 (task, bound) pairs" in out
    assert "Solved by mibench's defaults only: 8 (task, bound) pairs: task-a (mine)" in out
    # Control: with the stores' roles swapped, the pairs change sides.
    side_by_side.main([ours, bmi, "--per-task"])
    swapped = capsys.readouterr().out
    assert "Solved by bmi's settings only: 8 (task, bound) pairs" in swapped
    assert "Solved by mibench's defaults only: 0 (task, bound) pairs" in swapped
