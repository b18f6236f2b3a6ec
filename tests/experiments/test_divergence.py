"""The divergence experiment, quick: deterministic layers' estimates climb with n, noisy ones
settle on the quadrature MI; the files it leaves."""

import math

import numpy as np
import pytest
from experiment_checks import check_output_files, verdict

from mibench.experiments import run_experiment


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("divergence")
    return output_dir, run_experiment("divergence", output_dir, quick=True)


def test_writes_records_summary_and_figures(quick_run):
    output_dir, result = quick_run
    rows = check_output_files(output_dir, result, swept="n", figures=2)
    assert {"resolution", "layer", "label"} <= set(rows[0])
    deterministic = [r for r in rows if r["layer"] == "tanh-1d"]
    assert deterministic and all(r["truth_nats"] == "inf" for r in deterministic)
    assert all(r["truth_nats"] == "" for r in rows if r["layer"] == "mlp-noisy")


def test_ksg_rises_on_the_deterministic_layer_and_levels_off_on_the_noisy_one(quick_run):
    _, result = quick_run
    for k in (3, 10):
        # an infinite MI: the kNN estimate grows like log n, about 2.3 nats per decade
        assert verdict(result, f"ksg k={k}: rise per decade of n, deterministic").value >= 1.5
        assert abs(verdict(result, f"ksg k={k}: rise per decade of n, noisy").value) <= 0.1


def test_rise_is_recomputable_from_the_records(quick_run):
    output_dir, result = quick_run
    from experiment_checks import read_records

    rows = [r for r in read_records(output_dir)
            if r["sweep"] == "n" and r["layer"] == "tanh-1d" and r["label"] == "ksg k=3"]
    n = np.array([float(r["n"]) for r in rows])
    estimates = np.array([float(r["estimate_nats"]) for r in rows])
    slope = np.polyfit(np.log10(n), estimates, 1)[0]
    assert slope == pytest.approx(verdict(result, "ksg k=3: rise per decade of n, det").value)


def test_noisy_ksg_and_noisy_sp_agree_with_quadrature(quick_run):
    _, result = quick_run
    truths = {r["truth_nats"] for r in result.rows if r["layer"] == "tanh-1d-noisy"}
    (truth,) = truths
    assert 1.0 < truth < math.log(2 / (0.1 * math.sqrt(2 * math.pi * math.e))) + 0.5
    assert abs(verdict(result, "ksg k=3 minus exact MI").value) <= 0.1
    assert abs(verdict(result, "noisy-sp minus exact MI").value) <= 0.1


def test_binning_follows_the_log_of_the_bin_count(quick_run):
    _, result = quick_run
    assert 0.8 <= verdict(result, "binning at n").value <= 1.1
    # and never exceeds log n, the most a plug-in over n samples can give
    for row in result.rows:
        if row["estimator"] == "binning" and row["estimate_nats"] is not None:
            assert row["estimate_nats"] <= math.log(row["n"]) + 1e-9


def test_noisy_mlp_layer_converges_and_the_deterministic_one_diverges(quick_run):
    _, result = quick_run
    assert verdict(result, "ksg k=3: rise over the last decade").value >= 0.5
    assert verdict(result, "noisy-sp on the noisy MLP layer").value < 0.5
    assert result.holds
