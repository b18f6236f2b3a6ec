"""The information-plane experiment: the compression verdict is the estimator's, unless noise."""

import csv
import math

import numpy as np
import pytest
from experiment_checks import check_output_files
from scipy import integrate, stats

from mibench.estimators import get_estimator
from mibench.experiments.information_plane import (
    DEEP_TRUTH,
    DEFAULT_SCHEDULE,
    EXACT_NOISY,
    NOISY_SP,
    QUANTIZED_TRUTH,
    QUICK_SCHEDULE,
    TINY_SCHEDULE,
    compression,
    kde_pairwise_input_and_label,
    noisy_first_layer_information,
    truth_scores,
    truth_verdicts,
)
from mibench.networks.training import log_spaced_epochs


@pytest.fixture
def quick_run(quick_run_of):
    output_dir, result = quick_run_of("information-plane")
    return result, output_dir


@pytest.mark.slow
def test_quick_run_verdict_numbers(quick_run):
    result, _ = quick_run
    count = next(v for v in result.verdicts if v.name.startswith("deterministic networks"))
    assert count.value >= 1 and count.control.value == 0
    flat = next(v for v in result.verdicts if v.name.startswith("tanh deterministic: fraction"))
    assert flat.value >= 0.9 > flat.control.value
    for network in ("tanh noisy sigma=0.1", "relu noisy sigma=0.1"):
        error = next(v for v in result.verdicts if v.name.startswith(network))
        assert error.value <= 0.1 < error.control.value, network
    # noisy-sp at depth reads compression as the truth does and its level within 0.5 nats
    # (0.28 measured at quick on 2026-12-03, from both entropies on the same draws; 1.01 when
    # h(T_l) came from the 4,096 samples alone).
    deep_calls = next(v for v in result.verdicts if v.name.startswith("deep noisy layers: noisy-sp"))
    assert deep_calls.passes and deep_calls.value == 0
    deep_error = next(v for v in result.verdicts if v.name.startswith("deep noisy layers: largest"))
    assert deep_error.value <= 0.5 < deep_error.control.value
    assert all(v.passes for v in result.verdicts)
    assert result.settings["training_seeds"] and len(result.settings["training_seeds"]) >= 3


def test_the_count_is_recomputable_from_the_rows(tiny_run):
    # Recomputed from the tidy rows, not from the experiment's own tables.
    _, result = tiny_run("information-plane")
    curves = {}
    for row in result.rows:
        if row["target"] == "I(X; T)" and row["network"].endswith("deterministic"):
            key = (row["network"], row["label"], row["layer"], row["training_seed"])
            curves.setdefault(key, []).append((row["epoch"], row["estimate_nats"]))

    def fall(points):
        values = [v for _, v in sorted(points)]
        return max(values) - values[-1]

    count = 0
    for (network, label, layer, seed), points in curves.items():
        if label.startswith("exact"):
            continue
        truth = fall(curves[(network, "exact H(L)", layer, seed)])
        count += fall(points) - truth > 0.1
    (verdict,) = [v for v in result.verdicts if v.name.startswith("deterministic networks")]
    assert verdict.value == count


