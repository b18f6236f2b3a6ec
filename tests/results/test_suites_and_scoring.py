"""One definition of solved, scored per suite; parameters per estimator; what records carry."""

import math
import sys
from pathlib import Path

import pytest

import mibench
from mibench.cli import main
from mibench.core.contracts import Record
from mibench.datasets.suites import SUITES, get_suite, suite_of
from mibench.grid.runner import resolve_params
from mibench.results.report import leaderboard, write_report
from mibench.results.scoring import score_suites
from mibench.results.tables import records_summary

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks import _suite as asv_suite  # noqa: E402


def record(dataset, seed, estimate, truth, suite="beyond-normal-v1", status="ok", n=1000):
    return Record(estimator="ksg", params={"k": 3}, dataset=dataset, n=n, seed=seed,
                  estimate=estimate, truth=truth, seconds=0.1, status=status, suite=suite,
                  error=None if status == "ok" else "RuntimeError: boom")


def seed_sensitive_records():
    """Counting records would say 3 of 6 runs solved; averaging seeds first says 1 of 3 tasks
    solved (a: mean 1.25 of 1; b: mean 1.6 of 1; c: one run failed)."""
    return [
        record("a", 0, 1.6, 1.0), record("a", 1, 0.9, 1.0),
        record("b", 0, 1.4, 1.0), record("b", 1, 1.8, 1.0),
        record("c", 0, 1.0, 1.0), record("c", 1, None, 1.0, status="failed"),
        record("zero", 0, 0.01, 0.0, suite="independent-v1"),
        record("layer", 0, 4.0, math.inf, suite="network-layers-v1"),
    ]


def test_summary_report_and_asv_count_the_same_solved_tasks():
    records = seed_sensitive_records()
    (score,) = [s for s in score_suites(records) if s.suite == "beyond-normal-v1"]
    assert (score.solved, score.scored, score.seeds) == (1, 3, 2)
    summary = records_summary(records)
    assert "solved 1 of 3 tasks" in summary
    (row,) = leaderboard(records)
    assert (row["solved"], row["tasks"], row["suite"]) == (1, 3, "beyond-normal-v1")
    asv_scores = asv_suite.solved_scores(records, "ksg")
    assert asv_suite.tasks_solved(asv_scores, "beyond-normal-v1") == 1


def test_no_score_mixes_suites():
    records = seed_sensitive_records()
    scores = {s.suite: s for s in score_suites(records)}
    assert set(scores) == {"beyond-normal-v1", "independent-v1", "network-layers-v1"}
    assert scores["independent-v1"].scoring == "bias"
    assert scores["independent-v1"].mean_estimate == pytest.approx(0.01)
    layers = scores["network-layers-v1"]
    assert layers.scoring == "layers" and layers.solved == 0
    assert layers.infinite_truth == 1 and layers.infinite_estimates == (4.0,)


def test_growth_with_n_of_an_infinite_truth_is_its_slope_per_decade():
    records = [record("layer", 0, 3.0 + 1.5 * k, math.inf, suite="network-layers-v1", n=10**k)
               for k in (2, 3, 4)]
    scores = score_suites(records)
    assert [s.n for s in scores] == [100, 1000, 10_000]
    assert all(s.growth_per_decade == pytest.approx(1.5) for s in scores)


def test_every_suite_is_selectable_and_its_datasets_carry_its_tag():
    for suite in SUITES:
        for name in suite.datasets():
            assert suite_of(name, suite.name) == suite.name
    assert len(get_suite("beyond-normal-v1").datasets()) == 40
    assert suite_of("1v1-normal-0.75") == "beyond-normal-v1"
    with pytest.raises(ValueError, match="Valid suites: beyond-normal-v1"):
        get_suite("beyond-normal-v9")


def test_records_name_the_version_and_the_suite_and_the_report_prints_them(tmp_path):
    records = mibench.run("ksg", suite="independent-v1", n=300)
    assert len(records) == len(get_suite("independent-v1").datasets())
    assert {(r.suite, r.mibench_version) for r in records} == {("independent-v1", mibench.__version__)}
    written = write_report(records, tmp_path)
    text = written["leaderboard"].read_text()
    assert f"mibench version: {mibench.__version__}" in text
    assert "suites: independent-v1" in text
    assert "independent-v1: ksg" in text and "pairs with true MI 0" in text


def test_bare_and_specific_parameters():
    names = ["ksg", "gaussian", "ksg-mixed"]
    resolved = resolve_params(names, {"k": 5, "ksg.k": 7})
    assert resolved == {"ksg": {"k": 7}, "gaussian": {}, "ksg-mixed": {"k": 5}}
    assert resolve_params(names, {"ksg": {"k": 4}})["ksg"] == {"k": 4}
    with pytest.raises(ValueError, match="taken by none of the estimators ksg, gaussian"):
        resolve_params(["ksg", "gaussian"], {"bandwidth": 1.0})
    with pytest.raises(ValueError, match="not among the estimators run"):
        resolve_params(["ksg"], {"kde": {"bandwidth": 1.0}})


def test_the_api_takes_parameters_per_estimator():
    records = mibench.run(["ksg", "gaussian"], ["1v1-normal-0.75"], n=300, params={"ksg": {"k": 5}})
    assert [r.params.get("k") for r in records] == [5, None]
    bare = mibench.run(["ksg", "gaussian"], ["1v1-normal-0.75"], n=300, params={"k": 5})
    assert [r.params.get("k") for r in bare] == [5, None]


def test_the_cli_applies_a_bare_parameter_only_where_it_belongs(capsys):
    code = main(["run", "-e", "ksg", "-e", "gaussian", "-d", "1v1-normal-0.75", "--n", "300",
                 "--param", "k=5", "--format", "json"])
    assert code == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert [row["params"].get("k") for row in rows] == [5, None]
    assert {row["suite"] for row in rows} == {"beyond-normal-v1"}


def test_a_task_shared_by_two_suites_counts_toward_each_suite_that_was_run():
    shared = "1v1-additive-0.75"
    assert suite_of(shared, "beyond-normal-v2") == "beyond-normal-v2"
    new_in_v2 = "1v1-AI"
    truth = mibench.get_dataset(new_in_v2).mutual_information
    only_v1 = [record(shared, 0, 1 / 3, 1 / 3)]
    assert [s.suite for s in score_suites(only_v1)] == ["beyond-normal-v1"]
    both = only_v1 + [record(new_in_v2, 0, truth, truth, suite="beyond-normal-v2")]
    scores = {s.suite: s for s in score_suites(both)}
    assert (scores["beyond-normal-v1"].solved, scores["beyond-normal-v1"].scored) == (1, 1)
    assert (scores["beyond-normal-v2"].solved, scores["beyond-normal-v2"].scored) == (2, 2)
