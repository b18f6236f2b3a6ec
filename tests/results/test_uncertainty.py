"""Uncertainty of the scores (mibench.results.uncertainty), on hand-built records whose spread
is known: bootstrap intervals over seeds, per-task spread, standard-error coverage, convergence."""

import math

import numpy as np
import pytest

from mibench.core.contracts import Record
from mibench.core.records import load_records, save_records
from mibench.results.report import write_report
from mibench.results.scoring import score_suites
from mibench.results.uncertainty import (
    bootstrap_scores,
    converged_only,
    convergence,
    stderr_coverage,
    task_spreads,
    uncertainty_markdown,
)


def record(estimator, dataset, estimate, truth, seed, *, status="ok", extras=None, params=None):
    return Record(
        estimator=estimator, params=params or {}, dataset=dataset, n=1000, seed=seed,
        estimate=estimate if status == "ok" else None, truth=truth, seconds=0.1, status=status,
        error=None if status == "ok" else "RuntimeError: broken", extras=extras or {},
    )


def noisy_records(estimator, ratio, relative_sd, *, tasks=20, seeds=10, rng_seed=0):
    """Every task has truth 1; each seed's estimate is ratio * (1 + relative_sd * N(0, 1))."""
    rng = np.random.default_rng(rng_seed)
    return [
        record(estimator, f"task-{t}", ratio * (1 + relative_sd * rng.normal()), 1.0, seed)
        for t in range(tasks) for seed in range(seeds)
    ]


def test_point_values_are_the_scores_of_the_one_scoring_function():
    records = noisy_records("a", 1.4, 0.1) + noisy_records("b", 1.0, 0.3, rng_seed=1)
    intervals = {i.estimator: i for i in bootstrap_scores(records, resamples=200)}
    for score in score_suites(records):
        interval = intervals[score.estimator]
        assert interval.solved == score.solved and interval.scored == score.scored == 20
        assert interval.median_abs_log_ratio == pytest.approx(score.median_abs_log_ratio, abs=1e-12)
        assert interval.solved_low <= interval.solved <= interval.solved_high
        assert interval.median_low <= interval.median_abs_log_ratio <= interval.median_high
        assert interval.seeds == 10 and interval.level == 0.95


def test_no_spread_gives_a_point_and_a_spread_near_the_threshold_a_wide_interval():
    exact = bootstrap_scores(noisy_records("exact", 1.2, 0.0), resamples=300)[0]
    assert (exact.solved_low, exact.solved, exact.solved_high) == (20, 20, 20)
    assert exact.median_low == pytest.approx(math.log(1.2), abs=1e-12)
    assert exact.median_high == pytest.approx(math.log(1.2), abs=1e-12)
    # The control: seed averages straddle the factor 1.5, so the solved count is uncertain.
    borderline = bootstrap_scores(noisy_records("borderline", 1.5, 0.3), resamples=300)[0]
    assert borderline.solved_high - borderline.solved_low >= 4


def test_a_failed_seed_fails_its_task_only_in_the_resamples_that_draw_it():
    records = noisy_records("a", 1.0, 0.01, tasks=3, seeds=8)
    records[0] = record("a", "task-0", None, 1.0, 0, status="failed")
    interval = bootstrap_scores(records, resamples=500)[0]
    assert interval.solved == 2  # the failure fails task-0 with all seeds
    # (7/8)^8 = 34 % of resamples leave seed 0 out and solve all three.
    assert interval.solved_high == 3 and interval.solved_low == 2


