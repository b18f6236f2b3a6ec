"""The `mibench` command: tables for people, JSON and CSV for programs, clear errors."""

import csv
import io
import json
import math
import subprocess
import sys

import pytest

from mibench import cli
from mibench.cli import main
from mibench.core.contracts import RECORD_KEYS
from mibench.core.records import load_records


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_run_of_the_issue_example_is_within_003_nats(capsys):
    code, out, err = run_cli(
        capsys, "run", "--estimator", "ksg", "--dataset", "1v1-normal-0.75", "--n", "10000",
        "--format", "json",
    )
    assert code == 0 and err == ""
    (record,) = json.loads(out)
    assert list(record) == list(RECORD_KEYS)
    assert abs(record["estimate"] - 0.4133) < 0.03
    assert record["truth"] == pytest.approx(-0.5 * math.log(1 - 0.75**2))


def test_table_has_a_row_per_dataset_and_a_solved_summary(capsys):
    code, out, _ = run_cli(
        capsys, "run", "-e", "ksg", "-d", "1v1-normal-0.75", "-d", "independent-normal-1-1",
        "--n", "2000",
    )
    assert code == 0
    assert "1v1-normal-0.75" in out and "independent-normal-1-1" in out
    assert "beyond-normal-v1" in out and "solved 1 of 1 tasks" in out
    assert "independent-v1" in out and "1 pairs with true MI 0" in out
    assert "total time" in out


def test_bits_are_nats_divided_by_log_2(capsys):
    args = ["run", "-e", "ksg", "-d", "1v1-normal-0.75", "--n", "1000", "--format", "json"]
    _, nats, _ = run_cli(capsys, *args)
    _, bits, _ = run_cli(capsys, *args, "--unit", "bits")
    nats, bits = json.loads(nats)[0], json.loads(bits)[0]
    assert bits["estimate"] == pytest.approx(nats["estimate"] / math.log(2))
    assert bits["truth"] == pytest.approx(nats["truth"] / math.log(2))


def test_params_seeds_and_csv(capsys):
    code, out, _ = run_cli(
        capsys, "run", "-e", "ksg", "-d", "1v1-normal-0.75", "--n", "500", "--seed", "0",
        "--seed", "1", "--param", "k=5", "--param", "variant=2", "--format", "csv",
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["seed"] for row in rows] == ["0", "1"]
    assert list(rows[0]) == list(RECORD_KEYS)
    params = json.loads(rows[0]["params"])
    assert params["k"] == 5 and params["variant"] == 2


def test_out_dir_appends_records_that_load_back(capsys, tmp_path):
    for seed in ("0", "1"):
        run_cli(capsys, "run", "-e", "ksg", "-d", "1v1-normal-0.75", "--n", "300",
                "--seed", seed, "--out", str(tmp_path))
    records = load_records(tmp_path)
    assert [r.seed for r in records] == [0, 1]
    assert all(r.status == "ok" and r.truth > 0.41 for r in records)


def test_list_datasets_gives_dims_and_true_mi(capsys):
    code, out, _ = run_cli(capsys, "list", "datasets", "--tag", "beyond-normal-v1", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 40
    by_name = {row["name"]: row for row in rows}
    assert by_name["multinormal-dense-50-50-0.5"]["dim_x"] == 50
    assert by_name["1v1-additive-0.75"]["mutual_information"] == pytest.approx(1 / 3)
    code, out, _ = run_cli(capsys, "list", "estimators")
    assert "ksg" in out and "gaussian" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "-e", "nope"], "unknown estimator 'nope'"),
        (["run", "-e", "ksg", "-d", "nope"], "unknown dataset 'nope'"),
        (["run", "-e", "ksg", "-p", "kk=3"], "parameter 'kk' is taken by none of the estimators"),
        (["run", "-e", "ksg", "-p", "ksg.kk=3"], "unknown parameter 'kk' for estimator 'ksg'"),
        (["run", "-e", "ksg", "-p", "kde.bandwidth=1"], "not among the estimators run"),
        (["run", "-e", "ksg", "--suite", "nope"], "unknown suite 'nope'"),
        (["list", "datasets", "--tag", "nope"], "no dataset has the tag 'nope'"),
        (["run", "-e", "ksg", "-p", "k=0"], "k must be at least 1"),
        (["run", "-e", "ksg", "--n", "0"], "n must be at least 1"),
        (["report", "/no/such/dir"], "no such file or directory"),
    ],
)
def test_bad_input_exits_2_with_a_one_line_message(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_failed_runs_are_shown_and_set_the_exit_code(capsys):
    code, out, _ = run_cli(capsys, "run", "-e", "ksg", "-d", "1v1-normal-0.75", "--n", "3")
    assert code == 1
    assert "FAILED" in out and "too few samples" in out


def test_console_script_prints_only_the_result_when_piped():
    completed = subprocess.run(
        [sys.executable, "-m", "mibench", "run", "-e", "ksg", "-d", "1v1-normal-0.75",
         "--n", "500", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert completed.stderr == ""
    assert json.loads(completed.stdout)[0]["status"] == "ok"


def test_an_out_directory_under_a_file_is_a_one_line_error(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = run_cli(
        capsys, "run", "-e", "ksg", "-d", "1v1-normal-0.75", "--n", "300",
        "--out", str(blocker / "records"),
    )
    assert code == 2 and out == ""
    assert "--out" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_internal_error_shows_its_traceback_and_exits_1(capsys, monkeypatch):
    import mibench.cli

    def broken(args):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(mibench.cli, "_report", broken)
    code, _, err = run_cli(capsys, "report", "somewhere")
    assert code == 1
    assert "Traceback" in err and "a bug, not bad input" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("squash=false", False), ("squash=False", False), ("squash=true", True), ("k=5", 5),
     ("hidden=[16,8]", [16, 8]), ("metric=euclidean", "euclidean"), ("metric='falsey'", "falsey"),
     ("selection=truth", "truth")],
)  # fmt: skip
def test_a_param_takes_python_literals_and_a_grid_files_booleans(text, expected):
    # A grid file writes squash = false; the same word on the command line is the boolean.
    # Controls: other words stay strings, and a word that only starts like one stays a word.
    name, value = cli._parse_param(text)
    assert value == expected and type(value) is type(expected)

