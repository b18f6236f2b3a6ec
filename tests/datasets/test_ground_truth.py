"""The ground-truth suite: ids, dimensions, and each closed form against an independent computation."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, linalg, optimize, stats

import mibench
from mibench.datasets import dataset_tags, ground_truth, transforms

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "beyond-normal-v1-tasks.md"


def sparse_correlation(dim: int, pairs: int, rho: float) -> np.ndarray:
    """The identity on (X, Y), dim each, with Corr(X_i, Y_i) = rho for i < pairs."""
    matrix = np.eye(2 * dim)
    index = np.arange(pairs)
    matrix[index, dim + index] = matrix[dim + index, index] = rho
    return matrix


def canonical_correlation_mi(covariance: np.ndarray, dim_x: int) -> float:
    """Gaussian MI from the canonical correlations: -1/2 sum log(1 - rho_i^2)."""
    def inverse_sqrt(matrix):
        values, vectors = np.linalg.eigh(matrix)
        return vectors @ np.diag(values**-0.5) @ vectors.T

    cxx, cyy = covariance[:dim_x, :dim_x], covariance[dim_x:, dim_x:]
    cxy = covariance[:dim_x, dim_x:]
    rho = np.linalg.svd(inverse_sqrt(cxx) @ cxy @ inverse_sqrt(cyy), compute_uv=False)
    return float(-0.5 * np.sum(np.log1p(-(rho**2))))


def test_suites_by_tag():
    v1 = mibench.list_datasets("beyond-normal-v1")
    v2 = mibench.list_datasets("beyond-normal-v2")
    assert v1 == list(ground_truth.BEYOND_NORMAL_TASKS) and len(set(v1)) == 40
    assert set(v2) == set(ground_truth.BEYOND_NORMAL_V2_TASKS) and len(set(v2)) == 26
    assert len(set(v1) & set(v2)) == 13
    assert set(mibench.list_datasets("beyond-normal")) == set(v1) | set(v2)
    assert set(ground_truth.INDEPENDENT_TASKS) <= set(mibench.list_datasets("independent"))
    # The default suite keeps v1 and the independent pairs, and no v2-only task.
    default = set(mibench.list_datasets("default"))
    assert default >= set(v1) | set(ground_truth.INDEPENDENT_TASKS)
    assert not default & (set(v2) - set(v1))
    for name in set(v1) | set(v2):
        dataset = mibench.get_dataset(name)
        assert dataset.tags >= dataset_tags(name)
        assert ("beyond-normal-v1" in dataset.tags) == (name in v1)
        assert ("beyond-normal-v2" in dataset.tags) == (name in v2)


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
        *[(f"multinormal-sparse-{d}-{d}-2-2.0", sparse_correlation(d, 2, 0.8))
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


def test_sparse_samples_have_unit_variances_and_the_stated_correlation():
    dataset = mibench.get_dataset("multinormal-sparse-3-3-2-2.0")
    x, y = dataset.sample(200_000, seed=0, standardize=False)
    joint = np.hstack([x, y])
    assert np.allclose(joint.var(axis=0), 1.0, atol=0.015)
    correlation = np.corrcoef(joint, rowvar=False)
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
    x, y = dataset.sample(200_000, seed=11, standardize=False)
    joint = stats.multivariate_t(loc=np.zeros(dataset.dim_x + dataset.dim_y), df=dof)
    margin_x = stats.multivariate_t(loc=np.zeros(dataset.dim_x), df=dof)
    margin_y = stats.multivariate_t(loc=np.zeros(dataset.dim_y), df=dof)
    log_ratio = joint.logpdf(np.hstack([x, y])) - margin_x.logpdf(x) - margin_y.logpdf(y)
    standard_error = log_ratio.std() / math.sqrt(log_ratio.size)
    assert abs(log_ratio.mean() - dataset.mutual_information) < 3 * standard_error


def student_t_mi(dim_x: int, dim_y: int, dof: float) -> float:
    """h(X) + h(Y) - h(X, Y) from scipy's entropies of the multivariate t distributions."""
    def entropy(dim):
        return stats.multivariate_t(loc=np.zeros(dim), shape=np.eye(dim), df=dof).entropy()

    return entropy(dim_x) + entropy(dim_y) - entropy(dim_x + dim_y)


def trapezoid_mi(epsilon: float) -> float:
    """I(X; X + N) = h(X + N) - h(N): X + N has a trapezoid density, integrated piece by piece."""
    def integrand(y):
        p = (min(y + epsilon, 1.0) - max(y - epsilon, 0.0)) / (2 * epsilon)
        return -p * math.log(p) if p > 0 else 0.0

    breaks = sorted({-epsilon, epsilon, 1 - epsilon, 1 + epsilon})
    entropy_y = sum(integrate.quad(integrand, a, b, epsabs=1e-14, epsrel=1e-14, limit=200)[0]
                    for a, b in zip(breaks, breaks[1:]))
    return entropy_y - math.log(2 * epsilon)


