"""Experiments estimate through the grid's run path (mibench.grid.in_memory): the same numbers as
the estimator called directly (the path they took before), a failed record with its reason, not
a traceback, for a run that fails or outlives ``--timeout``, and records.jsonl and
provenance.json beside records.csv."""

import json
import math

import numpy as np
import pytest
from _faulty_estimators import Correlation, Raises, Sleeps

from mibench.cli import main
from mibench.core.contracts import Record, canonical_params
from mibench.core.records import load_records
from mibench.experiments import _common, clustering, run_experiment
from mibench.experiments._common import checked_verdict, estimate_value, running_samples_with
from mibench.experiments.contract import _CLAIMS, _REGISTRY, ExperimentResult
from mibench.grid.in_memory import IN_MEMORY_TAG

TIMEOUT = 0.5


class DirectRunner:
    """The experiments' path before the runner: the estimator called here, directly (plus
    ``shift``, for the control that shows the comparison can fail)."""

    name = "direct"

    def __init__(self, shift: float = 0.0):
        self.shift = shift

    def run(self, estimator, x, y, *, truth=None, seed=0, name=None, columns=None) -> Record:
        return Record(estimator=estimator.name, params=canonical_params(estimator),
                      dataset="direct", n=len(x), seed=seed,
                      estimate=float(estimator.estimate(x, y)) + self.shift, truth=truth,
                      seconds=0.0, status="ok")


@pytest.fixture
def small_clustering(monkeypatch):
    """The clustering experiment at 3 weights, n = 200, one seed, without its figures (seconds)."""
    monkeypatch.setitem(clustering._SIZES, "tiny",
                        clustering._Settings(weights=(0.2, 1.0, 3.0), sizes=(200,), seeds=(0,)))
    monkeypatch.setattr(clustering, "_plot", lambda rows, settings, path: path)
    monkeypatch.setattr(clustering, "_plot_clusters", lambda path: path)


def numbers(result):
    """(every row's estimate, every verdict's value and its control's), NaN for None."""
    estimates = [math.nan if r["estimate_nats"] is None else r["estimate_nats"] for r in result.rows]
    verdicts = [v for verdict in result.verdicts for v in (verdict.value, verdict.control.value)]
    return np.array(estimates, dtype=float), np.array(verdicts, dtype=float)


