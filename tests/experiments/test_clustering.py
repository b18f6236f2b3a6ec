"""The clustering experiment, quick: the exact I(X; T) of the noisy neuron rises then falls,
and noisy-sp follows it within 0.02 nats at n = 5,000."""

import math

import pytest
from experiment_checks import check_output_files, verdict

from mibench.experiments import run_experiment
from mibench.experiments.clustering import exact_information


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("clustering")
    return output_dir, run_experiment("clustering", output_dir, quick=True)


def test_writes_records_summary_and_figures(quick_run):
    output_dir, result = quick_run
    rows = check_output_files(output_dir, result, swept="w", figures=2)
    ws = {float(r["w"]) for r in rows}
    assert {0.05, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0} <= ws
    assert {r["estimator"] for r in rows} == {"exact", "noisy-sp", "binning", "ksg"}
    assert {r["n"] for r in rows if r["estimator"] != "exact"} == {"500", "5000"}


def test_exact_limits():
    # w -> 0: the four images coincide; w large: two clusters at +-1, far apart for sigma 0.1
    assert exact_information(1e-4) == pytest.approx(0.0, abs=1e-3)
    assert exact_information(5.0) == pytest.approx(math.log(2), abs=1e-3)
    assert exact_information(0.4) < math.log(4)


def test_exact_curve_rises_peaks_and_falls(quick_run):
    _, result = quick_run
    assert verdict(result, "exact: rise").value >= 0.5
    assert 0.2 <= verdict(result, "exact: w of the peak").value <= 1.0
    assert verdict(result, "exact: fall").value >= 0.5


def test_noisy_sp_within_0_02_nats_of_exact_at_5000(quick_run):
    _, result = quick_run
    assert verdict(result, "noisy-sp: largest").value <= 0.02
    for row in result.rows:
        if row["estimator"] == "noisy-sp" and row["n"] == 5000:
            assert abs(row["estimate_nats"] - row["truth_nats"]) <= 0.02
    assert result.holds