def independent_v1_mi(task_id: str) -> float:
    """The MI of a v1 task from its base distribution, by computations mibench does not use."""
    base = task_id
    for _ in range(3):
        base = re.sub(r"^(swissroll_x|normal_cdf|half_cube|asinh|wiggly|spiral)-", "", base)
    if base in ("1v1-normal-0.75", "1v1-bimodal-0.75"):
        return canonical_correlation_mi(np.array([[1.0, 0.75], [0.75, 1.0]]), 1)
    if match := re.fullmatch(r"1v1-additive-([\d.]+)", base):
        return trapezoid_mi(float(match[1]))
    if match := re.fullmatch(r"multinormal-dense-(\d+)-(\d+)-0.5", base):
        dim_x, dim_y = int(match[1]), int(match[2])
        covariance = np.full((dim_x + dim_y,) * 2, 0.5) + 0.5 * np.eye(dim_x + dim_y)
        return canonical_correlation_mi(covariance, dim_x)
    if re.fullmatch(r"multinormal-sparse-(\d+)-(\d+)-2-2.0", base):
        return 2 * -0.5 * math.log(1 - 0.8**2)
    if match := re.fullmatch(r"student-identity-(\d+)-(\d+)-(\d+)", base):
        return student_t_mi(int(match[1]), int(match[2]), float(match[3]))
    raise AssertionError(f"no independent MI for {task_id}")


@pytest.mark.parametrize("task_id", ground_truth.BEYOND_NORMAL_TASKS)
def test_v1_mi_matches_an_independent_computation(task_id):
    # The transforms are bijections, so every task has its base distribution's MI; the sampler
    # fixes of issue 10 changed no truth (checked against these values to 1e-12).
    tolerance = 1e-12 if "additive" not in task_id else 1e-10  # quad on the trapezoid
    assert abs(mibench.get_dataset(task_id).mutual_information - independent_v1_mi(task_id)) < tolerance


@pytest.mark.parametrize("name", ["normal_cdf", "half_cube", "asinh"])
def test_coordinatewise_transforms_are_strictly_increasing(name):
    # [-6, 6] holds all but 2e-9 of a standard normal's mass; beyond about 8.3 the normal
    # CDF rounds to 1 in float64, so no finite grid can show it increasing there.
    grid = np.linspace(-6, 6, 400_001)
    assert np.all(np.diff(transforms.COORDINATEWISE[name](grid)) > 0)


@pytest.mark.parametrize("function", [transforms.wiggly_x, transforms.wiggly_y,
                                      transforms.bimodal_x, transforms.bimodal_y])
def test_one_dimensional_maps_are_strictly_increasing(function):
    grid = np.linspace(-8, 8, 400_001)
    assert np.all(np.diff(function(grid)) > 0)


def test_wiggly_maps_x_and_y_differently():
    grid = np.linspace(-3, 3, 101)
    assert np.max(np.abs(transforms.wiggly_x(grid) - transforms.wiggly_y(grid))) > 0.5


@pytest.mark.parametrize(
    ("function", "weights", "means"),
    [(transforms.bimodal_x, (0.3, 0.7), (0.0, 5.0)), (transforms.bimodal_y, (0.5, 0.5), (-1.0, 3.0))],
)
def test_bimodal_margins_are_the_mixture_quantiles(function, weights, means):
    # F(t) = Phi(z) solved by bracketing root finding, against the interpolated map.
    def mixture_cdf(t):
        return sum(w * stats.norm.cdf(t - m) for w, m in zip(weights, means))

    for z in np.linspace(-5, 5, 41):
        root = optimize.brentq(lambda t, z=z: mixture_cdf(t) - stats.norm.cdf(z), -20, 20,
                               xtol=1e-13)
        assert function(np.array([z]))[0] == pytest.approx(root, abs=1e-7)


@pytest.mark.parametrize(("dim", "plane"), [(2, (0, 1)), (3, (1, 2)), (5, (0, 1)), (25, (1, 2))])
def test_spiral_is_the_exponential_of_a_plane_generator(dim, plane):
    rng = np.random.default_rng(dim)
    points = rng.normal(size=(20, dim))
    generator = np.zeros((dim, dim))
    generator[plane[0], plane[1]], generator[plane[1], plane[0]] = -1.0, 1.0
    expected = np.array([linalg.expm(generator * (p @ p) / dim) @ p for p in points])
    turned = transforms.spiral(points, speed=1 / dim, plane=plane)
    assert np.allclose(turned, expected, atol=1e-12)
    assert np.allclose(transforms.spiral(turned, speed=-1 / dim, plane=plane), points)


def test_spiral_tasks_turn_the_planes_and_speeds_of_bmi():
    transform_x, transform_y = transforms.transform_pair("spiral", 5, 3)
    # X: plane (1, 2) at speed 1/5; Y: plane (2, 3) at speed 1/3 (1-based, as bmi documents);
    # |x|^2 = 5 and |y|^2 = 3, so both turn by one radian.
    turned_pair = [math.cos(1) - math.sin(1), math.sin(1) + math.cos(1)]
    assert np.allclose(transform_x(np.ones((1, 5))), [turned_pair + [1, 1, 1]])
    assert np.allclose(transform_y(np.ones((1, 3))), [[1] + turned_pair])
    with pytest.raises(ValueError, match="dim_y >= 3"):
        ground_truth.make_task("spiral-multinormal-sparse-2-2-2-2.0")


def test_swissroll_is_injective():
    u = np.linspace(0, 1, 10_001)[:, None]
    radius = np.linalg.norm(transforms.swissroll(u), axis=1)
    assert np.all(np.diff(radius) > 0)


def test_unknown_dataset_lists_close_matches():
    with pytest.raises(ValueError, match="1v1-normal-0.75"):
        mibench.get_dataset("1v1-normal-0.7")


def test_bad_sample_size_and_seed_are_rejected():
    dataset = mibench.get_dataset("1v1-normal-0.75")
    with pytest.raises(ValueError, match="n must be at least 1"):
        dataset.sample(0)
    with pytest.raises(ValueError, match="seed must be an integer"):
        dataset.sample(10, seed=1.5)
