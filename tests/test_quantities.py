"""Each estimator runs only on the quantity it estimates; noisy-channel estimators on noisy layers.

The truths of the noisy layers are checked here by a route independent of
``mibench.core.gaussian_mixture`` (which ``noisy-sp`` shares): a plain numpy/scipy Monte Carlo of
the Gaussian-mixture entropy, so a bug there cannot make the estimator look perfect.
"""

import math

import numpy as np
import pytest
from reference_math import log_mixture_density

import mibench
from mibench.core.contracts import MUTUAL_INFORMATION, NOISY_CHANNEL, Estimator
from mibench.datasets.network_layers import LayerSpec
from mibench.networks.inputs import get_inputs

NOISY_DEFAULT_LAYERS = [
    name for name in mibench.list_datasets("default")
    if "stochastic" in mibench.datasets.dataset_tags(name)
]


class DeclaresNothing(Estimator):
    """A plugin-style estimator that says nothing about its quantity."""

    name = "test-declares-nothing"

    def __init__(self):
        pass

    def _estimate(self, x, y):
        return 0.0


def test_a_plugin_that_declares_nothing_estimates_i_x_y():
    assert DeclaresNothing.quantity == MUTUAL_INFORMATION
    (record,) = mibench.run([DeclaresNothing()], ["1v1-normal-0.75"], n=50)
    assert record.status == "ok"


@pytest.mark.parametrize("estimator", ["noisy-sp", "kde-pairwise"])
def test_noisy_channel_estimators_are_never_scored_on_beyond_normal_tasks(estimator):
    assert mibench.estimators.get_estimator_class(estimator).quantity == NOISY_CHANNEL
    records = mibench.run(estimator, mibench.list_datasets("beyond-normal-v1")[:6], n=200)
    assert {r.status for r in records} == {"skipped"}
    assert all(r.estimate is None and r.truth is None for r in records)
    assert all("provides I(X;Y) only" in r.error for r in records)
    from mibench.results.scoring import score_suites

    (score,) = score_suites(records)
    assert score.datasets == 0 and score.solved == 0 and score.scored == 0


def test_the_default_suite_has_noisy_layers_that_provide_their_channel():
    assert len(NOISY_DEFAULT_LAYERS) >= 3
    for name in NOISY_DEFAULT_LAYERS:
        dataset = mibench.get_dataset(name)
        assert dataset.quantities == {MUTUAL_INFORMATION, NOISY_CHANNEL}
        spec = LayerSpec.parse(name)
        assert dataset.channel.noise_std == spec.sigma
        assert dataset.channel.x_is_label == (spec.target == "label")


def test_the_clean_channel_plus_its_noise_has_the_law_of_the_noisy_layer():
    """T = S + Z: the clean sample plus N(0, sigma^2) noise matches the noisy sample's moments."""
    dataset = mibench.get_dataset("net-szt12-tanh-noisy0.1-L1-e40")
    _, clean = dataset.sample_channel(20_000, seed=1)
    _, noisy = dataset.sample(20_000, seed=2)
    sigma = dataset.channel.noise_std
    np.testing.assert_allclose(noisy.mean(axis=0), clean.mean(axis=0), atol=0.03)
    np.testing.assert_allclose(noisy.var(axis=0), clean.var(axis=0) + sigma**2, rtol=0.06, atol=2e-3)


def test_the_runner_configures_the_noise_scale_and_target_from_the_layer():
    records = mibench.run(
        ["noisy-sp", "kde-pairwise"], ["net-label-szt12-tanh-noisy0.1-L3-e40"], n=300,
        params={"noisy-sp": {"sigma": 7.0, "draws": 2}, "kde-pairwise": {"noise_variance": 3.0}},
    )
    by_name = {r.estimator: r for r in records}
    assert by_name["noisy-sp"].params["sigma"] == 0.1
    assert by_name["noisy-sp"].params["draws"] == 2
    assert by_name["kde-pairwise"].params["noise_variance"] == pytest.approx(0.01)
    assert by_name["kde-pairwise"].params["target"] == "label"


def independent_noisy_layer_truth(name: str, points: int, seed: int) -> tuple[float, float]:
    """I(X; T_1) = h(T_1) - h(Z) for X uniform on the finite input set, by plain Monte Carlo:
    t = s(x) + z, log p(t) = logsumexp_j log N(t; s_j, sigma^2 I) - log m. No mibench code
    beyond the network's own forward pass."""
    spec = LayerSpec.parse(name)
    inputs = get_inputs(spec.inputs)
    centres = spec.network().activations(inputs.x, spec.epoch).clean[0]
    m, d = centres.shape
    sigma = spec.sigma
    rng = np.random.default_rng(seed)
    points_t = centres[rng.integers(0, m, points)] + sigma * rng.standard_normal((points, d))
    log_density = log_mixture_density(points_t, centres, sigma)
    noise_entropy = 0.5 * d * math.log(2 * math.pi * math.e * sigma**2)
    entropy_terms = -log_density
    value = float(entropy_terms.mean()) - noise_entropy
    return value, float(entropy_terms.std(ddof=1) / math.sqrt(points))


# Slow: each trains its network first; tests/datasets/test_network_layers.py checks a noisy
# first-layer truth against an independent KDE computation fast.
@pytest.mark.slow
@pytest.mark.parametrize("name", ["net-szt12-tanh-noisy0.1-L1-e40", "net-szt12-relu-noisy0.1-L1-e40"])
def test_noisy_layer_truth_agrees_with_an_independent_computation(name):
    dataset = mibench.get_dataset(name)
    value, stderr = independent_noisy_layer_truth(name, points=4_000, seed=7)
    combined = math.hypot(stderr, dataset.mutual_information_stderr)
    assert abs(dataset.mutual_information - value) < 4 * combined, (value, stderr)


# Slow: noisy-sp at n = 20,000 on three layers; tests/estimators/test_noisy_channel.py checks it
# against quadrature and closed forms fast.
@pytest.mark.slow
def test_noisy_sp_converges_to_each_noisy_layer_truth_on_the_default_suite():
    """Within 3 standard errors plus 0.05 nats at n = 20,000. At n = 5,000 the empirical law of
    4,096 equally likely inputs is far from uniform, which biases any estimate from samples
    low on the input layers (about 0.12 to 0.27 nats here): the error shrinks as n grows."""
    for name in NOISY_DEFAULT_LAYERS:
        small, large = mibench.run("noisy-sp", [name], n=[5000, 20_000], params={"draws": 1})
        for record in (small, large):
            assert record.status == "ok", record.error
        stderr = math.hypot(large.extras["stderr"], large.extras.get("truth_stderr", 0.0))
        assert abs(large.estimate - large.truth) < 3 * stderr + 0.05, name
        if not mibench.get_dataset(name).channel.x_is_label:
            assert small.estimate < large.estimate < large.truth + 3 * stderr
            assert abs(large.estimate - large.truth) < abs(small.estimate - small.truth)
