"""The decision-rule experiment: structure and controls at a tiny size; the verdicts at quick."""

import math

import pytest
from experiment_checks import verdict
from remedy_checks import check_output_files, check_verdicts_and_controls, run_tiny

from mibench.experiments import decision_rule, run_experiment


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("decision_rule")
    return output_dir, run_tiny(decision_rule, "decision-rule", output_dir)


def test_tiny_run_writes_files_and_every_control_fails(tiny_run):
    output_dir, result = tiny_run
    rows = check_output_files(output_dir, result, swept="beta", figures=2)
    # per seed: one cross-entropy row and, per beta, three starts (random, cross-entropy
    # network, annealing path)
    assert len(rows) == 2 * (1 + 2 * 3)
    # 1 verdict below beta = 1, one per beta above 1
    check_verdicts_and_controls(result, 1 + 1)
    label_entropy = result.settings["label_entropy_nats"]
    for row in result.rows:
        # exact over the training inputs: 0 <= I(Y; Y_hat) <= I(X; Y_hat) <= log 2
        assert -1e-12 <= row["label_information_nats"] <= row["estimate_nats"] + 1e-12
        assert row["estimate_nats"] <= math.log(2) + 1e-12
        if row["loss"] == "decision-rule":
            # the objective's lower bound: 0 for beta < 1, (1 - beta) H(Y) for beta > 1
            beta = row["beta"]
            bound = 0.0 if beta < 1 else (1 - beta) * float(label_entropy)
            assert row["loss_nats"] >= bound - 1e-3, row


def test_the_optimum_is_the_candidate_with_the_lowest_training_objective(tiny_run):
    _, result = tiny_run
    candidates = {}
    for row in result.rows:
        if row["loss"] == "decision-rule":
            candidates.setdefault((row["seed"], row["beta"]), []).append(row)
    assert len(candidates) == 2 * 2
    for group in candidates.values():
        chosen = [r for r in group if r["selected"]]
        assert len(chosen) == 1
        assert chosen[0]["loss_nats"] <= min(r["loss_nats"] for r in group) + 1e-9


def test_training_is_deterministic_for_a_seed():
    import torch

    from mibench.networks.inputs import szt12
    from mibench.networks.models import MLP

    x, labels = torch.tensor(szt12().x[:256]), torch.tensor(szt12().labels[:256])
    states = []
    for _ in range(2):
        model = MLP(12, (8,), 2, seed=3)
        decision_rule._fit(model, x, labels, 2.0, steps=5, learning_rate=0.05)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.slow
def test_quick_verdicts(tmp_path):
    result = run_experiment("decision-rule", tmp_path, quick=True)
    harmful = verdict(result, "optimum (lowest training objective over the starts), beta < 1")
    assert harmful.holds and harmful.value <= 0.56
    # at the optimum every beta > 1 keeps cross-entropy's accuracy: the compression is useless
    for beta in (1.1, 2.0, 10.0):
        assert verdict(result, f"optimum (lowest training objective over the starts), "
                               f"beta = {beta}").holds
    assert not any(v.control.holds for v in result.verdicts)
