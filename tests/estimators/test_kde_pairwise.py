"""Kolchinsky-Tracey mixture-entropy bounds, and the noisy-layer MI estimator built on them."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

import mibench
from mibench.core import pairwise
from mibench.core.closed_form import gaussian_entropy
from mibench.estimators.kde_pairwise import pairwise_mixture_entropy_bounds


def monte_carlo_mixture_entropy(centres, variance, weights, draws, rng):
    """-E log p(T) for T from the mixture, by sampling; returns (estimate, standard error)."""
    dim = centres.shape[1]
    components = rng.choice(len(weights), size=draws, p=weights)
    samples = centres[components] + math.sqrt(variance) * rng.standard_normal((draws, dim))
    log_density = logsumexp(
        -cdist(samples, centres, "sqeuclidean") / (2 * variance) + np.log(weights), axis=1
    ) - 0.5 * dim * math.log(2 * math.pi * variance)
    return -log_density.mean(), log_density.std(ddof=1) / math.sqrt(draws)


@pytest.mark.parametrize("seed", range(4))
def test_bounds_sandwich_monte_carlo_entropy(seed):
    rng = np.random.default_rng(seed)
    n_components, dim = (12, 30)[seed % 2], (1, 3)[seed // 2]
    centres = rng.normal(size=(n_components, dim)) * 1.5
    weights = rng.dirichlet(np.ones(n_components))
    variance = 0.3
    lower, upper = pairwise_mixture_entropy_bounds(centres, variance, weights)
    entropy, stderr = monte_carlo_mixture_entropy(centres, variance, weights, 20_000, rng)
    assert lower - 3 * stderr <= entropy <= upper + 3 * stderr
    # And the bounds say something: they lie strictly inside the trivial ones.
    component = gaussian_entropy(variance * np.eye(dim))
    assert component < lower < upper < component - np.dot(weights, np.log(weights))


def test_identical_centres_give_the_gaussian_entropy_exactly():
    centres = np.tile([0.3, -1.0, 2.0], (7, 1))
    weights = np.arange(1, 8) / 28
    lower, upper = pairwise_mixture_entropy_bounds(centres, 0.5, weights)
    assert lower == pytest.approx(gaussian_entropy(0.5 * np.eye(3)), abs=1e-12)
    assert upper == pytest.approx(gaussian_entropy(0.5 * np.eye(3)), abs=1e-12)


def test_far_apart_centres_add_the_entropy_of_the_weights():
    centres = np.arange(5)[:, None] * 1000.0
    weights = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    expected = gaussian_entropy(np.eye(1)) - np.dot(weights, np.log(weights))
    lower, upper = pairwise_mixture_entropy_bounds(centres, 1.0, weights)
    # Distances come from the expansion |a|^2 + |b|^2 - 2 a.b (core.gaussian_mixture), whose
    # rounding grows with |c| / s (2,000 here): about 1e-11 nats.
    assert lower == pytest.approx(expected, abs=1e-10)
    assert upper == pytest.approx(expected, abs=1e-10)


def test_blocked_computation_equals_dense(monkeypatch):
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(300, 4))
    dense_squared = cdist(centres, centres, "sqeuclidean")
    component = gaussian_entropy(0.2 * np.eye(4))
    expected_upper = component - np.mean(logsumexp(-dense_squared / 0.4, axis=1) - math.log(300))
    expected_lower = component - np.mean(logsumexp(-dense_squared / 1.6, axis=1) - math.log(300))
    monkeypatch.setattr(pairwise, "BLOCK_BYTES", 2 * 8 * 300 * 7)
    lower, upper = pairwise_mixture_entropy_bounds(centres, 0.2)
    assert lower == pytest.approx(expected_lower, abs=1e-10)
    assert upper == pytest.approx(expected_upper, abs=1e-10)


def clustered_layer(n_clusters, per_cluster, dim, spread, rng):
    centres = rng.normal(size=(n_clusters, dim)) * 10
    labels = np.repeat(np.arange(n_clusters), per_cluster)
    return labels, centres[labels] + spread * rng.normal(size=(labels.size, dim))


def test_input_mi_of_separated_clusters_is_log_of_their_number():
    # A deterministic layer that maps all inputs onto 4 well-separated points (tight
    # clusters): with noise far larger than a cluster, far smaller than their distance,
    # I(X; T) = log 4.
    rng = np.random.default_rng(6)
    labels, layer = clustered_layer(4, 50, 3, 1e-4, rng)
    x = rng.normal(size=(200, 5))
    for bound in ("lower", "upper"):
        estimate = mibench.estimate(x, layer, "kde-pairwise", noise_variance=0.1, bound=bound)
        assert estimate == pytest.approx(math.log(4), abs=1e-3)


def test_input_mi_is_mixture_entropy_minus_noise_entropy():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 3))
    layer = np.tanh(x @ rng.normal(size=(3, 4)))
    lower, upper = pairwise_mixture_entropy_bounds(layer, 0.05)
    noise = gaussian_entropy(0.05 * np.eye(4))
    result = mibench.get_estimator(
        "kde-pairwise", noise_variance=0.05, bound="lower"
    ).estimate_with_extras(x, layer)
    assert result.value == pytest.approx(lower - noise, abs=1e-12)
    assert result.extras["upper"] == pytest.approx(upper - noise, abs=1e-12)
    assert 0 < result.extras["lower"] <= result.extras["upper"] <= math.log(300) + 1e-12


def test_noise_variance_is_the_resolution():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(400, 2))
    layer = np.tanh(x @ rng.normal(size=(2, 3)))
    estimates = [
        mibench.estimate(x, layer, "kde-pairwise", noise_variance=v) for v in (1e-6, 1e-2, 1.0)
    ]
    assert np.all(np.diff(estimates) < 0)
    assert estimates[0] > 0.95 * math.log(400)


def test_label_mi_of_label_determined_clusters_is_label_entropy():
    rng = np.random.default_rng(9)
    labels, layer = clustered_layer(3, 40, 2, 1e-3, rng)
    labels = labels[:100]  # unequal classes: 40, 40, 20
    layer = layer[:100]
    proportions = np.array([0.4, 0.4, 0.2])
    label_entropy = -np.sum(proportions * np.log(proportions))
    for bound in ("lower", "upper"):
        estimate = mibench.estimate(labels, layer, "kde-pairwise", target="label", bound=bound)
        assert estimate == pytest.approx(label_entropy, abs=1e-3)


def test_label_mi_is_zero_when_the_layer_is_constant():
    labels = np.random.default_rng(10).integers(0, 4, size=200)
    layer = np.ones((200, 3))
    result = mibench.get_estimator("kde-pairwise", target="label").estimate_with_extras(
        labels, layer
    )
    assert result.value == pytest.approx(0.0, abs=1e-12)
    assert result.extras["lower"] == pytest.approx(0.0, abs=1e-12)


def test_label_mi_uses_class_weighted_conditional_entropies():
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 3, size=150)
    layer = rng.normal(size=(150, 2)) + labels[:, None]
    variance = 0.2

    def kl_upper_bound(centres):
        """Kolchinsky-Tracey's KL bound for equal weights, written densely here (no mibench):
        d/2 log(2 pi e s^2) - mean_i log mean_j exp(-|c_i - c_j|^2 / (2 s^2))."""
        from scipy.spatial.distance import cdist
        from scipy.special import logsumexp

        m, d = centres.shape
        log_means = logsumexp(-cdist(centres, centres, "sqeuclidean") / (2 * variance), axis=1)
        return 0.5 * d * math.log(2 * math.pi * math.e * variance) - np.mean(log_means - math.log(m))

    upper_total = kl_upper_bound(layer)
    conditional = sum(np.mean(labels == c) * kl_upper_bound(layer[labels == c]) for c in range(3))
    estimate = mibench.estimate(
        labels, layer, "kde-pairwise", target="label", noise_variance=variance
    )
    assert estimate == pytest.approx(upper_total - conditional, abs=1e-12)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"bound": "middle"}, "bound"),
        ({"noise_variance": 0.0}, "noise_variance"),
        ({"noise_variance": -0.1}, "noise_variance"),
        ({"target": "output"}, "target"),
    ],
)
def test_bad_parameters_are_named(params, named):
    with pytest.raises(ValueError, match=named):
        mibench.get_estimator("kde-pairwise", **params)


@pytest.mark.parametrize(
    ("weights", "named"),
    [([0.5, 0.6], "sum to 1"), ([1.5, -0.5], "non-negative"), ([1.0], "one weight per")],
)
def test_bad_weights_are_named(weights, named):
    with pytest.raises(ValueError, match=named):
        pairwise_mixture_entropy_bounds(np.zeros((2, 1)), 1.0, weights)


def test_bad_variance_is_named():
    with pytest.raises(ValueError, match="variance"):
        pairwise_mixture_entropy_bounds(np.zeros((2, 1)), -1.0)
