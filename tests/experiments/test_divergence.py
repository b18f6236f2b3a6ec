"""The divergence experiment: the exact MI grows like ln(1/sigma) as the noise vanishes;
deterministic layers' estimates climb with n, noisy ones settle on the quadrature MI; the files
it leaves. Fast tests run the tiny size; the verdict numbers are checked at the quick size."""

import math

import numpy as np
import pytest
from experiment_checks import check_output_files, read_records, verdict
from scipy import integrate

from mibench.experiments.divergence import EXACT_SIGMAS


@pytest.fixture
def quick_run(quick_run_of):
    return quick_run_of("divergence")


def test_writes_records_summary_and_figures(tiny_run):
    output_dir, result = tiny_run("divergence")
    rows = check_output_files(output_dir, result, swept="n", figures=3)
    assert {"resolution", "layer", "label", "sigma"} <= set(rows[0])
    deterministic = [r for r in rows if r["layer"] == "tanh-1d"]
    assert deterministic and all(r["truth_nats"] == "inf" for r in deterministic)
    assert all(r["truth_nats"] == "" for r in rows if r["layer"] == "mlp-noisy")
    exact = [r for r in rows if r["sweep"] == "sigma" and r["layer"] == "tanh-1d-noisy"]
    assert sorted(float(r["sigma"]) for r in exact) == sorted(EXACT_SIGMAS)
    assert all(r["truth_nats"] == r["estimate_nats"] for r in exact)


def test_exact_sweep_approaches_the_small_noise_limit(tiny_run):
    # Independent of the quadrature: I = h(tanh(2X)) - h(sigma Z) + o(1), with
    # h(tanh(2X)) = h(X) + E log |d tanh(2X)/dX| for X ~ U[-1, 1].
    _, result = tiny_run("divergence")
    h_layer = math.log(2) + integrate.quad(
        lambda x: math.log(2 / math.cosh(2 * x) ** 2) / 2, -1, 1)[0]
    for row in result.rows:
        if row.get("sweep") == "sigma" and row["layer"] == "tanh-1d-noisy":
            limit = h_layer - 0.5 * math.log(2 * math.pi * math.e * row["sigma"] ** 2)
            if row["sigma"] <= 0.003:
                assert row["estimate_nats"] == pytest.approx(limit, abs=0.03)
            assert row["estimate_nats"] >= limit - 1e-3  # the edges only add information
        if row.get("sweep") == "sigma" and row["layer"] == "tanh-8pt-noisy":
            assert row["estimate_nats"] <= math.log(8) + 1e-9


def test_rise_is_recomputable_from_the_records(tiny_run):
    output_dir, result = tiny_run("divergence")
    rows = [r for r in read_records(output_dir)
            if r["sweep"] == "n" and r["layer"] == "tanh-1d" and r["label"] == "ksg k=3"]
    n = np.array([float(r["n"]) for r in rows])
    estimates = np.array([float(r["estimate_nats"]) for r in rows])
    slope = np.polyfit(np.log10(n), estimates, 1)[0]
    assert slope == pytest.approx(verdict(result, "ksg k=3: rise per decade of n, det").value)


@pytest.mark.slow
def test_quick_ksg_rises_on_the_deterministic_layer_and_levels_off_on_the_noisy_one(quick_run):
    _, result = quick_run
    # an infinite MI: the kNN estimate grows like log n, about 2.3 nats per decade
    rising = verdict(result, "ksg k=3: rise per decade of n, deterministic")
    assert rising.value >= 1.5 and abs(rising.control.value) <= 0.1
    assert abs(verdict(result, "ksg k=3: rise per decade of n, noisy").value) <= 0.1


@pytest.mark.slow
def test_quick_noisy_ksg_and_noisy_sp_agree_with_quadrature(quick_run):
    _, result = quick_run
    truths = {r["truth_nats"] for r in result.rows
              if r["layer"] == "tanh-1d-noisy" and r.get("sweep") == "n"}
    (truth,) = truths
    assert 1.0 < truth < math.log(2 / (0.1 * math.sqrt(2 * math.pi * math.e))) + 0.5
    assert abs(verdict(result, "ksg k=3 minus exact MI").value) <= 0.1
    sp = verdict(result, "noisy-sp minus exact MI")
    assert abs(sp.value) <= 0.1 and abs(sp.control.value) > 0.3  # the wrong sigma is seen


@pytest.mark.slow
def test_quick_binning_follows_the_log_of_the_bin_count_only_without_noise(quick_run):
    _, result = quick_run
    slope = verdict(result, "binning at n")
    assert 0.8 <= slope.value <= 1.1 and slope.control.value < 0.8
    # and never exceeds log n, the most a plug-in over n samples can give
    for row in result.rows:
        if row["estimator"] == "binning" and row["estimate_nats"] is not None:
            assert row["estimate_nats"] <= math.log(row["n"]) + 1e-9


@pytest.mark.slow
def test_quick_noisy_mlp_layer_converges_and_the_deterministic_one_does_not(quick_run):
    _, result = quick_run
    ratio = verdict(result, "noisy-sp on the noisy MLP layer")
    assert ratio.value < 0.5 <= ratio.control.value
    assert result.holds
