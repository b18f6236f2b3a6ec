"""A report the records can be trusted for: failed cells drawn, one version at a time, settings
labelled by their parameters, scoring from the records alone, and one-line errors."""

import json
import os
import re

import pytest

import mibench
from mibench.cli import main
from mibench.core.contracts import Record
from mibench.core.records import RECORDS_FILENAME, load_records, record_line, save_records
from mibench.results.report import (
    leaderboard,
    leaderboard_markdown,
    other_suite_lines,
    split_versions,
    write_report,
)
from mibench.results.scoring import score_suites
from mibench.results.tables import records_summary, records_table

TASK = "1v1-normal-0.75"


def report_cli(capsys, *argv):
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_cell_with_no_successful_run_is_reported_as_failed(tmp_path, capsys):
    # The example: ksg at n = 3 cannot run (k + 1 = 4 samples needed).
    assert main(["run", "-e", "ksg", "-d", TASK, "--n", "3", "--out", str(tmp_path),
                 "--format", "json"]) == 1
    code, out, err = report_cli(capsys, str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "heatmap.png").stat().st_size > 0
    table = (tmp_path / "leaderboard.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| 1 | ksg"))
    assert "| 0 / 1 |" in row and "| 1 / 1 |" in row  # 0 of 1 task solved, 1 of 1 run failed


def _records(version, estimate, seeds=(0, 1)):
    return [Record(estimator="ksg", params={"k": 3}, dataset=TASK, n=100, seed=seed,
                   estimate=estimate, truth=0.4133, seconds=0.01, status="ok",
                   suite="beyond-normal-v1", mibench_version=version, scoring="solved",
                   tags=["beyond-normal-v1"], suites=["beyond-normal-v1"]) for seed in seeds]


def test_only_the_latest_version_is_reported_and_the_rest_is_named(tmp_path):
    new, old = _records("0.3.0", 0.40), _records("0.2.0", 999.0)
    mixed = old + new
    # The control: mixing versions is what goes wrong (999 averaged in, 4 "seeds" for 2).
    (row,) = leaderboard(mixed)
    assert row["seeds"] == 4 and row["solved"] == 0
    latest, by_version = split_versions(mixed)
    assert latest == "0.3.0" and list(by_version) == ["0.3.0", "0.2.0"]
    save_records(mixed, tmp_path / RECORDS_FILENAME)
    write_report(load_records(tmp_path), tmp_path)
    text = (tmp_path / "leaderboard.md").read_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| # |"))
    ksg_row = next(line for line in lines if line.startswith("| 1 | ksg"))
    def split(row):  # markdown cells; "\|" is a pipe inside a cell
        return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]

    cells = dict(zip(split(header), split(ksg_row)))
    # 1 of 1 task solved, with its interval over the 2 seeds of 0.3.0 (not 4: 0.2.0 left out)
    assert cells["solved [95 % interval]"].startswith("1 / 1 [") and cells["seeds"] == "2"
    assert "left out: 2 of mibench 0.2.0" in text and "--all-versions" in text
    written = write_report(load_records(tmp_path), tmp_path, all_versions=True)
    old_report = written["leaderboard 0.2.0"].read_text()
    # the old version on its own: 999 is not solved (with its interval over the 2 seeds)
    assert re.search(r"\| 0 / 1( \[0, \d\])? \|", old_report)


def test_versions_sort_by_their_numbers():
    latest, by_version = split_versions(_records("0.10.0", 0.4) + _records("0.9.1", 0.4)
                                        + _records("", 0.4))
    assert latest == "0.10.0" and list(by_version) == ["0.10.0", "0.9.1", ""]


