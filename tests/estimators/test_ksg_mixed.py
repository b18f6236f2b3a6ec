"""The mixed KSG estimator (Gao et al. 2017) on discrete, continuous and mixed pairs."""

import math

import numpy as np
import pytest
from scipy.special import digamma

import mibench
from mibench.estimators.ksg_mixed import mixed_ksg_counts


def discrete_continuous_truth(n_values: int) -> float:
    """I(X; Y) for X uniform on {0, .., m-1} and Y = X + U[0, 2], from Y's piecewise density.

    On [j, j + 1] the density of Y is c_j / (2 m), c_j the number of x in {j - 1, j}; and
    h(Y | X) = log 2, the entropy of U[0, 2].
    """
    counts = [sum(1 for x in (j - 1, j) if 0 <= x < n_values) for j in range(n_values + 1)]
    entropy_y = -sum(c / (2 * n_values) * math.log(c / (2 * n_values)) for c in counts)
    return entropy_y - math.log(2)


@pytest.fixture(scope="module")
def discrete_continuous_pair():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=10_000).astype(float)
    return x, x + rng.uniform(0, 2, size=x.size)


def test_truth_of_the_discrete_continuous_pair():
    # Gao et al.'s closed form: log m - (m - 1) log 2 / m.
    assert discrete_continuous_truth(4) == pytest.approx(math.log(4) - 0.75 * math.log(2))


def test_discrete_continuous_pair_within_003(discrete_continuous_pair):
    x, y = discrete_continuous_pair
    estimate = mibench.estimate(x, y, "ksg-mixed")
    assert estimate == pytest.approx(discrete_continuous_truth(4), abs=0.03)


def test_without_joint_ties_it_is_ksg_estimator_1(discrete_continuous_pair):
    # Ties in one margin only: the joint k-th neighbour is never a copy, and the reference
    # form is KSG 1 (here without jitter) save log n for psi(n).
    x, y = discrete_continuous_pair
    n = x.size
    mixed = mibench.estimate(x, y, "ksg-mixed", k=4)
    ksg = mibench.estimate(x, y, "ksg", k=4, noise=0.0)
    assert mixed - ksg == pytest.approx(math.log(n) - digamma(n), abs=1e-10)


def test_ksg_1_equivalence_on_continuous_data():
    x, y = mibench.get_dataset("1v1-normal-0.75").sample(2000, seed=1)
    mixed = mibench.estimate(x, y, "ksg-mixed", k=3)
    ksg = mibench.estimate(x, y, "ksg", k=3, noise=0.0)
    assert mixed - ksg == pytest.approx(math.log(2000) - digamma(2000), abs=1e-10)


def test_ties_in_the_joint_space_where_plain_ksg_breaks():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, size=4000).astype(float)
    y = x.copy()  # I(X; Y) = H(X) = log 4
    estimate = mibench.estimate(x, y, "ksg-mixed")
    assert estimate == pytest.approx(math.log(4), abs=0.01)
    # KSG without its tie-breaking jitter counts every copy as a neighbour: far off.
    plain = mibench.estimate(x, y, "ksg", noise=0.0)
    assert abs(plain - math.log(4)) > 1.0
    independent = rng.integers(0, 4, size=4000).astype(float)
    assert mibench.estimate(x, independent, "ksg-mixed") == pytest.approx(0.0, abs=0.01)


