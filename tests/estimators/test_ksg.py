"""KSG against the truth, against a brute-force reference written here, and on independent data."""

import math

import numpy as np
import pytest
from scipy.special import digamma

import mibench


def brute_force_ksg(x: np.ndarray, y: np.ndarray, k: int, variant: int) -> float:
    """The KSG formulas computed from the full max-norm distance matrices, no trees."""
    n = x.shape[0]
    dist_x = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    dist_y = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    dist_joint = np.maximum(dist_x, dist_y)
    np.fill_diagonal(dist_joint, np.inf)
    order = np.argsort(dist_joint, axis=1, kind="stable")
    total = 0.0
    for i in range(n):
        neighbours = order[i, :k]
        if variant == 1:
            eps = dist_joint[i, neighbours[-1]]
            n_x = np.sum(dist_x[i] < eps) - 1
            n_y = np.sum(dist_y[i] < eps) - 1
            total += digamma(n_x + 1) + digamma(n_y + 1)
        else:
            n_x = np.sum(dist_x[i] <= dist_x[i, neighbours].max()) - 1
            n_y = np.sum(dist_y[i] <= dist_y[i, neighbours].max()) - 1
            total += digamma(n_x) + digamma(n_y)
    if variant == 1:
        return digamma(k) + digamma(n) - total / n
    return digamma(k) - 1 / k + digamma(n) - total / n


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("algorithm", ["tree", "brute"])
@pytest.mark.parametrize(("dim_x", "dim_y", "k"), [(1, 1, 3), (2, 3, 5), (4, 1, 1)])
def test_ksg_equals_brute_force_reference(variant, algorithm, dim_x, dim_y, k):
    rng = np.random.default_rng(dim_x * 10 + dim_y + k)
    x = rng.normal(size=(300, dim_x))
    y = x[:, :1] * 0.7 + rng.normal(size=(300, dim_y))
    estimator = mibench.get_estimator(
        "ksg", k=k, variant=variant, algorithm=algorithm, standardize=False, noise=0.0
    )
    assert estimator.estimate(x, y) == pytest.approx(
        brute_force_ksg(x, y, k, variant), abs=1e-10
    )


def test_ksg_on_bivariate_normal_is_within_003_nats():
    dataset = mibench.get_dataset("1v1-normal-0.75")
    x, y = dataset.sample(10_000, seed=0)
    assert abs(mibench.estimate(x, y, "ksg") - dataset.mutual_information) < 0.03


@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_is_about_zero_on_independent_data(variant):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10_000, 2)), rng.normal(size=(10_000, 2))
    assert abs(mibench.estimate(x, y, "ksg", variant=variant)) < 0.02


def test_ksg_is_invariant_to_scaling_when_standardizing():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1000, 2))
    y = x + rng.normal(size=(1000, 2))
    plain = mibench.estimate(x, y, "ksg")
    scaled = mibench.estimate(x * [1000.0, 0.001], y * 50.0, "ksg")
    assert scaled == pytest.approx(plain, abs=1e-6)


def test_ksg_same_seed_same_number_and_jitter_breaks_ties():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=(2000, 1)).astype(float)
    y = x + rng.integers(0, 2, size=(2000, 1))
    first = mibench.estimate(x, y, "ksg", seed=7)
    assert mibench.estimate(x, y, "ksg", seed=7) == first
    assert math.isfinite(first)


def test_ksg_rejects_too_few_samples_for_k():
    with pytest.raises(ValueError, match=r"at least 6 .*k=5.*got 5"):
        mibench.estimate(np.arange(5.0), np.arange(5.0), "ksg", k=5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 0}, "k must be at least 1"),
        ({"variant": 3}, "variant must be one of"),
        ({"noise": -1.0}, "noise must be"),
        ({"algorithm": "ball"}, "algorithm must be one of"),
        ({"workers": 0}, "workers"),
    ],
)
def test_ksg_rejects_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        mibench.get_estimator("ksg", **params)
