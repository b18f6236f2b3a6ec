"""The approximations experiment: structure and controls at a tiny size; the verdicts at quick."""

import math

import pytest
from experiment_checks import verdict
from remedy_checks import check_output_files, check_verdicts_and_controls, run_tiny

from mibench.experiments import approximations, run_experiment


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("approximations")
    return output_dir, run_tiny(approximations, "approximations", output_dir)


def test_tiny_run_writes_files_and_every_control_fails(tiny_run):
    output_dir, result = tiny_run
    check_output_files(output_dir, result, swept="beta", figures=2)
    check_verdicts_and_controls(result, 4)
    methods = {row["method"] for row in result.rows}
    assert {"cross-entropy", "nonlinear IB", "cross-entropy (control seeds)"} <= methods
    for row in result.rows:
        # digits has 1,797 distinct images: H(X) = log 1797, whatever the encoder
        assert row["truth_nats"] == pytest.approx(math.log(1797), abs=1e-12)
        assert 0.0 <= row["test_accuracy"] <= 1.0 and -1.0 <= row["silhouette"] <= 1.0


def test_exact_information_is_log_1797_for_every_encoder(tiny_run):
    _, result = tiny_run
    blind = verdict(result, "spread over all encoders")
    assert blind.passes and blind.value <= 1e-9
    # the control (the decisions' H(Y_hat)) differs between encoders by far more
    assert blind.control.value > 0.01


@pytest.mark.slow
def test_quick_verdicts(tmp_path):
    result = run_experiment("approximations", tmp_path, quick=True)
    assert verdict(result, "spread over all encoders").passes
    assert verdict(result, "accuracy drop under FGSM").passes
    assert verdict(result, "VIB: silhouette").passes
    assert not any(v.control.holds for v in result.verdicts)
