"""noisy-sp against one-dimensional quadrature, the linear Gaussian channel, and the KDE formulation."""

import math

import numpy as np
import pytest
from scipy import integrate
from sklearn.neighbors import KernelDensity

import mibench
from mibench.core.closed_form import (
    gaussian_entropy,
    gaussian_mutual_information,
    isotropic_gaussian_entropy,
)
from mibench.core.gaussian_mixture import (
    draw_from_mixture,
    gaussian_mixture_entropy,
    gaussian_mixture_log_density,
    noisy_channel_mutual_information,
)
from mibench.datasets.network_layers import (
    linear_gaussian_channel_mutual_information,
    linear_gaussian_channel_parameters,
)

SIGMA = 0.1
LEVELS = np.array([-3.0, -1.0, 1.0, 3.0])
WEIGHTS = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]


def neuron_mi_by_quadrature(w: float) -> float:
    """I(X; tanh(w X) + N(0, 0.1^2)), X uniform on {-3, -1, 1, 3}: -int p log p - h(Z)."""
    centres = np.tanh(w * LEVELS)

    def minus_p_log_p(t):
        p = np.mean(np.exp(-0.5 * ((t - centres) / SIGMA) ** 2)) / (SIGMA * math.sqrt(2 * math.pi))
        return -p * math.log(p) if p > 0 else 0.0

    entropy, _ = integrate.quad(
        minus_p_log_p,
        centres.min() - 12 * SIGMA,
        centres.max() + 12 * SIGMA,
        points=np.unique(centres),
        limit=500,
        epsabs=1e-12,
    )
    return entropy - 0.5 * math.log(2 * math.pi * math.e * SIGMA**2)


@pytest.fixture(scope="module")
def exact_neuron_values():
    return [neuron_mi_by_quadrature(w) for w in WEIGHTS]


@pytest.mark.parametrize("index", range(len(WEIGHTS)))
def test_single_noisy_neuron_matches_quadrature(index, exact_neuron_values):
    w = WEIGHTS[index]
    estimator = mibench.get_estimator("noisy-sp", sigma=SIGMA, draws=20_000, seed=index)
    result = estimator.estimate_with_extras(LEVELS, np.tanh(w * LEVELS))
    assert result.value == pytest.approx(exact_neuron_values[index], abs=0.01)
    assert result.extras["stderr"] < 0.003 and result.extras["groups"] == 4


def test_exact_neuron_information_rises_then_falls(exact_neuron_values):
    # Compression as clustering: small w leaves the four levels within the noise, moderate w
    # separates them (log 4 at most), large w saturates tanh and merges them in pairs (log 2).
    values = np.array(exact_neuron_values)
    peak = int(np.argmax(values))
    assert 0 < peak < len(values) - 1
    assert np.all(np.diff(values[: peak + 1]) > 0) and np.all(np.diff(values[peak:]) < 0)
    assert values[peak] <= math.log(4) and values[peak] > 1.3
    assert values[-1] == pytest.approx(math.log(2), abs=1e-3)


def test_linear_gaussian_channel_matches_closed_form():
    weight, covariance = linear_gaussian_channel_parameters(2, 2)
    truth = linear_gaussian_channel_mutual_information(weight, covariance, 1.0)
    x = np.random.default_rng(7).multivariate_normal(np.zeros(2), covariance, size=5000)
    result = mibench.get_estimator("noisy-sp", sigma=1.0, draws=4).estimate_with_extras(
        x, x @ weight.T
    )
    # The closed form against the Gaussian MI of the joint covariance of (X, W X + Z).
    cross = weight @ covariance
    joint = np.block([[covariance, cross.T], [cross, cross @ weight.T + np.eye(2)]])
    assert truth == pytest.approx(gaussian_mutual_information(joint, 2), rel=1e-12)
    assert result.value == pytest.approx(truth, abs=0.02)


