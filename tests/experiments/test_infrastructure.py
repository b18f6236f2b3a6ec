"""The experiment contract: records.csv, summary.md, `mibench experiment all` and its index."""

import csv
import math

import pytest

import mibench.experiments as experiments
from mibench.cli import main
from mibench.experiments import ExperimentResult, Verdict, register_experiment, run_experiment
from mibench.experiments.output import REQUIRED_COLUMNS, write_records_csv


def _tiny_png(path):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    axis = figure.subplots()
    axis.plot([1, 2], [0.5, 1.0], label="toy")
    axis.set_xlabel("n")
    axis.set_ylabel("estimate [nats]")
    axis.legend()
    figure.savefig(path)
    return path


@pytest.fixture
def toy_registry(monkeypatch):
    """Only two cheap experiments are registered: one whose claim holds, one whose does not."""
    monkeypatch.setattr(experiments, "_REGISTRY", {})
    monkeypatch.setattr(experiments, "_CLAIMS", {})
    monkeypatch.setattr(experiments, "_load", lambda: None)

    @register_experiment("toy-holds", claim="a toy claim that holds")
    def holds(output_dir, quick):
        rows = [
            {"estimator": "ksg", "params": {"k": 3}, "seed": 0, "estimate_nats": 1.25,
             "truth_nats": math.inf, "n": 100},
            {"estimator": "exact", "params": "{}", "seed": None, "estimate_nats": 0.5,
             "truth_nats": None, "n": 100, "extra": "x"},
        ]
        return ExperimentResult(
            rows=rows, figures=[_tiny_png(output_dir / "toy.png")],
            verdicts=[Verdict("rise per decade [nats]", 1.7, ">= 1.5", True)],
            settings={"sizes": [100]},
        )

    @register_experiment("toy-fails", claim="a toy claim that fails")
    def fails(output_dir, quick):
        return ExperimentResult(
            rows=[{"estimator": "ksg", "params": {}, "seed": 0, "estimate_nats": 2.0,
                   "truth_nats": 1.0, "w": 0.5}],
            verdicts=[Verdict("error [nats]", 1.0, "<= 0.1", False)],
        )


def test_run_experiment_writes_records_and_summary(toy_registry, tmp_path):
    result = run_experiment("toy-holds", tmp_path / "out", quick=True)
    assert result.claim == "a toy claim that holds" and result.settings["quick"] is True
    with open(tmp_path / "out" / "records.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[: len(REQUIRED_COLUMNS)] == list(REQUIRED_COLUMNS)
    assert {"n", "extra"} <= set(rows[0])
    assert rows[0]["params"] == '{"k": 3}' and rows[0]["truth_nats"] == "inf"
    assert rows[1]["truth_nats"] == "" and float(rows[1]["estimate_nats"]) == 0.5
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "a toy claim that holds" in summary
    assert "| rise per decade [nats] | 1.7 | >= 1.5 | yes |" in summary
    assert "- `sizes`: `[100]`" in summary and "- `quick`: `true`" in summary


def test_a_row_without_a_required_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="truth_nats"):
        write_records_csv([{"estimator": "ksg", "params": {}, "seed": 0, "estimate_nats": 1.0}],
                          tmp_path / "records.csv")


def test_experiment_all_writes_every_experiment_and_the_index(toy_registry, tmp_path, capsys):
    code = main(["experiment", "all", "--quick", "--out", str(tmp_path)])
    assert code == 1  # toy-fails's verdict does not hold
    for name in ("toy-holds", "toy-fails"):
        assert (tmp_path / name / "records.csv").exists()
        assert (tmp_path / name / "summary.md").exists()
    index_md = (tmp_path / "index.md").read_text()
    index_html = (tmp_path / "index.html").read_text()
    from mibench import __version__

    for text in (index_md, index_html):
        assert __version__ in text
        assert "a toy claim that holds" in text and "a toy claim that fails" in text
    assert "toy-holds/toy.png" in index_md
    assert "data:image/png;base64," in index_html
    assert "NO" in index_html and "yes" in index_html
    assert "1 of 1" in index_md and "0 of 1" in index_md


def test_list_experiments_prints_each_claim(toy_registry, capsys):
    assert main(["list", "experiments"]) == 0
    out = capsys.readouterr().out
    assert "toy-holds  a toy claim that holds" in out
    assert "toy-fails  a toy claim that fails" in out


def test_unknown_experiment_is_a_clear_error(toy_registry, tmp_path, capsys):
    assert main(["experiment", "toy-hold", "--out", str(tmp_path / "x")]) == 2
    assert "Did you mean 'toy-holds'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_builtin_experiments_are_registered_with_claims():
    names = experiments.list_experiments()
    assert {"divergence", "piecewise-constant", "clustering", "staircase"} <= set(names)
    assert "computability" not in names
    for name in names:
        assert experiments.experiment_claim(name)
    with pytest.raises(ValueError, match="Did you mean 'divergence'"):
        experiments.get_experiment("computability")


def test_an_absent_optional_module_is_skipped_but_a_broken_one_is_not(monkeypatch, tmp_path):
    monkeypatch.setattr(experiments, "_OPTIONAL_MODULES", ("mibench.experiments.not_there",))
    experiments.list_experiments()  # no error: the module has simply not landed yet
    package = tmp_path / "mibench_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "broken.py").write_text("import a_dependency_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(experiments, "_OPTIONAL_MODULES", ("mibench_probe.broken",))
    with pytest.raises(ModuleNotFoundError, match="a_dependency_that_is_missing"):
        experiments.list_experiments()
