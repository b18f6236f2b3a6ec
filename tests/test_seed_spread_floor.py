"""scripts/seed_spread_floor.py: how far the spread of the seeds' stopping steps lets a batch
of seeds fall below ten, read from a result store's batched neural runs."""

import math
from pathlib import Path

import pytest

from mibench.core.contracts import Record
from mibench.core.records import save_records
from tests.repository_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
floor = load_script("seed_spread_floor")


def _store(path, steps_by_task, *, status_of=None, batched=True, alone=(), seeds=None):
    # One batched neural bound ("dv") and one classical estimator per task; the dv seeds ran
    # the given steps. ``status_of`` maps (task, seed) to a failed run's status; the (task,
    # seed) pairs in ``alone`` were retrained alone after leaving the batch (the extras of
    # batched.py's _retrain_alone: batched False, no seeds_in_batch); ``seeds`` overrides the
    # seed numbers (0, 1, ... by default).
    status_of = status_of or {}
    records = []
    for task, steps in steps_by_task.items():
        for position, steps_run in enumerate(steps):
            seed = position if seeds is None else seeds[position]
            status = status_of.get((task, seed), "ok")
            if status != "ok":
                extras = {}
            elif (task, seed) in alone:
                extras = {"steps_run": steps_run, "batched": False, "left_batch": "diverged"}
            else:
                extras = {"steps_run": steps_run, "batched": batched, "seeds_in_batch": len(steps)}
            records.append(Record(
                estimator="dv", params={}, dataset=task, n=5000, seed=seed,
                estimate=1.0 if status == "ok" else None, truth=1.0, seconds=0.5, status=status,
                error=None if status == "ok" else "diverged", extras=extras, suite="suite-a",
            ))  # fmt: skip
            records.append(Record(
                estimator="ksg", params={}, dataset=task, n=5000, seed=seed, estimate=1.0,
                truth=1.0, seconds=0.1, status="ok", error=None, extras={}, suite="suite-a",
            ))  # fmt: skip
    save_records(records, path / "records.jsonl")
    return str(path)


def _row(out):
    rows = [line for line in out.splitlines() if line.startswith("| dv |")]
    assert len(rows) == 1 and not any(line.startswith("| ksg |") for line in out.splitlines())
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def test_a_long_last_seed_puts_a_task_above_the_limit_whatever_the_per_seed_cost(tmp_path, capsys):
    # Task "even": ten seeds of 100 steps, x = 1; task "long": nine of 100 and one of 400, x =
    # 400 / 130 = 3.08 > 3, so no per-seed cost brings it within 3x.
    store = _store(tmp_path, {"even": [100] * 10, "long": [100] * 9 + [400]})
    floor.main([store])
    out = capsys.readouterr().out
    assert out.startswith("2 batches (estimator, task), limit 3x the mean seed alone; 0 left out")
    cells = _row(out)
    assert cells[:6] == ["dv", "suite-a", "2", "10", f"{(1 + 400 / 130) / 2:.2f}", "3.08"]
    assert cells[6] == "1"  # above the limit at any r: "long"
    assert cells[7:9] == ["1", "1"]  # within at r = 0.1 and 0.2: "even" only (1 + 9 r <= 3)
    assert cells[9] == "0.000"  # no r keeps every task within 3x
    in_all = (100 + 400) / (100 + 130)  # the longest seeds' steps over the mean seeds'
    assert cells[10] == f"{in_all:.2f}"
    assert cells[11] == f"{(3 - in_all) / (10 - in_all):.3f}"
    # Control: the long seed at 300 steps (x = 300 / 120 = 2.5) is within reach at a small r.
    store = _store(tmp_path, {"even": [100] * 10, "long": [100] * 9 + [300]})
    floor.main([store])
    cells = _row(capsys.readouterr().out)
    assert cells[5] == "2.50" and cells[6] == "0"
    assert cells[9] == f"{(3 - 2.5) / (10 - 2.5):.3f}"  # 0.067: "long" allows the smaller r
    assert cells[7:9] == ["1", "1"]  # at r = 0.1, "long" costs 2.5 + 0.75 > 3


def test_predicted_ratio_is_the_sum_over_the_batch_steps_of_its_cost(tmp_path):
    # The closed form x + r (S - x) against the batch's cost summed step by step: a step with k
    # seeds in the batch costs 1 - r + k r lone steps; one seed alone costs its steps.
    steps = [120, 300, 250, 90, 90, 410, 200, 260, 170, 330]
    r = 0.17
    summed = sum(1 - r + r * sum(s > t for s in steps) for t in range(max(steps)))
    mean = sum(steps) / len(steps)
    assert floor.predicted_ratio(max(steps) / mean, len(steps), r) == pytest.approx(summed / mean, rel=1e-12)
    allowed = floor.allowed_per_seed_cost(max(steps) / mean, len(steps), 3.0)
    assert floor.predicted_ratio(max(steps) / mean, len(steps), allowed) == pytest.approx(3.0)
    # Control: the same check fails the closed form given one seed too few.
    assert floor.predicted_ratio(max(steps) / mean, len(steps) - 1, r) != pytest.approx(summed / mean)
    # A batch whose longest seed is every step: any r keeps it within a limit of S or more.
    assert floor.allowed_per_seed_cost(10.0, 10, 10.0) == math.inf
    assert floor.allowed_per_seed_cost(10.0, 10, 3.0) == -math.inf