def assert_same_numbers(through_runner, direct):
    for ours, theirs in zip(numbers(through_runner), numbers(direct)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_clustering_through_the_runner_gives_the_numbers_of_the_direct_calls(small_clustering,
                                                                             tmp_path):
    through_runner = run_experiment("clustering", tmp_path / "runner", size="tiny")
    with running_samples_with(DirectRunner()):
        direct = clustering.clustering(tmp_path / "direct", True, size="tiny")
    assert_same_numbers(through_runner, direct)
    estimated = [r for r in through_runner.rows if r["estimator"] != "exact"]
    assert len(through_runner.records) == len(estimated) == 12
    assert all(r.status == "ok" and r.tags == [IN_MEMORY_TAG] for r in through_runner.records)
    # Each record is its row: the same estimate, truth, seed and swept w; a sample of its own
    # for each w, so that the records of three distributions are not three seeds of one.
    for row, record in zip(estimated, through_runner.records):
        assert (record.estimate, record.truth, record.seed, record.n) == (
            row["estimate_nats"], row["truth_nats"], row["seed"], row["n"])
        assert record.extras["columns"]["w"] == row["w"]
        assert record.dataset == f"experiment:clustering/w={row['w']}"
    # The control: estimates off by 1e-3 nats are told apart.
    with running_samples_with(DirectRunner(shift=1e-3)), pytest.raises(AssertionError):
        assert_same_numbers(through_runner, clustering.clustering(tmp_path / "shifted", True,
                                                                  size="tiny"))


def test_records_jsonl_and_provenance_beside_records_csv(small_clustering, tmp_path):
    result = run_experiment("clustering", tmp_path, size="tiny")
    stored = load_records(tmp_path)
    assert [r.to_dict(include_extras=True) for r in stored] == [
        json.loads(json.dumps(r.to_dict(include_extras=True))) for r in result.records]
    (session,) = json.loads((tmp_path / "provenance.json").read_text())["sessions"]
    assert session["executor"] == "inline"
    assert session["grid"] == {"experiment": "clustering", "size": "tiny", "timeout": None}
    assert (tmp_path / "records.csv").is_file()


def test_a_failing_estimator_in_an_experiment_is_a_failed_record(small_clustering, monkeypatch,
                                                                  tmp_path):
    monkeypatch.setattr(clustering, "ESTIMATORS", clustering.ESTIMATORS + (
        ("raises", "test-raises", {}, "noisy"),
        ("ksg k=500", "ksg", {"k": 500}, "noisy"),  # more neighbours than the 200 samples
    ))
    real = _common.get_estimator
    monkeypatch.setattr(_common, "get_estimator",
                        lambda name, **params: Raises() if name == "test-raises"
                        else real(name, **params))
    result = run_experiment("clustering", tmp_path, size="tiny")  # no exception
    failed = [r for r in result.records if r.status == "failed"]
    assert len(failed) == 6 and len(result.records) == 18
    reasons = [r.error.splitlines()[0] for r in failed]
    assert sum("RuntimeError: this estimator always fails" in e for e in reasons) == 3
    assert sum("too few samples for estimator 'ksg'" in e for e in reasons) == 3
    rows = [r for r in result.rows if r["label"] in ("raises", "ksg k=500")]
    assert len(rows) == 6 and all(r["estimate_nats"] is None and r["error"] for r in rows)
    assert "6 of 18 estimator runs failed" in result.summary
    assert "RuntimeError: this estimator always fails: test-raises on w=0.2 (n=200" in result.summary
    assert "6 of 18 estimator runs failed" in (tmp_path / "summary.md").read_text()
    assert sum(r.status == "failed" for r in load_records(tmp_path)) == 6
    # The control: the experiment's own estimators all ran.
    assert all(r.status == "ok" for r in result.records if r.estimator != "test-raises"
               and r.params.get("k") != 500)


def sleepy(output_dir, quick):
    """A made-up experiment with one estimate that takes too long."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(100)
    y = 0.6 * x + 0.8 * rng.standard_normal(100)
    truth = -0.5 * math.log(1 - 0.36)
    fast = estimate_value(Correlation(), x, y, truth=truth, step="fast")
    slow = estimate_value(Sleeps(seconds=30), x, y, truth=truth, step="slow")
    rows = [{"estimator": name, "params": {}, "seed": 0, "estimate_nats": value,
             "truth_nats": truth, "step": name} for name, value in (("fast", fast), ("slow", slow))]
    test = lambda v: abs(v) <= 0.2  # noqa: E731
    return ExperimentResult(rows=rows, verdicts=[
        checked_verdict("slow estimate minus the truth [nats]", slow - truth, "|error| <= 0.2",
                        test, "the fast estimate minus a wrong truth", fast - truth + 1.0),
        checked_verdict("fast estimate minus the truth [nats]", fast - truth, "|error| <= 0.2",
                        test, "the fast estimate minus a wrong truth", fast - truth + 1.0),
    ])


def test_experiment_timeout_on_the_command_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(_REGISTRY, "test-sleepy", sleepy)
    monkeypatch.setitem(_CLAIMS, "test-sleepy", "a run past the timeout is a failed record")
    code = main(["experiment", "test-sleepy", "--timeout", str(TIMEOUT), "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1, err  # the slow verdict has no number, so it does not hold
    assert "Traceback" not in out + err
    assert "1 of 2 estimator runs failed" in out and f"timed out after {TIMEOUT:g} s" in out
    fast, slow = sorted(load_records(tmp_path), key=lambda r: r.extras["columns"]["step"])
    assert slow.status == "failed" and "timed out" in slow.error and fast.status == "ok"
    (session,) = json.loads((tmp_path / "provenance.json").read_text())["sessions"]
    assert session["executor"] == f"serial, timeout={TIMEOUT}"
    # The control: the fast verdict holds through the same isolated path.
    assert "| fast estimate minus the truth [nats] |" in out


@pytest.mark.parametrize("timeout", ["-1", "0", "nan"])
def test_a_bad_experiment_timeout_is_one_line_and_exit_2(timeout, tmp_path, capsys):
    code = main(["experiment", "clustering", "--timeout", timeout, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("mibench: error: timeout must be") and len(
        err.splitlines()) == 1
    assert not (tmp_path / "records.csv").exists()


@pytest.mark.slow
def test_divergence_tiny_through_the_runner_gives_the_numbers_of_the_direct_calls(tiny_run,
                                                                                 tmp_path):
    from mibench.experiments.divergence import divergence

    _, through_runner = tiny_run("divergence")
    with running_samples_with(DirectRunner()):
        direct = divergence(tmp_path, True, size="tiny")
    assert_same_numbers(through_runner, direct)
    assert len(through_runner.records) == sum(r["estimator"] != "exact"
                                              for r in through_runner.rows)
