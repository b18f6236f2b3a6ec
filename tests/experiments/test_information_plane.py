"""The information-plane experiment: the compression verdict is the estimator's, unless noise."""

import csv
import math

import numpy as np
import pytest
from experiment_checks import check_output_files
from scipy import integrate, stats

from mibench.estimators import get_estimator
from mibench.experiments import run_experiment
from mibench.experiments.information_plane import (
    DEFAULT_SCHEDULE,
    EXACT_NOISY,
    NOISY_SP,
    QUICK_SCHEDULE,
    compression,
    kde_pairwise_input_and_label,
    noisy_first_layer_information,
)
from mibench.networks.training import log_spaced_epochs


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("information-plane")
    return run_experiment("information-plane", output_dir, quick=True), output_dir


def test_quick_run_verdict_numbers(quick_run):
    result, _ = quick_run
    values = {v.name: v.value for v in result.verdicts}
    for network in ("tanh deterministic", "relu deterministic"):
        disagreeing = next(v for k, v in values.items()
                           if k.startswith(network) and "disagree" in k)
        assert disagreeing >= 1, network
    flat = next(v for k, v in values.items() if k.startswith("tanh deterministic: fraction"))
    assert flat >= 0.9
    for network in ("tanh noisy sigma=0.1", "relu noisy sigma=0.1"):
        error = next(v for k, v in values.items() if k.startswith(network) and "|noisy-sp" in k)
        assert error <= 0.1, network
        agrees = next(v for k, v in values.items() if k.startswith(network) and "verdict" in k)
        assert agrees == 1.0, network
    assert all(v.holds for v in result.verdicts)


def test_estimators_disagree_where_the_truth_is_flat(quick_run):
    # Recomputed from the tidy rows, not from the experiment's own tables.
    result, _ = quick_run
    falls = {}
    for row in result.rows:
        if row["network"] == "tanh deterministic" and row["target"] == "I(X; T)":
            falls.setdefault((row["label"], row["layer"]), []).append(
                (row["epoch"], row["estimate_nats"]))
    verdicts_by_layer = {}
    for (label, layer), curve in falls.items():
        values = [v for _, v in sorted(curve)]
        fell = max(values) - values[-1] > 0.1
        if label.startswith("exact"):
            assert not fell and min(values) == pytest.approx(math.log(4096), abs=1e-9)
        else:
            verdicts_by_layer.setdefault(layer, set()).add(fell)
    assert any(len(seen) == 2 for seen in verdicts_by_layer.values())


def test_outputs_exist_with_the_required_columns(quick_run):
    result, output_dir = quick_run
    rows = check_output_files(output_dir, result, swept="epoch", figures=2)
    assert {"layer", "network", "target"} <= set(rows[0])
    labels = {row["label"] for row in rows}
    assert {"binning 30 bins", "binning width 0.07", "kde-pairwise var 0.1",
            "kde-pairwise var 0.001", "ksg k=3", "exact H(L)", NOISY_SP, EXACT_NOISY} == labels
    epochs = sorted({int(row["epoch"]) for row in rows})
    assert epochs == list(log_spaced_epochs(QUICK_SCHEDULE.epochs, QUICK_SCHEDULE.snapshots))
    compression_table = result.tables["compression"]
    assert {"network", "estimator", "layer", "compression"} <= set(compression_table[0])
    with open(output_dir / "compression.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(compression_table)
    # 4 networks x 2 layers x (5 sample estimators + exact H(L), or + noisy-sp + exact for
    # layer 1 only on the noisy ones)
    assert len(written) == 2 * 2 * 6 + 2 * (2 * 6 + 1)


def test_default_run_has_twenty_log_spaced_snapshots():
    epochs = log_spaced_epochs(DEFAULT_SCHEDULE.epochs, DEFAULT_SCHEDULE.snapshots)
    assert len(epochs) >= 20
    assert DEFAULT_SCHEDULE.layers == (1, 2, 3, 4, 5)


def test_noisy_layer_truth_against_quadrature():
    # Two inputs, one per class, at -a and +a in 1-d: I(X; T) = I(Y; T) = h(T) - h(Z), with
    # h(T) of the two-component mixture by numerical integration.
    a, sigma = 0.15, 0.1

    def density(t):
        return 0.5 * (stats.norm.pdf(t, -a, sigma) + stats.norm.pdf(t, a, sigma))

    h_mixture = integrate.quad(lambda t: -density(t) * np.log(density(t)), -2, 2, limit=200)[0]
    exact = h_mixture - 0.5 * math.log(2 * math.pi * math.e * sigma**2)
    centres = np.array([[-a], [a]])
    info_x, se_x, info_y, se_y = noisy_first_layer_information(
        centres, np.array([0, 1]), sigma, 20_000, np.random.default_rng(0))
    assert info_x == pytest.approx(exact, abs=4 * se_x + 1e-3)
    assert info_y == pytest.approx(exact, abs=4 * se_y + 1e-3)


def test_noisy_layer_truth_limits():
    rng = np.random.default_rng(3)
    # Four far-apart centres, two per class: I(X; T) = log 4, I(Y; T) = log 2.
    centres = 10.0 * np.eye(4)
    labels = np.array([0, 0, 1, 1])
    info_x, _, info_y, _ = noisy_first_layer_information(centres, labels, 0.1, 500, rng)
    assert info_x == pytest.approx(math.log(4), abs=1e-6)
    assert info_y == pytest.approx(math.log(2), abs=1e-6)
    # Coinciding centres: the noise hides the input completely.
    info_x, _, info_y, _ = noisy_first_layer_information(np.zeros((4, 3)), labels, 0.1, 500, rng)
    assert info_x == pytest.approx(0.0, abs=1e-12)
    assert info_y == pytest.approx(0.0, abs=1e-12)


def test_compression_is_a_fall_after_the_peak():
    assert compression([(0, 1.0), (1, 3.0), (2, 2.85)])["compression"]
    assert not compression([(0, 1.0), (1, 3.0), (2, 2.95)])["compression"]
    rising = compression([(0, 1.0), (1, 2.0), (5, 3.0)])
    assert not rising["compression"] and rising["peak epoch"] == 5


def test_kde_pairwise_input_from_the_label_call_equals_the_input_target():
    rng = np.random.default_rng(4)
    layer = np.tanh(rng.standard_normal((300, 4)))
    labels = rng.integers(0, 2, (300, 1)).astype(np.float64)
    inputs = rng.standard_normal((300, 12))
    for variance in (0.1, 0.001):
        on_input, on_label = kde_pairwise_input_and_label(labels, layer, variance)
        direct = get_estimator("kde-pairwise", noise_variance=variance, target="input")
        assert on_input == pytest.approx(direct.estimate(inputs, layer), abs=1e-10)
        by_label = get_estimator("kde-pairwise", noise_variance=variance, target="label")
        assert on_label == pytest.approx(by_label.estimate(labels, layer), abs=1e-12)
