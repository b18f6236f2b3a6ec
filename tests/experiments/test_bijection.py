"""The bijection experiment: the exact MI ignores a bijection of the layer, nothing else does."""

import math

import numpy as np
import pytest
from experiment_checks import check_output_files

from mibench.datasets.network_layers import exact_label_information
from mibench.experiments.bijection import (
    BIJECTIONS,
    OFF_DATA_JUMP,
    OffDataJump,
    probe_accuracies,
    random_rotation,
    spiral,
    wiggle,
)
from mibench.networks.inputs import get_inputs


@pytest.fixture
def quick_run(quick_run_of):
    output_dir, result = quick_run_of("bijection")
    return result, output_dir


@pytest.mark.slow
def test_quick_run_verdict_numbers(quick_run):
    result, _ = quick_run
    truth = [v for v in result.verdicts if v.name.startswith("largest change of the true")]
    assert len(truth) == 2 and max(v.value for v in truth) <= 1e-9
    assert min(v.control.value for v in truth) > 1e-6  # rounding merges rows: the MI moves
    spreads = [v for v in result.verdicts if v.name.startswith("spread of") and "[nats]" in v.name]
    assert len(spreads) == 4  # binning, ksg, kde, infonce
    for spread in spreads:
        assert spread.value > 0.2 > spread.control.value, spread
    jump = next(v for v in result.verdicts if v.name.startswith("off-data jump: P4"))
    assert jump.value >= 0.1 and abs(jump.control.value) < 1e-12
    slope = next(v for v in result.verdicts if "against P3" in v.name)
    assert slope.value >= 0.2 and abs(slope.control.value) < 1e-9
    assert all(v.passes for v in result.verdicts)


def test_truths_match_an_independent_count(tiny_run):
    # Layer 3 of the tanh network separates the 4,096 inputs, so I(X; L) = log 4096 and
    # I(Y; L) = H(Y), from the label counts alone.
    _, result = tiny_run("bijection")
    labels = get_inputs("szt12").labels
    shares = np.bincount(labels) / labels.size
    label_entropy = float(-(shares * np.log(shares)).sum())
    for row in result.tables["by bijection"]:
        assert row["true I(X; g(L))"] == pytest.approx(math.log(4096), abs=1e-9)
        assert row["true I(Y; g(L))"] == pytest.approx(label_entropy, abs=1e-9)


def test_outputs_exist_with_the_required_columns(tiny_run):
    output_dir, result = tiny_run("bijection")
    rows = check_output_files(output_dir, result, swept="bijection", figures=1)
    assert "target" in rows[0]
    assert {row["bijection"] for row in rows} == (
        {name for name, _ in BIJECTIONS} | {OFF_DATA_JUMP, "identity (re-run, rows shuffled)"})
    assert {row["estimator"] for row in rows} == {"exact", "binning", "ksg"}
    assert (output_dir / "summary.md").read_text().count("| spiral |") == 1
    table = result.tables["by bijection"]
    assert {"p3 mean", "p3 sd", "p4_drop mean", "stability mean"} <= set(table[0])


def test_the_off_data_jump_keeps_p3_and_the_mi_and_hurts_p4(tiny_run):
    _, result = tiny_run("bijection")
    rows = {row["bijection"]: row for row in result.tables["by bijection"]}
    identity, jump = rows["identity"], rows[OFF_DATA_JUMP]
    assert jump["p3 mean"] == identity["p3 mean"]
    assert jump["p4_drop mean"] > identity["p4_drop mean"] + 0.1
    assert jump["stability mean"] < identity["stability mean"]


def test_every_map_is_a_bijection_of_the_rows():
    rng = np.random.default_rng(1)
    values = np.tanh(rng.standard_normal((500, 5)))
    for name, function in BIJECTIONS:
        mapped = function(values)
        assert np.unique(mapped, axis=0).shape[0] == 500, name
    assert np.allclose(spiral(spiral(values), twist=-2 * math.pi), values, atol=1e-12)
    rotated = random_rotation(values)
    assert np.allclose(np.linalg.norm(rotated, axis=1), np.linalg.norm(values, axis=1))
    grid = np.linspace(-1, 1, 100_001)
    assert np.all(np.diff(wiggle(grid)) > 0)  # strictly increasing, although it wiggles


def test_exact_label_information_on_hand_made_layers():
    labels = np.array([0, 0, 1, 1])
    separating = np.array([[0.0], [1.0], [2.0], [3.0]])
    assert exact_label_information(separating, labels) == pytest.approx(math.log(2))
    blind = np.array([[0.0], [1.0], [0.0], [1.0]])  # each row seen once with each label
    assert exact_label_information(blind, labels) == pytest.approx(0.0, abs=1e-12)


def test_probe_accuracies_of_separable_and_scrambled_features():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 400)
    features = np.column_stack([labels * 4.0 - 2.0 + 0.1 * rng.standard_normal(400),
                                rng.standard_normal(400)])
    result = probe_accuracies(features, features[rng.permutation(400)], labels)
    assert len(result["p3"]) == 5 and min(result["p3"]) == 1.0
    # the perturbed features carry no information about the labels
    assert abs(np.mean(result["noisy"]) - 0.5) < 0.1
    assert np.allclose(result["p4_drop"], np.subtract(result["p3"], result["noisy"]))
    same = probe_accuracies(features, features, labels)
    assert max(same["p4_drop"]) == 0.0 and min(same["stability"]) == 1.0


def test_off_data_jump_is_injective_and_the_identity_on_its_rows():
    rng = np.random.default_rng(3)
    rows = np.tanh(rng.standard_normal((200, 3)))
    jump = OffDataJump(rows)
    assert np.array_equal(jump(rows), rows)
    others = np.tanh(rng.standard_normal((200, 3)))
    moved = jump(np.vstack([rows, others]))
    assert np.unique(moved, axis=0).shape[0] == 400
    assert np.allclose(moved[200:], others + 10.0)
    with pytest.raises(ValueError, match="injective"):
        OffDataJump(rows * 10)
