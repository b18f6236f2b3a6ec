"""The piecewise-constant experiment: the exact I(X; L) of the ReLU network and the arg-max
decision rule are staircases in the weights, the tanh network's exact H(L) a constant; a
stochastic decision and a noisy layer are smooth."""

import math

import numpy as np
import pytest
from experiment_checks import check_output_files, verdict

from mibench.experiments.piecewise_constant import (
    _NoisyLayerInformation,
    argmax_rule_information,
    decision_rule_information,
)

LOG_INPUTS = math.log(4096)


@pytest.fixture
def quick_run(quick_run_of):
    return quick_run_of("piecewise-constant")


def test_writes_records_summary_and_figure(tiny_run):
    output_dir, result = tiny_run("piecewise-constant")
    rows = check_output_files(output_dir, result, swept="t", figures=1)
    assert {"finite_difference", "layer", "network", "gradient_magnitude"} <= set(rows[0])
    assert len({r["t"] for r in rows}) == result.settings["points"]
    assert {r["estimator"] for r in rows} == {"exact-entropy", "binning", "argmax-rule",
                                             "softmax-rule", "noisy-layer"}


def test_functionals_respect_their_bounds(tiny_run):
    _, result = tiny_run("piecewise-constant")
    exact = {(r["t"], r["network"], r["layer"]): r["estimate_nats"] for r in result.rows
             if r["estimator"] == "exact-entropy"}
    for row in result.rows:
        value = row["estimate_nats"]
        if row["estimator"] in ("exact-entropy", "noisy-layer"):
            assert 0.0 <= value <= LOG_INPUTS + 1e-9
        elif row["estimator"] == "binning":
            # binning a deterministic layer merges rows: never above the exact H(L_l)
            assert value <= exact[(row["t"], row["network"], row["layer"])] + 1e-9
        else:
            assert 0.0 <= value <= math.log(2) + 1e-12
    # tanh is injective: the exact H(L) is log 4096 everywhere; ReLU merges inputs
    assert all(v == pytest.approx(LOG_INPUTS, abs=1e-9)
               for (_, network, _), v in exact.items() if network == "tanh")
    assert min(v for (_, network, _), v in exact.items() if network == "relu") < LOG_INPUTS - 0.01


def test_argmax_and_softmax_rules_agree_only_when_sure():
    sure = np.array([[50.0, -50.0]] * 3 + [[-50.0, 50.0]] * 1)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert argmax_rule_information(sure) == pytest.approx(entropy, abs=1e-12)
    assert decision_rule_information(sure) == pytest.approx(entropy, abs=1e-9)
    # a small move of the logits changes the softmax rule and leaves the arg max alone
    unsure = sure / 25.0
    moved = unsure + np.array([[0.0, 0.1]] * 4)
    assert argmax_rule_information(moved) == argmax_rule_information(unsure) == pytest.approx(
        entropy)
    assert decision_rule_information(moved) != decision_rule_information(unsure)
    assert decision_rule_information(unsure) < argmax_rule_information(unsure)


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


@pytest.mark.slow
def test_quick_staircases_and_smooth_remedies(quick_run):
    _, result = quick_run
    relu = verdict(result, "ReLU network, exact H(L_l): fraction")
    assert relu.value >= 0.95 and relu.control.value <= 0.05
    steps = verdict(result, "ReLU network, exact H(L_l): distinct")
    assert steps.value >= 3 and steps.control.value == 1
    assert verdict(result, "tanh network, 30-bin").value >= 0.95
    assert verdict(result, "arg-max decision rule").value >= 0.95
    assert verdict(result, "stochastic (softmax-sampled)").value <= 0.05
    assert verdict(result, "noisy layer").value <= 0.05
    assert result.holds