@pytest.mark.slow  # 120 bootstraps: a few seconds
@pytest.mark.parametrize(("level", "lowest", "highest"), [(0.95, 0.85, 1.0), (0.5, 0.3, 0.7)])
def test_the_interval_of_a_mean_covers_at_its_level(level, lowest, highest):
    # One task, estimates N(1.3, 0.3) over 10 seeds: the median error of the seed average
    # is a known |log 1.3| for the population. Over 60 repeated record sets the 95 %
    # interval holds it about 9 in 10 times (a percentile bootstrap of 10 seeds is a bit
    # narrow); the 50 % interval, the control, only about half the time.
    truth_error = math.log(1.3)
    covered = 0
    for repetition in range(60):
        rng = np.random.default_rng(100 + repetition)
        records = [record("a", "task", 1.3 + 0.3 * rng.normal(), 1.0, s) for s in range(10)]
        interval = bootstrap_scores(records, resamples=300, level=level, seed=repetition)[0]
        covered += interval.median_low <= truth_error <= interval.median_high
    assert lowest <= covered / 60 <= highest


def test_task_spread_recovers_a_known_mean_sd_bias_and_rmse():
    rng = np.random.default_rng(7)
    records = [record("a", "task", 1.1 + 0.2 * rng.normal(), 1.0, s) for s in range(400)]
    records.append(record("a", "task", None, 1.0, 400, status="failed"))
    (spread,) = task_spreads(records)
    assert spread.runs == 400 and spread.failed == 1
    assert spread.mean == pytest.approx(1.1, abs=3 * 0.2 / 20)
    assert spread.bias == pytest.approx(0.1, abs=3 * 0.2 / 20)
    assert spread.sd == pytest.approx(0.2, rel=0.1)
    assert spread.stderr_of_mean == pytest.approx(0.2 / 20, rel=0.1)
    # sqrt(0.1^2 + 0.2^2) = 0.224 for the population; the sample's bias may be 0.07 to 0.13.
    assert 0.19 < spread.rmse < 0.26
    assert spread.rmse**2 == pytest.approx(spread.bias**2 + 399 / 400 * spread.sd**2, rel=1e-12)
    # An infinite truth has no bias; a single run no spread.
    (one,) = task_spreads([record("b", "layer", 3.0, math.inf, 0)])
    assert math.isnan(one.bias) and math.isnan(one.sd) and one.mean == 3.0


def test_coverage_of_honest_and_of_too_small_standard_errors():
    rng = np.random.default_rng(3)
    honest, overconfident = [], []
    for seed in range(600):
        estimate = 0.7 + 0.05 * rng.normal()
        honest.append(record("honest", "task", estimate, 0.7, seed, extras={"stderr": 0.05}))
        overconfident.append(record("small", "task", estimate, 0.7, seed, extras={"stderr": 0.015}))
    coverage = {c.estimator: c for c in stderr_coverage(honest + overconfident)}
    assert coverage["honest"].runs == 600
    assert coverage["honest"].fraction == pytest.approx(0.95, abs=0.03)
    assert coverage["small"].fraction < 0.5  # 1.96 x 0.3 sd: about 44 %
    # The truth's own standard error widens the interval.
    widened = [record("w", "task", 0.8, 0.7, 0, extras={"stderr": 0.01, "truth_stderr": 0.1})]
    assert stderr_coverage(widened)[0].covered == 1
    assert stderr_coverage([record("w", "task", 0.8, 0.7, 0, extras={"stderr": 0.01})])[0].covered == 0


def test_convergence_share_and_converged_only_scores():
    records = []
    for seed in range(4):
        converged = seed < 3
        diagnostics = {"converged": converged, "stopped_early": converged,
                       "training_still_rising": not converged, "training_dropped": False}
        # The unconverged seed reads far off the truth: the seed average is 0.25.
        records.append(record("mine", "task", 1.0 if converged else -2.0, 1.0, seed,
                              extras={"diagnostics": diagnostics}))
    records.append(record("ksg", "task", 1.0, 1.0, 0))  # no diagnostics: not counted, kept
    (share,) = convergence(records)
    assert (share.estimator, share.runs, share.converged, share.fraction) == ("mine", 4, 3, 0.75)
    assert share.still_rising == 1 and share.stopped_early == 3
    kept = converged_only(records)
    assert len(kept) == 4 and all(r.seed != 3 or r.estimator == "ksg" for r in kept)
    solved = {s.estimator: s.solved for s in score_suites(records)}
    assert solved["mine"] == 0
    assert {s.estimator: s.solved for s in score_suites(kept)}["mine"] == 1
    text = uncertainty_markdown(records, resamples=50)
    assert "## Convergence of the neural runs" in text and "| mine | 4 | 3 (75 %) |" in text