def test_discrete_pair_agrees_with_plug_in():
    rng = np.random.default_rng(3)
    table = np.array([[0.3, 0.05, 0.05], [0.02, 0.2, 0.08], [0.1, 0.0, 0.2]])
    cells = rng.choice(9, size=6000, p=table.ravel())
    x, y = (cells // 3).astype(float), (cells % 3).astype(float)
    result = mibench.get_estimator("ksg-mixed").estimate_with_extras(x, y)
    assert result.value == pytest.approx(mibench.estimate(x, y, "discrete"), abs=0.01)
    assert result.extras["tied_samples"] == 6000


def test_paper_form_is_biased_low_at_small_k(discrete_continuous_pair):
    # Algorithm 1 as printed counts the k-th neighbour in its margin and uses log for psi.
    x, y = discrete_continuous_pair
    truth = discrete_continuous_truth(4)
    paper = [mibench.estimate(x, y, "ksg-mixed", k=k, variant="paper") for k in (3, 10)]
    assert truth - paper[0] > 0.2
    assert truth - paper[0] > truth - paper[1] > 0.03


def test_units_do_not_matter_when_standardized(discrete_continuous_pair):
    x, y = discrete_continuous_pair
    x, y = x[:3000], y[:3000]
    # A power-of-two scale is exact in floating point, so every count is unchanged.
    assert mibench.estimate(x * 1024, y / 8, "ksg-mixed") == mibench.estimate(x, y, "ksg-mixed")


@pytest.mark.parametrize(
    ("params", "named"),
    [({"k": 0}, "k"), ({"variant": "ksg1"}, "variant"), ({"workers": 0}, "workers")],
)
def test_bad_parameters_are_named(params, named):
    with pytest.raises(ValueError, match=named):
        mibench.get_estimator("ksg-mixed", **params)


def test_too_few_samples_for_k():
    with pytest.raises(ValueError, match="k \\+ 1"):
        mibench.estimate(np.arange(5.0), np.arange(5.0), "ksg-mixed", k=5)


def reference_mixed_counts(x, y, k, strict):
    """rho, copies, n_x, n_y from the full max-norm distance matrices (Gao et al.'s definitions)."""
    dist_x = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    dist_y = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    joint = np.maximum(dist_x, dist_y)
    np.fill_diagonal(joint, np.inf)
    radius = np.sort(joint, axis=1)[:, k - 1]
    copies = (joint == 0).sum(axis=1)
    np.fill_diagonal(dist_x, np.inf)
    np.fill_diagonal(dist_y, np.inf)
    r = radius[:, None]
    if strict:
        counts_x = np.where(r > 0, dist_x < r, dist_x == 0).sum(axis=1)
        counts_y = np.where(r > 0, dist_y < r, dist_y == 0).sum(axis=1)
    else:
        counts_x, counts_y = (dist_x <= r).sum(axis=1), (dist_y <= r).sum(axis=1)
    return radius, copies, counts_x, counts_y


def mixed_samples(seed):
    rng = np.random.default_rng(seed)
    continuous = rng.normal(size=(300, 3)), rng.normal(size=(300, 2))
    integers = rng.integers(0, 3, size=(300, 2)).astype(float)
    with_atoms = np.where(rng.random((300, 1)) < 0.5, 0.0, rng.normal(size=(300, 1)))
    return {
        "continuous": continuous,
        "discrete": (integers, integers[:, :1] + rng.integers(0, 2, size=(300, 1))),
        "atoms-1d": (with_atoms, with_atoms + (with_atoms != 0) * rng.normal(size=(300, 1))),
        "discrete-continuous": (integers[:, :1], integers[:, :1] + rng.uniform(0, 2, (300, 1))),
    }


@pytest.mark.parametrize("algorithm", ["tree", "brute"])
@pytest.mark.parametrize("variant", ["reference", "paper"])
@pytest.mark.parametrize("k", [1, 4])
def test_counts_equal_the_plain_reference(algorithm, variant, k):
    for name, (x, y) in mixed_samples(k).items():
        expected = reference_mixed_counts(x, y, k, strict=variant == "reference")
        radius, copies, counts_x, counts_y, used = mixed_ksg_counts(
            x, y, k, variant, algorithm, workers=2
        )
        assert used == algorithm
        np.testing.assert_array_equal(radius, expected[0], err_msg=name)
        tied = radius == 0
        np.testing.assert_array_equal(copies[tied], expected[1][tied], err_msg=name)
        np.testing.assert_array_equal(counts_x, expected[2], err_msg=name)
        np.testing.assert_array_equal(counts_y, expected[3], err_msg=name)


def test_brute_and_tree_give_the_same_estimate(discrete_continuous_pair):
    x, y = discrete_continuous_pair
    x, y = x[:3000], y[:3000]
    tree = mibench.estimate(x, y, "ksg-mixed", algorithm="tree")
    brute = mibench.estimate(x, y, "ksg-mixed", algorithm="brute")
    assert tree == brute