def test_per_seed_cost_lists_the_tasks_above_the_limit_at_that_cost(tmp_path, capsys):
    # x = 1 ("even"), 2.5 ("long"): at r = 0.05 the batch costs 1.45 and 2.875 mean seeds
    # alone, at r = 0.1 1.9 and 3.25, at r = 0.3 3.7 and 4.75.
    store = _store(tmp_path, {"even": [100] * 10, "long": [100] * 9 + [300]})
    floor.main([store, "--per-seed-cost", "0.05", "0.1", "0.3"])
    out = capsys.readouterr().out
    assert "Above 3x at r = 0.05: 0 of 2\n" in out
    assert "Above 3x at r = 0.1: 1 of 2 (task, estimator, x): long (dv, 2.50)\n" in out
    assert "Above 3x at r = 0.3: 2 of 2 (task, estimator, x): long (dv, 2.50), even (dv, 1.00)" in out
    # Control: a looser limit moves the same tasks within it.
    floor.main([store, "--per-seed-cost", "0.1", "--limit", "4"])
    assert "Above 4x at r = 0.1: 0 of 2" in capsys.readouterr().out


def test_failed_seeds_and_seeds_retrained_alone_leave_their_task_out(tmp_path, capsys):
    store = _store(tmp_path, {"a": [100] * 10, "b": [100] * 10, "c": [100] * 9 + [3000]},
                   status_of={("b", 3): "failed"}, alone={("c", 9)})  # fmt: skip
    floor.main([store])
    out = capsys.readouterr().out
    assert out.startswith(
        "1 batches (estimator, task), limit 3x the mean seed alone; 2 left out: "
        "b (dv): a seed failed; c (dv): a seed was retrained alone\n"
    )
    # Control: with seed 9 of "c" in its batch, "c" is read (x = 3000 / 390 = 7.69).
    store = _store(tmp_path, {"a": [100] * 10, "c": [100] * 9 + [3000]})
    floor.main([store])
    out = capsys.readouterr().out
    assert "; 0 left out" in out and _row(out)[5] == "7.69"


def test_seeds_recorded_twice_leave_their_task_out(tmp_path, capsys):
    store = _store(tmp_path, {"a": [100, 200, 300]}, seeds=[0, 1, 1])
    with pytest.raises(SystemExit, match="no batched neural seeds"):
        floor.main([store])
    # Control: three distinct seeds are a batch.
    floor.main([_store(tmp_path, {"a": [100, 200, 300]}, seeds=[0, 1, 2])])
    assert capsys.readouterr().out.startswith("1 batches")


def test_a_store_of_seeds_trained_alone_has_nothing_to_read(tmp_path):
    # bmi's protocol trains each seed alone: no record says it was in a batch.
    with pytest.raises(SystemExit, match="no batched neural seeds"):
        floor.main([_store(tmp_path, {"a": [100] * 10}, batched=False)])


def test_a_faster_batch_moves_tasks_within_the_limit(tmp_path, capsys):
    # x = 2.5 at r = 0.1: 3.25 mean seeds alone, above 3; times 0.9, 2.93, within.
    store = _store(tmp_path, {"long": [100] * 9 + [300]})
    floor.main([store, "--per-seed-cost", "0.1"])
    assert "Above 3x at r = 0.1: 1 of 1" in capsys.readouterr().out
    floor.main([store, "--per-seed-cost", "0.1", "--batch-time-factor", "0.9"])
    out = capsys.readouterr().out
    assert "batch time x 0.9" in out and "Above 3x at r = 0.1: 0 of 1" in out
    assert _row(out)[9] == f"{(3 / 0.9 - 2.5) / (10 - 2.5):.3f}"
    with pytest.raises(SystemExit):
        floor.main([store, "--batch-time-factor", "1.5"])


#: The per-seed costs whose lists docs/benchmarks-neural.md quotes whole.
QUOTED_COSTS = ["0.074", "0.09"]


def test_the_docs_table_is_the_scripts_output_on_the_committed_store(capsys):
    # docs/benchmarks-neural.md quotes this table; a number typed or left stale fails here.
    floor.main([str(ROOT / "data" / "beyond-normal")])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "beyond-normal-v" in line]
    assert len(rows) == 10  # five bounds, two suites
    doc = (ROOT / "docs" / "benchmarks-neural.md").read_text().splitlines()
    floor.main([str(ROOT / "data" / "beyond-normal"), "--per-seed-cost", *QUOTED_COSTS])
    above = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Above")]
    assert len(above) == len(QUOTED_COSTS)
    missing = [line for line in [out.splitlines()[0], *rows, *above] if line not in doc]
    assert not missing, f"docs/benchmarks-neural.md lacks the script's line {missing[0]!r}"
    # Control: a row with its largest x one hundredth higher is not in the docs.
    cells = rows[0].split(" | ")
    cells[5] = f"{float(cells[5]) + 0.01:.2f}"
    assert " | ".join(cells) not in doc
