"""KDE plug-in MI: accuracy, independent scikit-learn references (scipy's and bmi's conventions,
Gaussian and tophat kernels), bandwidth trend."""

import math

import numpy as np
import pytest
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

import mibench
from mibench.core import pairwise


@pytest.fixture(scope="module")
def normal_pair():
    dataset = mibench.get_dataset("1v1-normal-0.75")
    return dataset, *dataset.sample(5000, seed=0)


@pytest.mark.parametrize("leave_one_out", [False, True])
def test_bivariate_normal_within_005_at_n_5000(normal_pair, leave_one_out):
    dataset, x, y = normal_pair
    estimate = mibench.estimate(x, y, "kde", leave_one_out=leave_one_out)
    assert estimate == pytest.approx(dataset.mutual_information, abs=0.05)


def sklearn_kde_mutual_information(x, y, bandwidth):
    """Resubstitution KDE MI with scikit-learn's KernelDensity on standardized columns."""
    x = x / x.std(axis=0, ddof=1)
    y = y / y.std(axis=0, ddof=1)
    joint = np.hstack([x, y])

    def log_density(values):
        return KernelDensity(bandwidth=bandwidth).fit(values).score_samples(
            values
        )

    return float(np.mean(log_density(joint) - log_density(x) - log_density(y)))


@pytest.mark.parametrize("bandwidth", ["scott", 0.3])
def test_equals_sklearn_kernel_density_reference(bandwidth, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2))
    y = np.hstack([x[:, :1] + rng.normal(size=(400, 1)), rng.uniform(size=(400, 1)) * 5])
    monkeypatch.setattr(pairwise, "BLOCK_BYTES", 3 * 8 * 400 * 7)  # several uneven blocks
    result = mibench.get_estimator("kde", bandwidth=bandwidth).estimate_with_extras(x, y)
    h = 400 ** (-1 / 8) if bandwidth == "scott" else bandwidth
    assert result.extras["bandwidth"] == pytest.approx(h)
    assert result.value == pytest.approx(sklearn_kde_mutual_information(x, y, h), abs=1e-9)


def test_leave_one_out_equals_direct_computation():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 1))
    y = x + rng.normal(size=(60, 1))
    h = 0.4
    xs, ys = x / x.std(ddof=1), y / y.std(ddof=1)
    kx = np.exp(-((xs - xs.T) ** 2) / (2 * h**2))
    ky = np.exp(-((ys - ys.T) ** 2) / (2 * h**2))
    off = ~np.eye(60, dtype=bool)

    def loo_mean(kernel):
        return (kernel * off).sum(axis=1) / 59

    # The kernels' normalising constants cancel between the joint and the two marginals.
    direct = np.mean(np.log(loo_mean(kx * ky)) - np.log(loo_mean(kx)) - np.log(loo_mean(ky)))
    estimate = mibench.estimate(x, y, "kde", bandwidth=h, leave_one_out=True)
    assert estimate == pytest.approx(direct, abs=1e-12)


def test_estimate_falls_as_bandwidth_grows(normal_pair):
    _, x, y = normal_pair
    x, y = x[:1500], y[:1500]
    estimates = [mibench.estimate(x, y, "kde", bandwidth=h) for h in (0.05, 0.2, 0.8, 3.2)]
    assert np.all(np.diff(estimates) < 0)
    assert estimates[-1] < 0.05  # a very wide kernel sees no dependence


def test_resubstitution_on_deterministic_layer_tends_to_log_n():
    # A deterministic layer has infinite MI; the KDE reads a number set by the bandwidth.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 2))
    layer = np.tanh(x @ rng.normal(size=(2, 2)))
    narrow = mibench.estimate(x, layer, "kde", bandwidth=1e-4)
    wide = mibench.estimate(x, layer, "kde", bandwidth=0.3)
    assert narrow == pytest.approx(math.log(800), abs=0.01)
    assert wide < narrow - 1


def test_units_do_not_matter_when_standardized(normal_pair):
    _, x, y = normal_pair
    x, y = x[:500], y[:500]
    assert mibench.estimate(x * 1000, y - 7, "kde") == pytest.approx(
        mibench.estimate(x, y, "kde"), abs=1e-9
    )


