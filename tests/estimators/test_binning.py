"""Binning estimators: convergence, the deterministic-layer trend, the three bin modes."""

import math

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

import mibench
from mibench.estimators.binning import equal_mass_bin_codes


def histogram_mutual_information(x: np.ndarray, y: np.ndarray, bins: int) -> float:
    """Plug-in MI of a 2-D numpy histogram over the data range: an independent reference."""
    counts = np.histogram2d(x, y, bins=bins)[0]
    pmf = counts / counts.sum()
    outer = pmf.sum(axis=1, keepdims=True) * pmf.sum(axis=0, keepdims=True)
    occupied = pmf > 0
    return float(np.sum(pmf[occupied] * np.log(pmf[occupied] / outer[occupied])))


@pytest.fixture(scope="module")
def normal_pair():
    dataset = mibench.get_dataset("1v1-normal-0.75")
    return dataset, *dataset.sample(100_000, seed=0)


def test_bins_growing_like_cube_root_of_n_approach_truth(normal_pair):
    dataset, x, y = normal_pair
    errors = []
    for n in (1_000, 10_000, 100_000):
        n_bins = round(n ** (1 / 3))
        estimate = mibench.estimate(x[:n], y[:n], "binning", n_bins=n_bins)
        errors.append(abs(estimate - dataset.mutual_information))
    assert errors[-1] < 0.05
    assert errors[-1] < errors[0]


def test_equals_numpy_histogram_reference(normal_pair):
    _, x, y = normal_pair
    x, y = x[:5000, 0], y[:5000, 0]
    for n_bins in (3, 17, 40):
        assert mibench.estimate(x, y, "binning", n_bins=n_bins) == pytest.approx(
            histogram_mutual_information(x, y, n_bins), abs=1e-12
        )


@pytest.fixture(scope="module")
def deterministic_layer():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4000, 3))
    return x, np.tanh(x @ rng.normal(size=(3, 4)))


@pytest.mark.parametrize("discrete_x", [False, True])
def test_deterministic_layer_estimate_rises_with_bins_to_log_n(deterministic_layer, discrete_x):
    x, layer = deterministic_layer
    log_n = math.log(x.shape[0])
    # Doubling bins over a fixed range nests the partitions, so the plug-in MI cannot fall.
    estimates = [
        mibench.estimate(
            x, layer, "binning", n_bins=n_bins, value_range=(-1, 1), discrete_x=discrete_x
        )
        for n_bins in (2, 4, 8, 16, 32, 64, 128)
    ]
    assert np.all(np.diff(estimates) >= -1e-12)
    assert estimates[-1] - estimates[0] > 3
    assert max(estimates) <= log_n + 1e-12
    assert estimates[-1] > 0.95 * log_n


def test_discrete_x_on_unique_inputs_is_entropy_of_binned_layer(deterministic_layer):
    x, layer = deterministic_layer
    symbols = np.unique(np.floor(layer / 0.07), axis=0, return_inverse=True)[1].ravel()
    pmf = np.bincount(symbols) / symbols.size
    entropy = -np.sum(pmf * np.log(pmf))
    estimate = mibench.estimate(x, layer, "binning", bin_width=0.07, discrete_x=True)
    assert estimate == pytest.approx(entropy, abs=1e-12)


def test_fixed_bin_width_matches_sklearn_on_bin_labels(normal_pair):
    _, x, y = normal_pair
    x, y = x[:3000, 0], y[:3000, 0]
    labels_x, labels_y = np.floor(x / 0.3), np.floor(y / 0.3)
    assert mibench.estimate(x, y, "binning", bin_width=0.3) == pytest.approx(
        mutual_info_score(labels_x, labels_y), abs=1e-12
    )
    # Anchored at 0: shifting the data by a whole bin changes nothing.
    assert mibench.estimate(x + 0.9, y, "binning", bin_width=0.3) == pytest.approx(
        mibench.estimate(x, y, "binning", bin_width=0.3), abs=1e-12
    )


def test_values_outside_fixed_range_go_to_edge_bins():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3000, 2))
    relu = np.maximum(0, x @ rng.normal(size=(2, 3)) * 2)  # many activations above 1
    labels = (x[:, 0] > 0).astype(float)
    assert (relu > 1).mean() > 0.2
    params = {"n_bins": 30, "value_range": (-1, 1), "discrete_x": True}
    assert mibench.estimate(labels, relu, "binning", **params) == pytest.approx(
        mibench.estimate(labels, np.clip(relu, -1, 1), "binning", **params), abs=1e-12
    )


def test_fifty_dimensional_layer_is_hashed_by_rows():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2000, 10))
    layer = np.tanh(x @ rng.normal(size=(10, 50)) * 0.3)
    labels = (x[:, 0] > 0).astype(int)
    result = mibench.get_estimator(
        "binning", n_bins=4, value_range=(-1, 1), discrete_x=True
    ).estimate_with_extras(labels, layer)
    codes = np.clip(np.floor((layer + 1) * 2), 0, 3)
    reference = mibench.estimate(labels, codes, "discrete")
    assert result.value == pytest.approx(reference, abs=1e-12)
    assert result.extras["symbols_y"] <= 2000
    assert result.value <= math.log(2) + 1e-12


