"""Gaussian KDE plug-in MI: accuracy, an independent scikit-learn reference, bandwidth trend."""

import math

import numpy as np
import pytest
from sklearn.neighbors import KernelDensity

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


@pytest.mark.parametrize("bandwidth", [-1.0, 0, "wide", None, True, np.nan])
def test_bad_bandwidth_is_named(bandwidth):
    with pytest.raises(ValueError, match="bandwidth"):
        mibench.get_estimator("kde", bandwidth=bandwidth)


def test_bad_flags_are_named():
    with pytest.raises(ValueError, match="leave_one_out"):
        mibench.get_estimator("kde", leave_one_out="yes")
    with pytest.raises(ValueError, match="too few samples"):
        mibench.estimate([1.0], [2.0], "kde")