def test_weighted_mixture_density_matches_scipy_and_repeated_centres():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(5)
    centres, points, sigma = rng.normal(size=(5, 3)), rng.normal(size=(40, 3)), 0.7
    weights = np.array([0.4, 0.1, 0.2, 0.0, 0.3])
    direct = np.log(sum(w * multivariate_normal(c, sigma**2 * np.eye(3)).pdf(points)
                        for w, c in zip(weights, centres)))
    weighted = gaussian_mixture_log_density(points, centres, sigma, weights)
    np.testing.assert_allclose(weighted, direct, rtol=1e-10)
    # Weights in tenths equal the equal-weight mixture with each centre repeated that often.
    repeated = np.repeat(centres, (10 * weights).round().astype(int), axis=0)
    np.testing.assert_allclose(gaussian_mixture_log_density(points, repeated, sigma), weighted,
                               rtol=1e-10)
    # Negative control: the equal-weight mixture of the same centres is another density.
    assert np.abs(gaussian_mixture_log_density(points, centres, sigma) - direct).max() > 0.05
    with pytest.raises(ValueError, match="weights must be 5 non-negative numbers summing to 1"):
        gaussian_mixture_log_density(points, centres, sigma, weights * 2)


def test_same_draws_give_the_kde_log_density_and_independent_draws_agree_within_error():
    rng = np.random.default_rng(3)
    centres = np.tanh(rng.normal(size=(2048, 10)))
    sigma = 0.5
    points, _ = draw_from_mixture(centres, sigma, 1, np.random.default_rng(4))
    kde = KernelDensity(kernel="gaussian", bandwidth=sigma).fit(centres)
    np.testing.assert_allclose(
        gaussian_mixture_log_density(points, centres, sigma), kde.score_samples(points), atol=1e-8
    )
    # The estimator and the KDE formulation h(T) - h(Z) of Goldfeld et al.'s code, on their
    # own independent draws, agree within the combined Monte Carlo error.
    kde_values = -kde.score_samples(draw_from_mixture(centres, sigma, 4, np.random.default_rng(5))[0])
    kde_mi = kde_values.mean() - isotropic_gaussian_entropy(10, sigma**2)
    kde_stderr = kde_values.std(ddof=1) / math.sqrt(kde_values.size)
    result = mibench.get_estimator("noisy-sp", sigma=sigma, draws=4, seed=6).estimate_with_extras(
        np.arange(2048), centres
    )
    combined = math.hypot(result.extras["stderr"], kde_stderr)
    assert abs(result.value - kde_mi) < 3 * combined
    assert combined < 0.04  # so that the agreement is not vacuous


def test_mixture_entropy_of_one_centre_is_the_gaussian_entropy():
    value = gaussian_mixture_entropy(np.zeros((1, 3)), 0.7, draws=50_000, rng=np.random.default_rng(0))
    assert value.value == pytest.approx(gaussian_entropy(0.49 * np.eye(3)), abs=4 * value.stderr)
    assert value.stderr < 0.01


def test_labels_give_the_information_about_the_label():
    # Two classes whose centres sit at -1 and +1 (several each), far apart against sigma:
    # T reveals the class, I(Y; T) = log 2; and it reveals nothing within a class.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=400)
    centres = (2.0 * labels - 1.0)[:, None] + 0.01 * rng.normal(size=(400, 1))
    estimator = mibench.get_estimator("noisy-sp", sigma=0.1, draws=8)
    assert estimator.estimate(labels, centres) == pytest.approx(math.log(2), abs=0.01)
    same_centre = np.ones((400, 1))
    assert estimator.estimate(labels, same_centre) == pytest.approx(0.0, abs=1e-12)


def test_repeated_inputs_of_a_deterministic_layer_count_once_each_with_their_weight():
    # Inputs 0 and 1 at well-separated centres, input 0 drawn three times as often: the
    # empirical law of X has H = H(3/4, 1/4), and T reveals X.
    x = np.array([0, 0, 0, 1] * 50)
    centres = np.where(x == 0, 0.0, 5.0)[:, None]
    value = mibench.get_estimator("noisy-sp", sigma=0.1, draws=4).estimate(x, centres)
    assert value == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), abs=1e-3)