def bmi_kde_mutual_information(x, y, kernel, rule):
    """bmi's KDE estimator, written from its definition (bmi.estimators._kde): StandardScaler on
    X and on Y, one scikit-learn KernelDensity per space (X, Y and the concatenated (X, Y)),
    each with its own "scott"/"silverman" bandwidth, and I = h(X) + h(Y) - h(X, Y) with every
    entropy the negative mean log density at the samples themselves."""
    x = StandardScaler().fit_transform(x)
    y = StandardScaler().fit_transform(y)

    def entropy(values):
        fitted = KernelDensity(kernel=kernel, bandwidth=rule).fit(values)
        return -np.mean(fitted.score_samples(values))

    return float(entropy(x) + entropy(y) - entropy(np.hstack([x, y])))


@pytest.mark.parametrize(
    ("dataset", "kernel", "rule"),
    [
        ("1v1-normal-0.75", "tophat", "scott"),
        ("multinormal-sparse-3-3-2-2.0", "tophat", "scott"),
        ("student-identity-2-2-1", "tophat", "silverman"),
        ("half_cube-multinormal-sparse-3-3-2-2.0", "gaussian", "scott"),
        ("1v1-AI", "gaussian", "silverman"),
    ],
)
def test_reproduces_bmi_kde_on_beyond_normal_samples(dataset, kernel, rule, monkeypatch):
    x, y = mibench.get_dataset(dataset).sample(1500, seed=4)
    monkeypatch.setattr(pairwise, "BLOCK_BYTES", 4 * 8 * 1500 * 200)  # several blocks
    ours = mibench.estimate(x, y, "kde", kernel=kernel, bandwidth=f"sklearn-{rule}")
    assert ours == pytest.approx(bmi_kde_mutual_information(x, y, kernel, rule), abs=1e-6)


def test_bmi_convention_is_not_scipys():
    # Negative control for the reproduction above: the scipy convention (one bandwidth from
    # the joint dimension, ddof-1 columns) with the same tophat kernel is another estimator.
    x, y = mibench.get_dataset("multinormal-sparse-3-3-2-2.0").sample(1500, seed=4)
    reference = bmi_kde_mutual_information(x, y, "tophat", "scott")
    scipy_rule = mibench.estimate(x, y, "kde", kernel="tophat", bandwidth="scott")
    assert abs(scipy_rule - reference) > 0.05


def test_tophat_resubstitution_equals_direct_counts():
    # The tophat density at a sample is (samples strictly within h) / (n V_d h^d).
    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 2))
    y = x[:, :1] + rng.normal(size=(80, 1))
    h = 0.7

    def log_density(values):
        d = values.shape[1]
        distances = np.sqrt(((values[:, None, :] - values[None, :, :]) ** 2).sum(-1))
        volume = math.pi ** (d / 2) / math.gamma(d / 2 + 1) * h**d
        return np.log((distances < h).sum(axis=1) / (80 * volume))

    direct = np.mean(log_density(np.hstack([x, y])) - log_density(x) - log_density(y))
    estimate = mibench.estimate(x, y, "kde", kernel="tophat", bandwidth=h, standardize=False)
    assert estimate == pytest.approx(direct, abs=1e-12)


def test_tophat_leave_one_out_with_an_isolated_sample_is_named():
    x = np.array([[0.0], [0.1], [0.2], [9.0]])
    with pytest.raises(ValueError, match="tophat KDE is 0 at 1 of 4 samples"):
        mibench.estimate(x, x, "kde", kernel="tophat", bandwidth=0.5, leave_one_out=True,
                         standardize=False)


def test_bad_kernel_is_named():
    with pytest.raises(ValueError, match="kernel must be one of 'gaussian', 'tophat'"):
        mibench.get_estimator("kde", kernel="epanechnikov")


@pytest.mark.parametrize("bandwidth", [-1.0, 0, "wide", None, True, np.nan])
def test_bad_bandwidth_is_named(bandwidth):
    with pytest.raises(ValueError, match="bandwidth"):
        mibench.get_estimator("kde", bandwidth=bandwidth)


def test_bad_flags_are_named():
    with pytest.raises(ValueError, match="leave_one_out"):
        mibench.get_estimator("kde", leave_one_out="yes")
    with pytest.raises(ValueError, match="too few samples"):
        mibench.estimate([1.0], [2.0], "kde")
