"""The ground-truth suite: ids, dimensions, and each closed form against an independent computation."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

import mibench
from mibench.datasets import ground_truth, transforms

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "beyond-normal-v1-tasks.md"


def canonical_correlation_mi(covariance: np.ndarray, dim_x: int) -> float:
    """Gaussian MI from the canonical correlations: -1/2 sum log(1 - rho_i^2)."""
    def inverse_sqrt(matrix):
        values, vectors = np.linalg.eigh(matrix)
        return vectors @ np.diag(values**-0.5) @ vectors.T

    cxx, cyy = covariance[:dim_x, :dim_x], covariance[dim_x:, dim_x:]
    cxy = covariance[:dim_x, dim_x:]
    rho = np.linalg.svd(inverse_sqrt(cxx) @ cxy @ inverse_sqrt(cyy), compute_uv=False)
    return float(-0.5 * np.sum(np.log1p(-(rho**2))))


def test_the_suite_has_the_40_beyond_normal_ids_and_independent_pairs():
    names = mibench.list_datasets("beyond-normal")
    assert len(names) == 40 == len(set(names))
    assert set(ground_truth.INDEPENDENT_TASKS) <= set(mibench.list_datasets("independent"))
    assert set(mibench.list_datasets("default")) >= set(names) | set(ground_truth.INDEPENDENT_TASKS)


@pytest.mark.skipif(not REFERENCE.exists(), reason="the shared reference folder is not beside the repo")
def test_ids_and_dimensions_match_the_published_table():
    rows = re.findall(r"^\| `([^`]+)` \| (\d+) \| (\d+) \|$", REFERENCE.read_text(), re.MULTILINE)
    assert len(rows) == 40
    for task_id, dim_x, dim_y in rows:
        dataset = mibench.get_dataset(task_id)
        assert (dataset.dim_x, dataset.dim_y) == (int(dim_x), int(dim_y)), task_id


@pytest.mark.parametrize("task_id", ground_truth.BEYOND_NORMAL_TASKS + ground_truth.INDEPENDENT_TASKS)
def test_samples_have_the_stated_shape_and_are_reproducible(task_id):
    dataset = mibench.get_dataset(task_id)
    x, y = dataset.sample(50, seed=3)
    assert x.shape == (50, dataset.dim_x) and y.shape == (50, dataset.dim_y)
    assert x.dtype == y.dtype == np.float64
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    x2, y2 = dataset.sample(50, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    x3, _ = dataset.sample(50, seed=4)
    assert not np.array_equal(x, x3)


@pytest.mark.parametrize(
    ("task_id", "covariance"),
    [
        ("1v1-normal-0.75", np.array([[1, 0.75], [0.75, 1]])),
        *[(f"multinormal-dense-{d}-{d}-0.5", ground_truth.dense_covariance(d, d, 0.5))
          for d in (2, 3, 5, 25, 50)],
        *[(f"multinormal-sparse-{d}-{d}-2-2.0", ground_truth.sparse_covariance(d, d, 2, 2.0))
          for d in (2, 3, 5, 25)],
    ],
)
def test_gaussian_tasks_match_canonical_correlations(task_id, covariance):
    dataset = mibench.get_dataset(task_id)
    assert dataset.mutual_information == pytest.approx(
        canonical_correlation_mi(covariance, dataset.dim_x), rel=1e-10
    )


def test_known_values_in_nats():
    # Published-by-formula values: bivariate normal -1/2 log(1 - 0.75^2); sparse: two pairs
    # of correlation 0.8; additive: eps - log(2 eps) and 1/(4 eps).
    assert mibench.get_dataset("1v1-normal-0.75").mutual_information == pytest.approx(0.41334, abs=1e-5)
    assert mibench.get_dataset("multinormal-sparse-5-5-2-2.0").mutual_information == pytest.approx(
        -math.log(1 - 0.64), abs=1e-12
    )
    assert mibench.get_dataset("1v1-additive-0.1").mutual_information == pytest.approx(1.70944, abs=1e-5)
    assert mibench.get_dataset("1v1-additive-0.75").mutual_information == pytest.approx(1 / 3, abs=1e-12)


def test_sparse_samples_have_the_stated_correlation():
    x, y = mibench.get_dataset("multinormal-sparse-3-3-2-2.0").sample(200_000, seed=0)
    correlation = np.corrcoef(np.hstack([x, y]), rowvar=False)
    assert correlation[0, 3] == pytest.approx(0.8, abs=0.005)
    assert correlation[1, 4] == pytest.approx(0.8, abs=0.005)
    assert abs(correlation[2, 5]) < 0.01


@pytest.mark.parametrize("epsilon", [0.1, 0.75])
def test_additive_noise_matches_numerical_integration(epsilon):
    def density(y):
        return (min(y + epsilon, 1.0) - max(y - epsilon, 0.0)) / (2 * epsilon)

    def integrand(y):
        p = density(y)
        return -p * math.log(p) if p > 0 else 0.0

    breaks = sorted({-epsilon, epsilon, 1 - epsilon, 1 + epsilon})
    entropy_y = sum(integrate.quad(integrand, a, b)[0] for a, b in zip(breaks, breaks[1:]))
    exact = entropy_y - math.log(2 * epsilon)
    assert mibench.get_dataset(f"1v1-additive-{epsilon}").mutual_information == pytest.approx(
        exact, abs=1e-8
    )


@pytest.mark.parametrize(
    "task_id",
    ["student-identity-1-1-1", "student-identity-2-2-1", "student-identity-2-2-2",
     "student-identity-3-3-2", "student-identity-3-3-3", "student-identity-5-5-2",
     "student-identity-5-5-3"],
)
def test_student_t_matches_monte_carlo_of_the_log_density_ratio(task_id):
    dataset = mibench.get_dataset(task_id)
    dof = float(task_id.rsplit("-", 1)[1])
    x, y = dataset.sample(200_000, seed=11)
    joint = stats.multivariate_t(loc=np.zeros(dataset.dim_x + dataset.dim_y), df=dof)
    margin_x = stats.multivariate_t(loc=np.zeros(dataset.dim_x), df=dof)
    margin_y = stats.multivariate_t(loc=np.zeros(dataset.dim_y), df=dof)
    log_ratio = joint.logpdf(np.hstack([x, y])) - margin_x.logpdf(x) - margin_y.logpdf(y)
    standard_error = log_ratio.std() / math.sqrt(log_ratio.size)
    assert abs(log_ratio.mean() - dataset.mutual_information) < 3 * standard_error


@pytest.mark.parametrize("task_id", ground_truth.BEYOND_NORMAL_TASKS)
def test_transformed_tasks_keep_the_base_task_mi(task_id):
    dataset = mibench.get_dataset(task_id)
    base_id = task_id
    while True:
        prefix = next((p for p in ("swissroll_x", *transforms.TRANSFORMS)
                       if base_id.startswith(p + "-")), None)
        if prefix is None:
            break
        base_id = base_id[len(prefix) + 1:]
    base_id = base_id.replace("1v1-bimodal", "1v1-normal")
    assert dataset.mutual_information == ground_truth.make_task(base_id).mutual_information


@pytest.mark.parametrize("name", ["normal_cdf", "half_cube", "asinh", "wiggly", "bimodal"])
def test_coordinatewise_transforms_are_strictly_increasing(name):
    # [-6, 6] holds all but 2e-9 of a standard normal's mass; beyond about 8.3 the normal
    # CDF rounds to 1 in float64, so no finite grid can show it increasing there.
    grid = np.linspace(-6, 6, 400_001)
    values = transforms.TRANSFORMS[name](grid)
    assert np.all(np.diff(values) > 0)


def test_spiral_is_invertible_and_swissroll_injective():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(1000, 5))
    turned = transforms.spiral(points)
    assert np.allclose(np.linalg.norm(turned, axis=1), np.linalg.norm(points, axis=1))
    assert np.allclose(transforms.spiral(turned, speed=-1 / 3), points)
    u = np.linspace(0, 1, 10_001)[:, None]
    radius = np.linalg.norm(transforms.swissroll(u), axis=1)
    assert np.all(np.diff(radius) > 0)


def test_bimodal_marginal_has_two_modes():
    x, _ = mibench.get_dataset("1v1-bimodal-0.75").sample(100_000, seed=0)
    counts, edges = np.histogram(x, bins=41, range=(-2.05, 2.05))
    centre = counts[20]
    assert counts[:20].max() > 3 * centre and counts[21:].max() > 3 * centre


def test_unknown_dataset_lists_close_matches():
    with pytest.raises(ValueError, match="1v1-normal-0.75"):
        mibench.get_dataset("1v1-normal-0.7")


def test_bad_sample_size_and_seed_are_rejected():
    dataset = mibench.get_dataset("1v1-normal-0.75")
    with pytest.raises(ValueError, match="n must be at least 1"):
        dataset.sample(0)
    with pytest.raises(ValueError, match="seed must be an integer"):
        dataset.sample(10, seed=1.5)
