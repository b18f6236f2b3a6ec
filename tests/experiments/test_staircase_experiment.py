"""The staircase experiment, quick mode: its table, its figure, and InfoNCE's ceiling."""

import math

import pytest

from mibench.experiments import get_experiment, list_experiments
from mibench.experiments.staircase import BATCH_SIZE, BOUNDS

CEILING = math.log(64)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("staircase")
    return output_dir, get_experiment("staircase")(output_dir, True)


def test_is_registered():
    assert "staircase" in list_experiments()
    assert BATCH_SIZE == 64


def test_table_has_every_bound_and_level_with_the_ceiling(quick_run):
    _, result = quick_run
    rows = result.tables["staircase"]
    assert {(r["bound"], r["mi_true"]) for r in rows} == {
        (bound, level) for bound in BOUNDS for level in (2.0, 8.0)
    }
    for row in rows:
        assert row["log_batch_ceiling"] == pytest.approx(CEILING)
        assert row["kind"] == "gaussian" and row["seeds"] == 1
        if row["failed"]:
            assert row["estimate"] is None and row["error"]
        else:
            assert math.isfinite(row["estimate"]) and row["tail_variance"] >= 0
    assert len(result.records) == len(rows)
    assert f"log 64 = {CEILING:.2f}" in result.summary


def test_infonce_stays_below_log_64_and_grows_with_the_truth(quick_run):
    _, result = quick_run
    infonce = {r["mi_true"]: r for r in result.tables["staircase"] if r["bound"] == "infonce"}
    for row in infonce.values():
        assert row["failed"] == 0
        assert row["estimate"] <= CEILING + 1e-6
        assert row["tail_mean"] <= CEILING + 1e-6
    # 8 nats is far above the ceiling, 2 nats below it: the estimate must still rise...
    assert infonce[8.0]["estimate"] > infonce[2.0]["estimate"] + 0.5
    # ...but falls far short of the truth, which is what the figure shows.
    assert infonce[8.0]["estimate"] < 8.0 - 3.0
    for record in result.records:
        if record.estimator == "infonce":
            assert record.extras["infonce_ceiling"] == pytest.approx(CEILING)
            assert max(record.extras["curve"]["test"]) <= CEILING + 1e-6


def test_tidy_rows_and_verdicts(quick_run):
    _, result = quick_run
    assert len(result.rows) == len(result.records)
    for row in result.rows:
        assert {"estimator", "params", "seed", "estimate_nats", "truth_nats", "level_nats"} <= set(row)
        assert row["truth_nats"] == row["level_nats"] in (2.0, 8.0)
    (ceiling,) = [v for v in result.verdicts if v.name.startswith("InfoNCE's largest")]
    assert ceiling.holds and ceiling.value <= CEILING + 1e-6
    (shortfall,) = [v for v in result.verdicts if v.name.startswith("InfoNCE's mean shortfall")]
    assert shortfall.value > 3.0  # 8 nats of truth against a ceiling of 4.16


def test_writes_a_png_figure(quick_run):
    output_dir, result = quick_run
    (figure,) = result.figures
    assert figure == output_dir / "staircase.png"
    data = figure.read_bytes()
    assert len(data) > 10_000
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
