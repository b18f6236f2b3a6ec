"""The clustering experiment: the exact I(X; T) of the noisy neuron rises then falls, and
noisy-sp follows it within 0.02 nats; the controls (a linear neuron, two inputs, a loud noise,
a wrong sigma) fail the same checks."""

import math

import pytest
from experiment_checks import check_output_files, verdict

from mibench.experiments.clustering import exact_information


@pytest.fixture
def quick_run(quick_run_of):
    return quick_run_of("clustering")


def test_writes_records_summary_and_figures(tiny_run):
    output_dir, result = tiny_run("clustering")
    rows = check_output_files(output_dir, result, swept="w", figures=2)
    ws = {float(r["w"]) for r in rows}
    assert {0.05, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0} <= ws
    assert {r["estimator"] for r in rows} == {"exact", "noisy-sp", "binning", "ksg"}
    assert {r["seed"] for r in rows if r["estimator"] != "exact"} == {"0", "1"}


def test_exact_limits():
    # w -> 0: the four images coincide; w large: two clusters at +-1, far apart for sigma 0.1
    assert exact_information(1e-4) == pytest.approx(0.0, abs=1e-3)
    assert exact_information(5.0) == pytest.approx(math.log(2), abs=1e-3)
    assert exact_information(0.4) < math.log(4)
    # the controls' curves: a linear neuron separates, two inputs give at most log 2
    assert exact_information(5.0, sigma=0.1, activation=lambda v: v) == pytest.approx(
        math.log(4), abs=1e-6)
    assert exact_information(0.5, inputs=(-1.0, 1.0)) <= math.log(2) + 1e-12


def test_exact_curve_rises_peaks_and_falls_and_controls_do_not(tiny_run):
    _, result = tiny_run("clustering")
    for prefix in ("exact: rise", "exact: w of the peak", "exact: peak", "exact: fall"):
        found = verdict(result, prefix)
        assert found.holds and not found.control.holds, found


@pytest.mark.slow
def test_quick_noisy_sp_within_0_02_nats_of_exact_at_5000(quick_run):
    _, result = quick_run
    sp = verdict(result, "noisy-sp: largest")
    assert sp.value <= 0.02 < sp.control.value
    for row in result.rows:
        if row["label"] == "noisy-sp" and row["n"] == 5000:
            assert abs(row["estimate_nats"] - row["truth_nats"]) <= 0.02
    assert result.holds