def test_mutual_information_is_h_of_the_mixture_minus_h_of_the_noise_for_distinct_inputs():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(300, 2))
    direct = noisy_channel_mutual_information(np.arange(300), centres, 0.3, draws=200, rng=rng)
    # The mixture's entropy by a plain Monte Carlo written here (scipy only, no mibench code):
    # t = c_i + z, log p(t) = logsumexp_j log N(t; c_j, 0.3^2 I) - log 300.
    from reference_math import log_mixture_density

    draw = np.random.default_rng(2)
    points = centres[draw.integers(0, 300, 60_000)] + 0.3 * draw.standard_normal((60_000, 2))
    log_density = log_mixture_density(points, centres, 0.3)
    entropy, entropy_stderr = -log_density.mean(), log_density.std(ddof=1) / math.sqrt(60_000)
    noise_entropy = math.log(2 * math.pi * math.e * 0.3**2)  # d/2 log(2 pi e s^2), d = 2
    difference = direct.value - (entropy - noise_entropy)
    assert abs(difference) < 4 * math.hypot(direct.stderr, entropy_stderr)


def test_seed_reproduces_and_parameters_are_validated():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 2)), rng.normal(size=(200, 3))
    first = mibench.estimate(x, y, "noisy-sp", sigma=0.5, seed=3)
    assert first == mibench.estimate(x, y, "noisy-sp", sigma=0.5, seed=3)
    assert first != mibench.estimate(x, y, "noisy-sp", sigma=0.5, seed=4)
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        mibench.get_estimator("noisy-sp", sigma=0)
    with pytest.raises(ValueError, match="draws must be at least 1"):
        mibench.get_estimator("noisy-sp", draws=0)
    params = {"sigma": 0.3, "draws": 7, "target_stderr": 0.01, "max_kernel_evaluations": 10, "seed": 2,
              "conditional_draws": 16}
    assert mibench.get_estimator("noisy-sp", **params).get_params() == params


def mixture_mi_by_quadrature(centres: np.ndarray, sigma: float) -> float:
    """I(X; S + Z) for X uniform over 1-D centres: -int p log p dt - h(Z), by scipy's quad."""
    scale = sigma * math.sqrt(2 * math.pi)

    def minus_p_log_p(t):
        p = np.mean(np.exp(-0.5 * ((t - centres) / sigma) ** 2)) / scale
        return -p * math.log(p) if p > 0 else 0.0

    entropy, _ = integrate.quad(
        minus_p_log_p, centres.min() - 12 * sigma, centres.max() + 12 * sigma,
        limit=2000, epsabs=1e-10, epsrel=1e-10,
    )
    return entropy - 0.5 * math.log(2 * math.pi * math.e * sigma**2)


@pytest.mark.parametrize("seed", [0, 1])
def test_default_draws_reach_0003_on_a_noisy_tanh_neuron(seed):
    # 400 continuous inputs through one tanh neuron with noise 0.1: the default picks the
    # number of draws itself, and must land within a few standard errors of the quadrature.
    x = np.random.default_rng(10 + seed).normal(size=400)
    centres = np.tanh(2.0 * x + 0.3)
    truth = mixture_mi_by_quadrature(centres, 0.1)
    result = mibench.get_estimator("noisy-sp", sigma=0.1, seed=seed).estimate_with_extras(
        x, centres
    )
    assert result.extras["stderr"] <= 0.003 and result.extras["target_reached"]
    assert abs(result.value - truth) < 4 * result.extras["stderr"]
    # One draw per sample, the old default, is more than three times as uncertain.
    one = mibench.get_estimator("noisy-sp", sigma=0.1, draws=1, seed=seed).estimate_with_extras(
        x, centres
    )
    assert one.extras["stderr"] > 3 * result.extras["stderr"]


def test_the_time_cap_stops_the_draws_and_says_so():
    x = np.random.default_rng(3).normal(size=400)
    result = mibench.get_estimator(
        "noisy-sp", sigma=0.1, max_kernel_evaluations=400 * 500
    ).estimate_with_extras(x, np.tanh(2.0 * x))
    assert result.extras["draws_total"] <= 500
    assert not result.extras["target_reached"] and result.extras["stderr"] > 0.003


@pytest.mark.parametrize("draws", ["many", 0, 1.5])
def test_bad_draws_are_named(draws):
    with pytest.raises(ValueError, match="draws"):
        mibench.get_estimator("noisy-sp", draws=draws)


# --- At depth: S spread by the noise of earlier layers -----------------------------------------

_DEPTH_MEANS = np.array([[-1.0, 0.0], [1.0, 0.0]])
_DEPTH_SPREAD = 0.4  # standard deviation of S given x (the earlier layers' noise)
_DEPTH_SIGMA = 0.3