def test_two_settings_of_one_estimator_are_labelled_by_their_parameters():
    records = mibench.run(["ksg"], [TASK, "independent-normal-1-1"], n=200, params={"k": 3})
    records += mibench.run(["ksg"], [TASK, "independent-normal-1-1"], n=200, params={"k": 10})
    table, summary = records_table(records), records_summary(records)
    for text in (table, summary):
        assert "ksg(k=3)" in text and "ksg(k=10)" in text
    assert {row["label"] for row in leaderboard(records)} == {"ksg(k=3)", "ksg(k=10)"}
    others = other_suite_lines(records)
    markdown = leaderboard_markdown(leaderboard(records), (), others)
    assert "ksg(k=3)" in markdown and "ksg(k=10)" in markdown
    assert any("ksg(k=10)" in line for line in others)
    # The control: one setting alone is plain "ksg".
    alone = records_summary([r for r in records if r.params["k"] == 3])
    assert alone.splitlines()[0] == "ksg:"


def test_scoring_reads_the_records_not_the_installed_registry(monkeypatch):
    import mibench.datasets as datasets
    import mibench.datasets.suites as suites

    records = [Record(estimator="x", params={}, dataset=f"custom-{i}", n=100, seed=0,
                      estimate=0.05 * i, truth=0.0, seconds=0.0, status="ok",
                      suite="custom-bias-v9", mibench_version="0.3.0", scoring="bias",
                      tags=["custom"], suites=["custom-bias-v9"]) for i in range(3)]

    def no_registry(*args, **kwargs):
        raise AssertionError("scoring asked the installed registry")

    monkeypatch.setattr(suites, "get_suite", no_registry)
    monkeypatch.setattr(suites, "suite_of", no_registry)
    monkeypatch.setattr(datasets, "dataset_tags", no_registry)
    (score,) = score_suites(records)
    assert score.scoring == "bias" and score.suite == "custom-bias-v9"
    assert score.mean_estimate == pytest.approx(0.05) and score.largest_abs_estimate == 0.1
    # The control: an old record (no scoring fields) falls back on the registry.
    old = [Record(**{**r.to_dict(include_extras=True), "scoring": None, "tags": None,
                     "suites": None}) for r in records]
    with pytest.raises(AssertionError, match="installed registry"):
        score_suites(old)


def test_report_on_the_records_file_instead_of_its_directory(tmp_path, capsys):
    save_records(_records("0.3.0", 0.4), tmp_path / RECORDS_FILENAME)
    code, _, err = report_cli(capsys, str(tmp_path / RECORDS_FILENAME))
    assert code == 2 and err.count("\n") == 1 and f"mibench report {tmp_path}" in err


def test_report_into_a_directory_it_cannot_write(tmp_path, capsys, monkeypatch):
    save_records(_records("0.3.0", 0.4), tmp_path / RECORDS_FILENAME)
    (tmp_path / "leaderboard.md").mkdir()  # a file the report cannot write, even as root
    code, _, err = report_cli(capsys, str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "cannot write the report" in err
    (tmp_path / "leaderboard.md").rmdir()
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)  # a read-only directory
    code, _, err = report_cli(capsys, str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "not a writable directory" in err
    monkeypatch.undo()
    assert report_cli(capsys, str(tmp_path))[0] == 0  # the control: writable, it works


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root writes into read-only directories")
def test_report_into_a_read_only_directory(tmp_path, capsys):
    save_records(_records("0.3.0", 0.4), tmp_path / RECORDS_FILENAME)
    tmp_path.chmod(0o555)
    try:
        code, _, err = report_cli(capsys, str(tmp_path))
    finally:
        tmp_path.chmod(0o755)
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize(("field", "value"), [("n", "abc"), ("estimate", "abc"),
                                               ("params", None), ("truth", [1])])
def test_report_on_wrong_typed_records_names_the_line(tmp_path, capsys, field, value):
    lines = [record_line(record).rstrip("\n") for record in _records("0.3.0", 0.4)]
    bad = json.loads(lines[1])
    bad[field] = value
    lines[1] = json.dumps(bad)
    (tmp_path / RECORDS_FILENAME).write_text("\n".join(lines) + "\n")
    code, _, err = report_cli(capsys, str(tmp_path))
    assert code == 2 and err.count("\n") == 1
    assert f"{RECORDS_FILENAME}:2" in err and field in err
