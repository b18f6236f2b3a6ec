"""The piecewise-constant experiment, quick: exact and binned functionals are flat under a tiny
step almost everywhere, the decision rule and noisy layer are not."""

import math

import numpy as np
import pytest
from experiment_checks import check_output_files, verdict

from mibench.experiments import run_experiment
from mibench.experiments.piecewise_constant import (
    _NoisyLayerInformation,
    decision_rule_information,
)

LOG_INPUTS = math.log(4096)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("piecewise")
    return output_dir, run_experiment("piecewise-constant", output_dir, quick=True)


def test_writes_records_summary_and_figure(quick_run):
    output_dir, result = quick_run
    rows = check_output_files(output_dir, result, swept="t", figures=1)
    assert {"finite_difference", "layer"} <= set(rows[0])
    assert len({r["t"] for r in rows}) == 200


def test_exact_and_binned_have_zero_difference_almost_everywhere(quick_run):
    _, result = quick_run
    assert verdict(result, "exact H(L_l)").value >= 0.95
    assert verdict(result, "30-bin estimate").value >= 0.95


def test_remedies_have_nonzero_difference_almost_everywhere(quick_run):
    _, result = quick_run
    assert verdict(result, "decision rule").value <= 0.05
    assert verdict(result, "noisy layer").value <= 0.05
    assert result.holds


def test_functionals_respect_their_bounds(quick_run):
    _, result = quick_run
    exact = {(r["t"], r["layer"]): r["estimate_nats"] for r in result.rows
             if r["estimator"] == "exact-entropy"}
    for row in result.rows:
        value = row["estimate_nats"]
        if row["estimator"] in ("exact-entropy", "noisy-layer"):
            assert 0.0 <= value <= LOG_INPUTS + 1e-9
        elif row["estimator"] == "binning":
            # binning a deterministic layer merges rows: never above the exact H(L_l)
            assert value <= exact[(row["t"], row["layer"])] + 1e-9
        else:
            assert 0.0 <= value <= math.log(2) + 1e-12


def test_decision_rule_information_limits():
    sure = np.array([[50.0, -50.0]] * 3 + [[-50.0, 50.0]] * 1)
    assert decision_rule_information(sure) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), abs=1e-9)
    assert decision_rule_information(np.zeros((8, 2))) == pytest.approx(0.0, abs=1e-12)


def test_noisy_layer_information_limits():
    far = 100.0 * np.eye(16)
    assert _NoisyLayerInformation(16, 16, 256, 0.1, 0)(far) == pytest.approx(math.log(16), abs=1e-9)
    same = np.zeros((16, 4))
    assert _NoisyLayerInformation(16, 4, 256, 0.1, 0)(same) == pytest.approx(0.0, abs=1e-9)