def _depth_conditional_sampler(x, draws, rng):
    means = _DEPTH_MEANS[np.asarray(x, dtype=int).reshape(-1)]
    return means[:, None, :] + _DEPTH_SPREAD * rng.standard_normal((len(means), draws, 2))


def _depth_channel_sampler(n, rng):
    x = rng.integers(0, 2, size=n)
    return x[:, None].astype(float), _depth_conditional_sampler(x, 1, rng)[:, 0, :]


def _depth_information_by_quadrature() -> float:
    """I(X; S + Z), S | x ~ N(mu_x, a^2 I), Z ~ N(0, s^2 I): T | x ~ N(mu_x, (a^2 + s^2) I),
    and only the first coordinate tells the two inputs apart (1-d quadrature)."""
    scale = math.hypot(_DEPTH_SPREAD, _DEPTH_SIGMA)

    def integrand(t, mean):
        here = math.exp(-0.5 * ((t - mean) / scale) ** 2)
        other = math.exp(-0.5 * ((t + mean) / scale) ** 2)
        return here / (scale * math.sqrt(2 * math.pi)) * math.log(2 * here / (here + other))

    return integrate.quad(integrand, -12 * scale + 1, 12 * scale + 1, args=(1.0,))[0]


def _depth_dataset(conditional=True):
    from mibench.core.contracts import Dataset, NoisyChannel

    channel = NoisyChannel(
        _depth_channel_sampler, _DEPTH_SIGMA, upstream_noise=True,
        conditional_sampler=_depth_conditional_sampler if conditional else None,
    )

    def sample(n, rng):
        x, s = _depth_channel_sampler(n, rng)
        return x, s + _DEPTH_SIGMA * rng.standard_normal(s.shape)

    return Dataset(name="depth-toy", dim_x=1, dim_y=2,
                   mutual_information=_depth_information_by_quadrature(), sampler=sample,
                   channel=channel, tags=frozenset({"stochastic"}))


def test_noisy_sp_at_depth_matches_quadrature_and_the_layer_one_formula_does_not():
    dataset = _depth_dataset()
    exact = dataset.mutual_information
    record = mibench.run("noisy-sp", dataset, n=2000, seeds=1)[0]
    assert record.status == "ok", record.error
    assert record.extras["conditional_draws"] == 256 and record.extras["groups"] == 2
    assert abs(record.estimate - exact) < 3 * record.extras["stderr"] + 0.02, (record.estimate, exact)
    # Negative control: S taken as a function of x (each sample its own input) gives
    # h(T) - h(Z), far above the truth.
    x, s = dataset.sample_channel(2000, seed=1)
    naive = mibench.get_estimator("noisy-sp", sigma=_DEPTH_SIGMA, draws=1).estimate(np.arange(2000), s)
    assert naive - exact > 0.5


def test_estimators_that_cannot_run_at_depth_are_skipped_with_the_reason():
    records = mibench.run(["noisy-sp", "kde-pairwise"], _depth_dataset(conditional=False), n=200)
    assert [r.status for r in records] == ["skipped", "skipped"]
    assert "needs draws of S given x" in records[0].error
    assert "takes S to be a function of x" in records[1].error
    # Negative control: with draws of S given x, noisy-sp runs (kde-pairwise still cannot).
    records = mibench.run(["noisy-sp", "kde-pairwise"], _depth_dataset(), n=200,
                          params={"noisy-sp": {"conditional_draws": 16}})
    assert [r.status for r in records] == ["ok", "skipped"]


def test_the_conditional_sampler_of_a_deep_layer_travels_to_other_processes():
    import pickle

    from mibench.datasets.network_layers import LayerConditionalSampler, LayerSpec

    sampler = LayerConditionalSampler(LayerSpec.parse("net-szt12-tanh-noisy0.1-L3-e40"))
    estimator = mibench.get_estimator("noisy-sp")
    estimator.conditional_sampler = sampler
    copy = pickle.loads(pickle.dumps(estimator))
    assert copy.conditional_sampler == sampler and copy.get_params() == estimator.get_params()
    with pytest.raises(ValueError, match="conditional_draws"):
        mibench.get_estimator("noisy-sp", conditional_draws=1)