def test_outputs_exist_with_the_required_columns(tiny_run):
    output_dir, result = tiny_run("information-plane")
    rows = check_output_files(output_dir, result, swept="epoch", figures=3)
    assert {"layer", "network", "target", "training_seed"} <= set(rows[0])
    truth_rows = [row for row in rows if row["part"]]
    rows = [row for row in rows if not row["part"]]  # the four trained networks' part
    assert {row["part"] for row in truth_rows} == {"deep noisy", "quantized"}
    assert {row["label"] for row in truth_rows} == {
        DEEP_TRUTH, QUANTIZED_TRUTH, NOISY_SP, "ksg k=3", "binning 30 bins", "binning width 0.07"}
    labels = {row["label"] for row in rows}
    assert {"binning 30 bins", "binning width 0.07", "kde-pairwise var 0.1",
            "kde-pairwise var 0.001", "ksg k=3", "exact H(L)", NOISY_SP, EXACT_NOISY} == labels
    assert {row["training_seed"] for row in rows} == {"0", "1"}
    epochs = sorted({int(row["epoch"]) for row in rows})
    assert epochs == list(log_spaced_epochs(TINY_SCHEDULE.epochs, TINY_SCHEDULE.snapshots))
    assert all(row["layer"] == "1" for row in rows if row["label"] == NOISY_SP)
    compression_table = result.tables["compression"]
    with open(output_dir / "compression.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(compression_table)
    # per seed: 2 deterministic networks x 2 layers x 6 curves; 2 noisy networks x (2 layers x
    # 5 sample estimators + layer 1's noisy-sp and exact)
    assert len(written) == 2 * (2 * 2 * 6 + 2 * (2 * 5 + 2))


def test_default_run_has_log_spaced_snapshots_and_three_seeds():
    epochs = log_spaced_epochs(DEFAULT_SCHEDULE.epochs, DEFAULT_SCHEDULE.snapshots)
    assert len(epochs) >= 7 and epochs[-1] == DEFAULT_SCHEDULE.epochs
    assert DEFAULT_SCHEDULE.layers == (1, 3, 5) and len(DEFAULT_SCHEDULE.seeds) >= 3
    assert DEFAULT_SCHEDULE.measured_inputs is None


def test_quick_run_measures_half_the_inputs_from_three_seeds():
    # Half the inputs keeps the O(m^2) estimators within the quick budget; at 256 (tiny) two
    # controls are undecided, so the quick size must stay well above that.
    assert QUICK_SCHEDULE.measured_inputs == 2048 and len(QUICK_SCHEDULE.seeds) >= 3
    assert QUICK_SCHEDULE.layers == (1, 3)


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


# --- The part scored against the truth of every layer ------------------------------------------


def _truth_rows(result):
    return [row for row in result.rows if row.get("part")]


def test_the_truth_verdicts_hold_at_tiny_size_and_their_controls_fail(tiny_run):
    _, result = tiny_run("information-plane")
    names = ("deep noisy layers: noisy-sp (layer, seed) curves",
             "deep noisy layers: largest |noisy-sp - truth|",
             "tanh q8 network: largest |binning 30 bins",
             "tanh q8 network: (layer, training seed) whose exact H(T_l) falls")
    for prefix in names:
        (verdict,) = [v for v in result.verdicts if v.name.startswith(prefix)]
        assert verdict.holds and not verdict.control.holds and verdict.passes, verdict
    # Every deep layer's truth comes with its standard error; the quantized one is exact.
    rows = _truth_rows(result)
    assert all(r["truth_stderr_nats"] > 0 for r in rows if r["part"] == "deep noisy")
    assert all(r["truth_stderr_nats"] == 0 for r in rows if r["part"] == "quantized")
    # 30 bins resolve the 16 levels of the q4 network: binning is its exact H(T_l).
    q4 = [r for r in rows if r["network"] == "tanh q4" and r["label"] == "binning 30 bins"]
    assert q4 and all(abs(r["estimate_nats"] - r["truth_nats"]) < 1e-9 for r in q4)


def test_the_compression_calls_are_recomputable_from_the_rows(tiny_run):
    _, result = tiny_run("information-plane")
    rows = _truth_rows(result)
    curves, truths = {}, {}
    for r in rows:
        seed = r["training_seed"] if r["part"] == "quantized" else r["seed"]
        if r["label"] in (DEEP_TRUTH, QUANTIZED_TRUTH):
            continue
        curves.setdefault((r["network"], r["label"], r["layer"], seed), {})[r["epoch"]] = \
            r["estimate_nats"]
        truths.setdefault((r["network"], r["layer"], seed), {})[r["epoch"]] = r["truth_nats"]

    def compresses(points):
        values = [points[e] for e in sorted(points)]
        return max(values) - values[-1] > 0.1

    differing = sum(compresses(points) != compresses(truths[(net, layer, seed)])
                    for (net, label, layer, seed), points in curves.items()
                    if label == NOISY_SP)
    (verdict,) = [v for v in result.verdicts
                  if v.name.startswith("deep noisy layers: noisy-sp (layer, seed) curves")]
    assert verdict.value == differing


def test_the_truth_verdicts_fail_when_the_claim_is_broken_on_purpose(tiny_run):
    _, result = tiny_run("information-plane")
    rows = _truth_rows(result)
    # noisy-sp replaced by binning's estimates: the error verdict must fail.
    broken = [dict(r, label=NOISY_SP)
              if r["label"] == "binning 30 bins" and r["part"] == "deep noisy" else r
              for r in rows if r["label"] != NOISY_SP]
    # the q8 and q4 networks swapped: the quantized error verdict must fail, its control hold.
    swap = {"tanh q8": "tanh q4", "tanh q4": "tanh q8"}
    broken = [dict(r, network=swap.get(r["network"], r["network"])) for r in broken]
    verdicts = truth_verdicts(broken, truth_scores(broken), "tanh deterministic", 0)
    error = next(v for v in verdicts if "largest |noisy-sp" in v.name)
    assert not error.holds and not error.passes
    quantized = next(v for v in verdicts if "largest |binning" in v.name)
    assert not quantized.holds and quantized.control.holds and not quantized.passes
    # A deterministic network whose exact H(L) fell would make the compression control hold.
    honest = truth_verdicts(rows, truth_scores(rows), "tanh deterministic", 3)
    falls = next(v for v in honest if "falls by" in v.name)
    assert falls.control.holds and not falls.passes


def test_the_truth_schedules_read_the_registered_networks_at_quick_and_default():
    from mibench.datasets.network_layers import V2_EPOCHS
    from mibench.experiments.information_plane import (
        DEFAULT_TRUTH_SCHEDULE,
        QUICK_TRUTH_SCHEDULE,
        TINY_TRUTH_SCHEDULE,
    )

    # quick and default read the cached truths of the network-layers-v2 datasets' networks
    for schedule in (QUICK_TRUTH_SCHEDULE, DEFAULT_TRUTH_SCHEDULE):
        assert schedule.registered and schedule.epochs == V2_EPOCHS
    assert DEFAULT_TRUTH_SCHEDULE.noisy_activations == ("tanh", "relu")
    assert DEFAULT_TRUTH_SCHEDULE.layers == (1, 2, 3, 4, 5)
    assert len(DEFAULT_TRUTH_SCHEDULE.sampling_seeds) >= 3
    # quick: the tanh network's deeper layers only (its layer 1 is in the first part)
    assert QUICK_TRUTH_SCHEDULE.noisy_activations == ("tanh",)
    assert min(QUICK_TRUTH_SCHEDULE.layers) >= 2 and len(QUICK_TRUTH_SCHEDULE.sampling_seeds) >= 2
    assert not TINY_TRUTH_SCHEDULE.registered  # seconds: a small network, computed in place


def test_a_failed_run_makes_a_compression_call_unknown_and_no_count_or_bound_hold():
    import math
    import pickle

    from mibench.experiments.information_plane import (
        _ConditionalSampler,
        _count,
        _largest,
        compression,
    )

    curve = [(0, 2.0), (4, math.nan), (40, 1.0)]  # the run at epoch 4 failed
    assert compression(curve)["compression"] is None
    assert compression([(0, 2.0), (4, 1.8), (40, 1.0)])["compression"] is True  # control
    # A count or a largest error with an unknown member is NaN, so no verdict on it holds
    # (NaN compares false with any threshold); max() alone would have dropped the NaN.
    assert math.isnan(_count([False, None, False])) and _count([False, True]) == 1
    assert math.isnan(_largest([0.1, math.nan])) and max([0.1, math.nan]) == 0.1
    # The sampler of noisy-sp at depth travels to an isolated worker (--timeout).
    assert pickle.loads(pickle.dumps(_ConditionalSampler(None, 4, 2))).layer == 2