def test_the_leaderboard_table_gives_each_score_its_interval_over_seeds():
    from mibench.results.report import leaderboard, leaderboard_html, leaderboard_markdown

    several = leaderboard(noisy_records("a", 1.5, 0.3, tasks=5, seeds=6))
    (row,) = several
    low, high = row["solved_interval"]
    assert low <= row["solved"] <= high
    assert row["median_interval"][0] <= row["median_abs_log_ratio"] <= row["median_interval"][1]
    cell = f"{row['solved']} / {row['tasks']} [{low}, {high}]"
    assert cell in leaderboard_markdown(several) and cell in leaderboard_html(several)
    # Negative control: one seed has nothing to resample, so no bracket is printed.
    (single,) = leaderboard(noisy_records("a", 1.5, 0.3, tasks=5, seeds=1))
    assert single["solved_interval"] is None
    assert f"{single['solved']} / {single['tasks']} |" in leaderboard_markdown([single])


@pytest.mark.slow  # renders two figures
def test_report_carries_intervals_spreads_and_a_figure(tmp_path):
    records = noisy_records("a", 1.2, 0.1, tasks=3, seeds=4)
    records[0].extras["stderr"] = 0.5
    save_records(records, tmp_path / "records.jsonl")
    written = write_report(load_records(tmp_path), tmp_path)
    text = written["leaderboard"].read_text()
    assert "## Intervals over seeds (95 % bootstrap)" in text
    assert "| a | 3 / 3 [3, 3] |" in text
    assert "## Coverage of the estimators' own standard errors" in text
    page = written["html"].read_text()
    assert "3 / 3 [3, 3]" in page and "<h2>Coverage of the estimators&#x27; own" in page
    assert page.count("data:image/png;base64,") == 3  # heatmap, intervals, task spread
    for figure in ("intervals", "task_spread_figure"):
        assert written[figure].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = written["task_spread"].read_text().splitlines()
    assert rows[0].startswith("estimator,params,dataset,n,suite,truth,runs") and len(rows) == 4


def test_the_cli_summary_gives_the_interval_when_there_are_seeds_to_resample():
    from mibench.results.tables import records_summary

    several = records_summary(noisy_records("a", 1.5, 0.3, tasks=5, seeds=6))
    assert "(95 % interval over seeds: solved " in several
    one = records_summary(noisy_records("a", 1.5, 0.3, tasks=5, seeds=1))
    assert "interval over seeds" not in one  # one seed: nothing to resample


def test_the_task_figure_draws_tiny_negative_and_spread_out_means(tmp_path):
    from mibench.results.uncertainty import plot_task_spreads

    # a mean far below the truth with a wide spread, one below zero, one seed alone: drawable
    records = [record("a", "tiny", value, 1.0, seed) for seed, value in enumerate((1e-4, 3e-4))]
    records += [record("a", "negative", value, 2.0, seed) for seed, value in enumerate((-1, -2))]
    records += [record("a", "one-seed", 1.0, 1.0, 0)]
    path = plot_task_spreads(records, tmp_path / "spread.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_interval_reaching_infinity_is_printed_and_one_seed_prints_none():
    from mibench.results.report import _interval_text

    assert _interval_text((0.1, math.inf), "{:.3f}") == " [0.100, inf]"
    assert _interval_text((3, 5), "{:d}") == " [3, 5]"
    # Negative controls: nothing to resample (one seed, or no scored task) prints nothing.
    assert _interval_text(None, "{:d}") == "" and _interval_text((math.nan, 1.0), "{:.3f}") == ""
