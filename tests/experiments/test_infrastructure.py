"""The experiment contract: records.csv, summary.md, `mibench experiment all` and its index."""

import csv
import math
import re

import pytest

import mibench.experiments as experiments
from mibench.cli import main
from mibench.core.errors import InputError
from mibench.experiments import (
    Control,
    ExperimentResult,
    Verdict,
    register_experiment,
    run_experiment,
)
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
    from mibench.experiments import contract

    # One registry, seen by the package and by the contract module that registers into it.
    registry, claims = {}, {}
    for module in (experiments, contract):
        monkeypatch.setattr(module, "_REGISTRY", registry)
        monkeypatch.setattr(module, "_CLAIMS", claims)
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
            verdicts=[Verdict("rise per decade [nats]", 1.7, ">= 1.5", True,
                              Control("the same rise, noisy layer", 0.1, False))],
            settings={"sizes": [100]},
        )

    @register_experiment("toy-fails", claim="a toy claim that fails")
    def fails(output_dir, quick):
        return ExperimentResult(
            rows=[{"estimator": "ksg", "params": {}, "seed": 0, "estimate_nats": 2.0,
                   "truth_nats": 1.0, "w": 0.5}],
            verdicts=[Verdict("error [nats]", 1.0, "<= 0.1", False,
                              Control("the same error, wrong sigma", 0.5, False))],
        )

    @register_experiment("toy-control-holds", claim="a toy claim whose control holds")
    def control_holds(output_dir, quick):
        return ExperimentResult(
            rows=[{"estimator": "ksg", "params": {}, "seed": 0, "estimate_nats": 2.0,
                   "truth_nats": 1.0, "w": 0.5}],
            verdicts=[Verdict("slope [nats per nat]", 1.0, ">= 0.5", True,
                              Control("the same slope, finite-MI input", 0.9, True))],
        )

    @register_experiment("toy-no-control", claim="a toy claim without a control")
    def no_control(output_dir, quick):
        return ExperimentResult(
            rows=[{"estimator": "ksg", "params": {}, "seed": 0, "estimate_nats": 2.0,
                   "truth_nats": 1.0, "w": 0.5}],
            verdicts=[Verdict("slope [nats per nat]", 1.0, ">= 0.5", True)],
        )

    @register_experiment("toy-sized", claim="a toy claim that knows its sizes")
    def sized(output_dir, quick, size=None):
        return ExperimentResult(
            rows=[{"estimator": "ksg", "params": {}, "seed": 0, "estimate_nats": 2.0,
                   "truth_nats": 1.0, "w": 0.5}],
            verdicts=[Verdict(f"size {size}, quick {quick}", 1.0, ">= 0.5", True,
                              Control("c", 0.0, False))],
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
    assert ("| rise per decade [nats] | 1.7 | >= 1.5 | yes | the same rise, noisy layer | 0.1 "
            "| no (as it must) | yes |") in summary
    assert "WARNING" not in summary
    assert "- `sizes`: `[100]`" in summary and "- `quick`: `true`" in summary


def test_a_row_without_a_required_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="truth_nats"):
        write_records_csv([{"estimator": "ksg", "params": {}, "seed": 0, "estimate_nats": 1.0}],
                          tmp_path / "records.csv")


def test_experiment_all_writes_every_experiment_and_the_index(toy_registry, tmp_path, capsys):
    for name in ("toy-control-holds", "toy-no-control", "toy-sized"):
        experiments._REGISTRY.pop(name)
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
    assert re.search(r"toy-holds +a toy claim that holds", out)
    assert re.search(r"toy-fails +a toy claim that fails", out)


def test_unknown_experiment_is_a_clear_error(toy_registry, tmp_path, capsys):
    assert main(["experiment", "toy-hold", "--out", str(tmp_path / "x")]) == 2
    assert "Did you mean 'toy-holds'" in capsys.readouterr().err
    assert not (tmp_path / "x" / "records.csv").exists()


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


def test_single_experiment_json_output(toy_registry, tmp_path, capsys):
    import json

    assert main(["experiment", "toy-holds", "--out", str(tmp_path), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    (verdict,) = printed["toy-holds"]["verdicts"]
    assert verdict == {"name": "rise per decade [nats]", "value": 1.7, "prediction": ">= 1.5",
                       "holds": True, "control": {"name": "the same rise, noisy layer",
                                                  "value": 0.1, "holds": False}}
    assert (tmp_path / "records.csv").exists() and (tmp_path / "toy.png").exists()


def test_a_verdict_without_a_control_is_refused(toy_registry, tmp_path):
    with pytest.raises(ValueError, match="every verdict needs a control.*slope"):
        run_experiment("toy-no-control", tmp_path / "out")
    assert not (tmp_path / "out" / "summary.md").exists()


def test_a_control_that_holds_fails_loudly(toy_registry, tmp_path, capsys):
    import json

    assert main(["experiment", "toy-control-holds", "--out", str(tmp_path / "a")]) == 1
    printed = capsys.readouterr().out
    assert "WARNING: the control holds" in printed and "HOLDS: the check cannot fail" in printed
    summary = (tmp_path / "a" / "summary.md").read_text()
    assert "WARNING: the control holds" in summary
    assert "| yes | the same slope, finite-MI input | 0.9 | HOLDS: the check cannot fail | NO |" \
        in summary
    assert "0 of 1 controls fail as they must; 0 of 1 pass" in summary
    assert main(["experiment", "toy-control-holds", "--out", str(tmp_path / "b"),
                 "--format", "json"]) == 1
    (verdict,) = json.loads(capsys.readouterr().out)["toy-control-holds"]["verdicts"]
    assert verdict["holds"] is True and verdict["control"]["holds"] is True


def test_the_index_shows_each_verdict_beside_its_control(toy_registry, tmp_path):
    from mibench.experiments.output import write_index

    results = {name: run_experiment(name, tmp_path / name, quick=True)
               for name in ("toy-holds", "toy-control-holds")}
    written = write_index(results, tmp_path, {"quick": True})
    page = written["index_html"].read_text()
    assert "<th>control (must fail)</th>" in page
    assert "the same rise, noisy layer" in page and "no (as it must)" in page
    assert '<p class="warning">WARNING: the control holds' in page
    assert page.count('<p class="warning">') == 1  # only the experiment whose control holds
    index_md = written["index_md"].read_text()
    assert "| 1 of 1 | 1 of 1 |" in index_md and "| 1 of 1 | 0 of 1 |" in index_md


def test_sizes_reach_the_experiment(toy_registry, tmp_path):
    result = run_experiment("toy-sized", tmp_path / "t", size="tiny")
    assert result.verdicts[0].name == "size tiny, quick True"
    assert result.settings["size"] == "tiny" and result.settings["quick"] is True
    result = run_experiment("toy-sized", tmp_path / "d")
    assert result.verdicts[0].name == "size default, quick False"
    # an experiment without a size keyword gets quick = (size != "default")
    assert run_experiment("toy-holds", tmp_path / "h", size="tiny").settings["quick"] is True
    with pytest.raises(InputError, match="unknown experiment size 'huge'"):
        run_experiment("toy-sized", tmp_path / "x", size="huge")
