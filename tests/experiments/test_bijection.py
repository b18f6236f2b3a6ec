"""The bijection experiment: the exact MI ignores a bijection of the layer, nothing else does."""

import math

import numpy as np
import pytest
from experiment_checks import check_output_files

from mibench.datasets.network_layers import exact_label_information
from mibench.experiments import run_experiment
from mibench.experiments.bijection import (
    BIJECTIONS,
    probe_accuracies,
    random_rotation,
    spiral,
    wiggle,
)
from mibench.networks.inputs import get_inputs


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("bijection")
    return run_experiment("bijection", output_dir, quick=True), output_dir


def test_quick_run_verdict_numbers(quick_run):
    result, _ = quick_run
    values = {v.name: v.value for v in result.verdicts}
    truth_changes = [value for name, value in values.items() if name.startswith("largest change")]
    assert len(truth_changes) == 2 and max(truth_changes) <= 1e-9
    estimator_spreads = {name: value for name, value in values.items()
                         if name.startswith("spread of") and "[nats]" in name}
    assert len(estimator_spreads) == 4  # binning, ksg, kde, infonce
    assert min(estimator_spreads.values()) > 0.05, estimator_spreads
    # InfoNCE trains a network: the bijection must move it more than another seed does.
    seeded = [row["estimate_nats"] for row in result.rows
              if row["estimator"] == "infonce" and row["bijection"] == "identity"
              and row["target"] == "I(X; g(L))"]
    assert len(seeded) == 3
    (infonce_spread,) = [v for k, v in estimator_spreads.items() if "infonce" in k]
    assert infonce_spread > 2 * (max(seeded) - min(seeded))
    probe_spreads = [value for name, value in values.items() if "[accuracy]" in name]
    assert len(probe_spreads) == 2 and min(probe_spreads) > 0.01
    assert all(v.holds for v in result.verdicts)


def test_truths_match_an_independent_count(quick_run):
    # Layer 3 of the tanh network separates the 4,096 inputs, so I(X; L) = log 4096 and
    # I(Y; L) = H(Y), from the label counts alone.
    result, _ = quick_run
    labels = get_inputs("szt12").labels
    shares = np.bincount(labels) / labels.size
    label_entropy = float(-(shares * np.log(shares)).sum())
    for row in result.tables["by bijection"]:
        assert row["true I(X; g(L))"] == pytest.approx(math.log(4096), abs=1e-9)
        assert row["true I(Y; g(L))"] == pytest.approx(label_entropy, abs=1e-9)


def test_outputs_exist_with_the_required_columns(quick_run):
    result, output_dir = quick_run
    rows = check_output_files(output_dir, result, swept="bijection", figures=1)
    assert "target" in rows[0]
    assert {row["bijection"] for row in rows} == {name for name, _ in BIJECTIONS}
    assert {row["estimator"] for row in rows} == {"exact", "binning", "ksg", "kde", "infonce"}
    assert (output_dir / "summary.md").read_text().count("| spiral |") == 1
    table = result.tables["by bijection"]
    assert {"P3 probe accuracy", "P4 probe accuracy, noisy input"} <= set(table[0])


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
    p3, p4 = probe_accuracies(features, features[rng.permutation(400)], labels)
    assert p3 == 1.0
    assert abs(p4 - 0.5) < 0.1  # the perturbed features carry no information about the labels
