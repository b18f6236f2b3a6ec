"""The staircase experiment: its table, its figure, InfoNCE's ceiling, and the verdicts that
the uncapped bounds beat it above log(batch)."""

import math

import pytest

from mibench.experiments import get_experiment, list_experiments
from mibench.experiments.staircase import (
    BATCH_SIZE,
    MIN_GAIN,
    optimal_infonce,
    staircase_verdicts,
)

CEILING = math.log(64)


@pytest.fixture
def quick_run(quick_run_of):
    return quick_run_of("staircase")


def test_is_registered():
    assert "staircase" in list_experiments()
    assert BATCH_SIZE == 64
    get_experiment("staircase")


def test_table_figure_and_ceiling_at_the_tiny_size(tiny_run):
    output_dir, result = tiny_run("staircase")
    rows = result.tables["staircase"]
    bounds = result.settings["bounds"]
    assert {(r["bound"], r["mi_true"]) for r in rows} == {
        (bound, level) for bound in bounds for level in (2.0, 8.0)}
    for row in rows:
        assert row["log_batch_ceiling"] == pytest.approx(CEILING)
        assert row["optimal_infonce"] <= min(CEILING, row["mi_true"])
        if row["failed"]:
            assert row["estimate"] is None and row["error"]
        else:
            assert math.isfinite(row["estimate"]) and row["tail_variance"] >= 0
    for record in result.records:
        if record.estimator == "infonce" and record.ok:
            assert max(record.extras["curve"]["test"]) <= CEILING + 1e-6
    (figure,) = result.figures
    assert figure == output_dir / "staircase.png" and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _row(bound, truth, estimate):
    return {"bound": bound, "mi_true": truth, "estimate": estimate}


def test_verdicts_on_made_up_tables():
    # Uncapped bounds that track the truth: every verdict holds and every control fails.
    good = [_row("infonce", 2.0, 1.9), _row("infonce", 8.0, 4.1),
            _row("nwj", 2.0, 1.85), _row("nwj", 8.0, 6.5),
            _row("smile", 2.0, 1.8), _row("smile", 8.0, 5.9)]
    verdicts = staircase_verdicts(good, accuracy_verdict=True)
    assert len(verdicts) == 3 and all(v.passes for v in verdicts), verdicts
    # Undertrained bounds that read what InfoNCE reads (the quick run): the ceiling
    # plays no role, and the checks say so.
    flat = [_row("infonce", 2.0, 0.9), _row("infonce", 8.0, 3.4),
            _row("nwj", 2.0, 0.8), _row("nwj", 8.0, 3.5)]
    ceiling, gain, accuracy = staircase_verdicts(flat, accuracy_verdict=True)
    assert ceiling.holds and ceiling.control.holds and not ceiling.passes
    assert not gain.holds and not accuracy.holds


def test_the_gain_control_takes_only_truths_far_below_the_ceiling():
    # At 4 nats, just under log 64, InfoNCE already bends (the default run: 2.97 against 3.96
    # for SMILE); the control must compare where the ceiling plays no role, at 2 nats.
    rows = [_row("infonce", 2.0, 1.75), _row("infonce", 4.0, 2.97), _row("infonce", 8.0, 3.97),
            _row("smile", 2.0, 1.84), _row("smile", 4.0, 3.96), _row("smile", 8.0, 8.9)]
    _, gain, _ = staircase_verdicts(rows, accuracy_verdict=True)
    assert gain.holds and gain.control.value == pytest.approx(1.84 - 1.75)
    assert not gain.control.holds and gain.passes


def test_optimal_infonce_sets_where_the_ceiling_binds():
    # The ideal InfoNCE (exact density ratio as critic) never exceeds log K, stays within
    # Jensen's bound on its deficit, log(1 + (e^(2I) - 1) / K) (E_p[r] = e^(2I) for these
    # Gaussian pairs), and is near the truth at a small MI.
    ideal = {level: optimal_infonce(level, batches=200) for level in (0.25, 1.0, 2.0, 4.0, 8.0)}
    for level, value in ideal.items():
        assert value <= CEILING
        assert 0 <= level - value <= math.log1p(math.expm1(2 * level) / BATCH_SIZE) + 0.05
    assert ideal[0.25] == pytest.approx(0.25, abs=0.05)
    assert ideal[8.0] > CEILING - 0.3
    # A priori, before any training: at the control's levels (<= log(K) / 2) even perfect
    # bounds beat InfoNCE by well under MIN_GAIN; at 4 nats, just under log K, by more, so a
    # control there could hold for perfectly trained bounds.
    assert 2.0 - ideal[2.0] < MIN_GAIN / 2
    assert 4.0 - ideal[4.0] > MIN_GAIN
    # And its negative: a batch large enough to lift the ceiling far above 4 nats.
    assert 4.0 - optimal_infonce(4.0, batch_size=1024, batches=2) < MIN_GAIN


@pytest.mark.slow
def test_quick_infonce_stays_below_log_64_and_the_others_beat_it(quick_run):
    _, result = quick_run
    infonce = {r["mi_true"]: r for r in result.tables["staircase"] if r["bound"] == "infonce"}
    for row in infonce.values():
        assert row["failed"] == 0
        assert row["estimate"] <= CEILING + 1e-6
    assert infonce[8.0]["estimate"] < 8.0 - 3.0
    # The 2-nat accuracy verdict is decided at the quick size: every uncapped bound within 0.3.
    uncapped_at_2 = [r for r in result.tables["staircase"]
                     if r["mi_true"] == 2.0 and r["bound"] != "infonce"]
    assert len(uncapped_at_2) == 4
    assert all(abs(r["estimate"] - 2.0) <= 0.3 for r in uncapped_at_2), uncapped_at_2
    (accuracy,) = [v for v in result.verdicts if v.name.startswith("largest |error|")]
    assert accuracy.value <= 0.3 < accuracy.control.value
    assert all(v.passes for v in result.verdicts), result.verdicts
