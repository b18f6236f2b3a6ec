"""`mibench run --grid ... --out DIR`: the grid file, the store, and the options' errors."""

import json
import os

import pytest

from mibench.cli import main

GRID = """
name = "cli-test"
datasets = ["1v1-normal-0.75", "independent-normal-1-1"]
n = [200]
seeds = [0, 1]
[[estimators]]
name = "gaussian"
[[estimators]]
name = "ksg"
params = { k = 3, workers = 1 }
"""


def test_a_grid_runs_into_a_store_and_a_second_run_only_reads_it(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    out = tmp_path / "store"
    command = ["run", "--grid", str(grid), "--out", str(out), "--format", "json"]
    assert main(command + ["--executor", "inline"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first) == 2 * 2 * 2
    stored = (out / "records.jsonl").read_text().splitlines()
    assert len(stored) == 8
    assert main(command + ["--jobs", "2"]) == 0  # another executor: nothing left to run
    second = json.loads(capsys.readouterr().out)
    assert (out / "records.jsonl").read_text().splitlines() == stored
    assert second == first
    assert json.loads((out / "provenance.json").read_text())["sessions"][0]["grid"]["name"] == (
        "cli-test")
    # The report's header says where the records come from.
    assert main(["report", str(out)]) == 0
    header = (out / "leaderboard.md").read_text().split("\n\n")[1]
    assert "software: mibench" in header and "grid: cli-test" in header
    assert f"{os.cpu_count()} cores" in header


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--grid", "GRID", "--estimator", "ksg"], "drop --estimator"),
        (["--estimator", "ksg", "--rerun-failed"], "--rerun-failed needs --out"),
        (["--dataset", "1v1-normal-0.75"], "name at least one --estimator"),
        (["--estimator", "ksg", "--jobs", "0"], "--jobs must be at least 1"),
        (["--estimator", "ksg", "--timeout", "-1"], "timeout must be a positive, finite number"),
        (["--estimator", "ksg", "--timeout", "inf"], "timeout must be a positive, finite number"),
        (["--estimator", "ksg", "--executor", "inline", "--timeout", "5"], "cannot enforce"),
        (["--grid", "no-such-grid.toml"], "no such grid file"),
    ],
)
def test_option_mistakes_are_clear_errors(arguments, message, tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    arguments = [str(grid) if a == "GRID" else a for a in arguments]
    assert main(["run", *arguments, "--n", "100"] if "--grid" not in arguments
                else ["run", *arguments]) == 2
    assert message in capsys.readouterr().err