def test_miller_madow_correction_uses_occupied_cells(normal_pair):
    _, x, y = normal_pair
    x, y = x[:2000, 0], y[:2000, 0]
    corrected = mibench.estimate(x, y, "binning", n_bins=10, miller_madow=True)
    # The occupied cells counted independently, on numpy's histograms over the data range.
    joint = np.histogram2d(x, y, bins=10)[0]
    occupied_x = int((joint.sum(axis=1) > 0).sum())
    occupied_y = int((joint.sum(axis=0) > 0).sum())
    occupied_joint = int((joint > 0).sum())
    correction = (occupied_x + occupied_y - occupied_joint - 1) / (2 * 2000)
    expected = histogram_mutual_information(x, y, 10) + correction
    assert corrected == pytest.approx(expected, abs=1e-12)
    assert correction != 0  # so that the correction is tested at all


def test_default_is_thirty_bins_over_data_range(normal_pair):
    _, x, y = normal_pair
    x, y = x[:2000], y[:2000]
    result = mibench.get_estimator("binning").estimate_with_extras(x, y)
    assert result.extras["n_bins"] == 30
    assert result.value == pytest.approx(mibench.estimate(x, y, "binning", n_bins=30), abs=0)


def test_adaptive_bins_hold_equal_mass():
    values = np.random.default_rng(10).normal(size=(3000, 2))
    codes = equal_mass_bin_codes(values, 30)
    assert np.all(np.bincount(codes[:, 0], minlength=30) == 100)
    # A variable against itself: I = H(binned) = log(n_bins) exactly.
    assert mibench.estimate(values[:, 0], values[:, 0], "binning-adaptive", n_bins=30) == (
        pytest.approx(math.log(30), abs=1e-12)
    )


def test_adaptive_is_invariant_under_increasing_transforms(normal_pair):
    _, x, y = normal_pair
    x, y = x[:5000], y[:5000]
    estimate = mibench.estimate(x, y, "binning-adaptive", n_bins=20)
    assert mibench.estimate(np.exp(x), y**3, "binning-adaptive", n_bins=20) == estimate
    assert abs(estimate - (-0.5 * math.log(1 - 0.75**2))) < 0.05  # the bivariate normal's MI


def test_adaptive_keeps_ties_in_one_bin():
    relu = np.maximum(0, np.random.default_rng(11).normal(size=(1000, 1)))
    codes = equal_mass_bin_codes(relu, 10)
    assert np.unique(codes[relu[:, 0] == 0]).size == 1


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"n_bins": 10, "bin_width": 0.1}, "n_bins or bin_width"),
        ({"n_bins": 0}, "n_bins"),
        ({"n_bins": 2.5}, "n_bins"),
        ({"bin_width": -0.07}, "bin_width"),
        ({"bin_width": 0.07, "value_range": (-1, 1)}, "value_range"),
        ({"n_bins": 30, "value_range": (1, -1)}, "value_range"),
        ({"n_bins": 30, "value_range": (-1, np.inf)}, "value_range"),
        ({"n_bins": 30, "value_range": 1.0}, "value_range"),
        ({"discrete_x": "labels"}, "discrete_x"),
    ],
)
def test_bad_parameters_are_named(params, named):
    with pytest.raises(ValueError, match=named):
        mibench.get_estimator("binning", **params)


def test_bad_adaptive_parameters_are_named():
    with pytest.raises(ValueError, match="n_bins"):
        mibench.get_estimator("binning-adaptive", n_bins=-3)
    with pytest.raises(ValueError, match="bin_width"):
        mibench.get_estimator("binning-adaptive", bin_width=0.1)


def test_tiny_bin_width_fails_clearly():
    with pytest.raises(ValueError, match="bin_width"):
        mibench.estimate([1e10, 2e10, 3e10], [0, 1, 2], "binning", bin_width=1e-10)


# --- the entropy corrections as an option (issue 23) ----------------------------------------


@pytest.mark.parametrize("name", ["binning", "binning-adaptive"])
def test_corrections_shrink_the_upward_bias_on_independent_data(name):
    # Independent Gaussians, 10 x 10 cells, n = 500: the plug-in MI is biased upward by about
    # 81 / (2 n) = 0.08 nats; every correction at least halves the mean |MI|.
    rng = np.random.default_rng(3)
    samples = [(rng.standard_normal(500), rng.standard_normal(500)) for _ in range(4)]

    def mean_estimate(**params):
        return np.mean([mibench.estimate(x, y, name, n_bins=10, **params) for x, y in samples])

    plugin = mean_estimate()
    assert plugin > 0.05
    for correction in ("miller-madow", "grassberger", "chao-shen", "nsb"):
        assert abs(mean_estimate(correction=correction)) < 0.5 * plugin, correction


def test_corrected_binning_keeps_a_real_dependence():
    # Control for the test above: on a 0.41-nat Gaussian pair the corrections do not erase
    # the MI (10 bins, n = 5,000: all within 0.15 nats of the plug-in's 10-bin value).
    dataset = mibench.get_dataset("1v1-normal-0.75")
    x, y = dataset.sample(5000, seed=1)
    plugin = mibench.estimate(x, y, "binning", n_bins=10)
    for correction in ("grassberger", "chao-shen", "nsb"):
        value = mibench.estimate(x, y, "binning", n_bins=10, correction=correction)
        assert abs(value - plugin) < 0.15 and value > 0.25, correction


def test_nsb_needs_a_known_number_of_bins():
    with pytest.raises(ValueError, match="unknown with bin_width"):
        mibench.get_estimator("binning", bin_width=0.5, correction="nsb")
    with pytest.raises(ValueError, match="unknown with discrete_x=True"):
        mibench.get_estimator("binning-adaptive", discrete_x=True, correction="nsb")
    assert mibench.get_estimator("binning", n_bins=5, correction="nsb").correction == "nsb"
