"""Beyond-Normal v2: the 13 mixture ("fine") tasks, their truths and their samplers.

Each truth (a Monte Carlo mean of the pointwise MI, mibench.datasets.mixtures) is checked by a
second computation written here from the task's definition: numerical integration of a
two-dimensional reduction (X, AI, galaxy, waves), a one-dimensional integral (concentric
Gaussians), or a separate Monte Carlo of a four-dimensional reduction (sparse with inliers;
a much longer one is marked slow). Samplers are compared with an independent sampler of the same
mixture (scipy's multivariate normals, the bijections written out again).
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from sample_checks import Z_LIMIT, quantiles_and_errors, spearman_and_error
from scipy import integrate, stats
from scipy.special import logsumexp

import mibench
from mibench.datasets import fine_distributions, ground_truth
from mibench.datasets.mixtures import NormalMixture

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "beyond-normal-v2-tasks.md"

DIMENSIONS = {
    "1v1-X-0.9": (1, 1), "1v1-AI": (1, 1), "2v1-waves-12-5.0-3.0": (2, 1),
    "2v1-galaxy-0.5-3.0": (2, 1), "3v1-concentric_gaussians-5": (3, 1),
    "5v1-concentric_gaussians-5": (5, 1), "3v1-concentric_gaussians-10": (3, 1),
    "5v1-concentric_gaussians-10": (5, 1), "25v1-concentric_gaussians-5": (25, 1),
    "mult-sparse-w-inliers-5-5-2-2.0-0.2": (5, 5), "mult-sparse-w-inliers-25-25-2-2.0-0.2": (25, 25),
    "mult-sparse-w-inliers-5-5-2-2.0-0.5": (5, 5), "mult-sparse-w-inliers-25-25-2-2.0-0.5": (25, 25),
}


# ---- the task ids -------------------------------------------------------------------------------

def test_v2_has_13_new_tasks_and_13_from_v1():
    assert set(fine_distributions.FINE_TASKS) == set(DIMENSIONS)
    kept = set(ground_truth.BEYOND_NORMAL_V2_TASKS) - set(DIMENSIONS)
    assert len(kept) == 13 and kept <= set(ground_truth.BEYOND_NORMAL_TASKS)
    for task_id, dims in DIMENSIONS.items():
        dataset = mibench.get_dataset(task_id)
        assert (dataset.dim_x, dataset.dim_y) == dims
        assert dataset.standardized and {"beyond-normal", "beyond-normal-v2"} <= dataset.tags
        assert "default" not in dataset.tags and "beyond-normal-v1" not in dataset.tags


@pytest.mark.skipif(not REFERENCE.exists(), reason="the shared reference folder is not beside the repo")
def test_ids_match_the_reference_list():
    text = REFERENCE.read_text()
    listed = text[text.index("## The 26 ids of v2"):]
    ids = set(re.findall(r"`([^`]+)`", listed))
    assert ids == set(ground_truth.BEYOND_NORMAL_V2_TASKS)


def test_truths_are_not_computed_when_registered(monkeypatch):
    # Registration (what importing the module does) must not run a Monte Carlo: it only
    # stores factories. Replay it into a scratch registry with the truth computation disabled.
    registered = {}
    monkeypatch.setattr(fine_distributions, "register_dataset",
                        lambda name, factory, tags, summary: registered.setdefault(name, (factory, tags)))
    monkeypatch.setattr(fine_distributions, "_truth", lambda task_id: pytest.fail("truth computed"))
    fine_distributions._register()
    assert set(registered) == set(DIMENSIONS)
    assert all("beyond-normal-v2" in tags for _, tags in registered.values())


def test_truth_is_reproducible_and_has_the_stated_standard_error():
    dataset = mibench.get_dataset("1v1-X-0.9")
    # Recomputed from the fixed seed, not read back from the disk cache.
    again = fine_distributions.monte_carlo_mutual_information(
        fine_distributions.mixture_of("1v1-X-0.9"), seed=fine_distributions.TRUTH_SEED,
        target_stderr=fine_distributions.TRUTH_STDERR,
    )
    assert again == (dataset.mutual_information, dataset.mutual_information_stderr)
    for task_id in DIMENSIONS:
        assert 0 < mibench.get_dataset(task_id).mutual_information_stderr <= 0.005


# ---- the truths, by independent computations ---------------------------------------------------

def normal_mixture_density_2d(points_x, points_y, weights, means, covariances):
    """Density of a bivariate normal mixture on a grid, shape (len(points_x), len(points_y))."""
    dx = points_x[:, None, None] - np.asarray(means, dtype=float)[:, 0]
    dy = points_y[None, :, None] - np.asarray(means, dtype=float)[:, 1]
    covariances = np.asarray(covariances, dtype=float)
    a, b, c = covariances[:, 0, 0], covariances[:, 0, 1], covariances[:, 1, 1]
    determinant = a * c - b * b
    quadratic = (c * dx**2 - 2 * b * dx * dy + a * dy**2) / determinant
    return np.sum(np.asarray(weights) * np.exp(-quadratic / 2) / (2 * np.pi * np.sqrt(determinant)), axis=-1)


def grid_mutual_information(points_x, points_y, density):
    """I(X; Y) = int p log(p / (p_x p_y)) by the trapezoid rule, margins integrated numerically."""
    density = density / integrate.trapezoid(integrate.trapezoid(density, points_y, axis=1), points_x)
    margin_x = integrate.trapezoid(density, points_y, axis=1)
    margin_y = integrate.trapezoid(density, points_x, axis=0)
    ratio = density / np.outer(margin_x, margin_y)
    integrand = np.where(density > 0, density * np.log(np.where(density > 0, ratio, 1.0)), 0.0)
    return float(integrate.trapezoid(integrate.trapezoid(integrand, points_y, axis=1), points_x))


def two_dimensional_reduction(task_id):
    """(weights, means, covariances, x range, y range) of a bivariate mixture with the task's MI."""
    if task_id == "1v1-X-0.9":
        return ([0.5, 0.5], [[0, 0], [0, 0]], [[[1, -0.9], [-0.9, 1]], [[1, 0.9], [0.9, 1]]],
                (-7, 7), (-7, 7))
    if task_id == "1v1-AI":
        c = 0.95 * math.sqrt(0.04 * 0.2)
        return ([1 / 6] * 6,
                [[1, 0], [1, 1], [1, -1], [-0.8, -0.2], [-1.2, 0], [-0.4, 0]],
                [np.diag([0.01, 0.2]), np.diag([0.05, 0.001]), np.diag([0.05, 0.001]),
                 np.diag([0.03, 0.001]), [[0.04, c], [c, 0.2]], [[0.04, -c], [-c, 0.2]]],
                (-2.5, 2.3), (-2.8, 2.8))
    if task_id == "2v1-galaxy-0.5-3.0":
        # X = (x1, x2) enters only through u = (x1 + x2) / sqrt 2 (the orthogonal direction is
        # N(0, 1) in both balls), and the spiral is a bijection of X.
        centre = [1.5 * math.sqrt(2), 1.5]
        return ([0.5, 0.5], [centre, [-v for v in centre]], [np.eye(2)] * 2, (-10, 10), (-9, 9))
    if task_id == "2v1-waves-12-5.0-3.0":
        # x2 is N(0, 1) in every component, so only (x1, y) carries the MI; the waves are a
        # bijection of X.
        return ([1 / 12] * 12, [[1.5 * i, 1.5 * (i % 4)] for i in range(12)],
                [np.diag([0.1, 0.1])] * 12, (-3, 19.5), (-3, 7.5))
    raise KeyError(task_id)


@pytest.mark.parametrize("task_id", [
    "1v1-X-0.9", "1v1-AI", "2v1-galaxy-0.5-3.0",
    # Slow: the waves' many components make its integral the costliest; the other three
    # check the same route.
    pytest.param("2v1-waves-12-5.0-3.0", marks=pytest.mark.slow),
])
def test_truth_matches_numerical_integration_of_a_bivariate_reduction(task_id):
    weights, means, covariances, x_range, y_range = two_dimensional_reduction(task_id)
    points_x = np.linspace(*x_range, 801)
    points_y = np.linspace(*y_range, 801)
    exact = grid_mutual_information(
        points_x, points_y, normal_mixture_density_2d(points_x, points_y, weights, means, covariances)
    )
    dataset = mibench.get_dataset(task_id)
    assert abs(dataset.mutual_information - exact) < 4 * dataset.mutual_information_stderr + 1e-3


@pytest.mark.parametrize("task_id", [t for t in DIMENSIONS if "concentric" in t])
def test_concentric_truth_matches_a_one_dimensional_integral(task_id):
    # Y ~ N(i, 1e-4) names its component i (neighbours are 100 standard deviations apart), and
    # given i, X ~ N(0, i^2 I) depends on i only through R = |X|^2 = i^2 chi2(d). So
    # I(X; Y) = I(R; i) = sum_i 1/K int p_i(r) log(p_i(r) / p(r)) dr.
    dim, count = (int(v) for v in re.fullmatch(r"(\d+)v1-concentric_gaussians-(\d+)", task_id).groups())
    scales = np.arange(1, count + 1)
    # On log r the chi-square densities are smooth bumps: the trapezoid rule on a fine grid
    # is accurate far beyond the Monte Carlo error.
    log_r = np.linspace(math.log(1e-6), math.log(1e4), 20_001)
    log_densities = np.array([stats.chi2(dim, scale=i**2).logpdf(np.exp(log_r)) for i in scales])
    log_mixture = logsumexp(log_densities, axis=0) - math.log(count)
    integrand = np.exp(log_densities + log_r) * (log_densities - log_mixture)  # dr = r dlog r
    exact = float(integrate.trapezoid(integrand, log_r, axis=1).mean())
    assert abs(integrate.trapezoid(np.exp(log_densities + log_r), log_r, axis=1) - 1).max() < 1e-9
    dataset = mibench.get_dataset(task_id)
    assert abs(dataset.mutual_information - exact) < 4 * dataset.mutual_information_stderr


def inliers_reduction_pointwise_mi(points, fraction):
    """PMI of the 4-d reduction of sparse-with-inliers: (x1, x2, y1, y2) ~ (1 - F) N(0, S) + F N(0, I).

    The other coordinates are N(0, 1) and independent of everything in both components, and
    the X and Y margins are N(0, I) in both, so only these four carry the MI.
    """
    signal = np.eye(4)
    signal[0, 2] = signal[2, 0] = signal[1, 3] = signal[3, 1] = 0.8
    signal_part = stats.multivariate_normal(np.zeros(4), signal).logpdf(points)
    noise_part = stats.multivariate_normal(np.zeros(4), np.eye(4)).logpdf(points)
    joint = np.logaddexp(math.log(1 - fraction) + signal_part, math.log(fraction) + noise_part)
    margins = stats.norm.logpdf(points).sum(axis=1)
    return joint - margins


def inliers_reduction_mi(fraction, n, seed):
    rng = np.random.default_rng(seed)
    signal_count = rng.binomial(n, 1 - fraction)
    signal = np.eye(4)
    signal[0, 2] = signal[2, 0] = signal[1, 3] = signal[3, 1] = 0.8
    points = np.vstack([stats.multivariate_normal(np.zeros(4), signal).rvs(signal_count, random_state=rng),
                        rng.standard_normal((n - signal_count, 4))])
    values = inliers_reduction_pointwise_mi(points, fraction)
    return values.mean(), values.std() / math.sqrt(n)


@pytest.mark.parametrize("fraction", [0.2, 0.5])
def test_sparse_with_inliers_truth_matches_a_monte_carlo_of_the_reduction(fraction):
    reference, reference_error = inliers_reduction_mi(fraction, 200_000, seed=5)
    for dim in (5, 25):
        dataset = mibench.get_dataset(f"mult-sparse-w-inliers-{dim}-{dim}-2-2.0-{fraction}")
        error = math.hypot(reference_error, dataset.mutual_information_stderr)
        assert abs(dataset.mutual_information - reference) < 4 * error


@pytest.mark.slow
@pytest.mark.parametrize("fraction", [0.2, 0.5])
def test_sparse_with_inliers_truth_matches_a_long_monte_carlo(fraction):
    reference, reference_error = inliers_reduction_mi(fraction, 5_000_000, seed=6)
    assert reference_error < 0.001
    for dim in (5, 25):
        dataset = mibench.get_dataset(f"mult-sparse-w-inliers-{dim}-{dim}-2-2.0-{fraction}")
        error = math.hypot(reference_error, dataset.mutual_information_stderr)
        assert abs(dataset.mutual_information - reference) < 4 * error


def test_mixture_rejects_bad_parameters():
    with pytest.raises(ValueError, match="weights"):
        NormalMixture([0.5, 0.6], np.zeros((2, 2)), np.array([np.eye(2)] * 2), dim_x=1)
    with pytest.raises(ValueError, match="covariances of shape"):
        NormalMixture([0.5, 0.5], np.zeros((2, 2)), np.array([np.eye(3)] * 2), dim_x=1)
    with pytest.raises(ValueError, match="dim_x"):
        NormalMixture([1.0], np.zeros((1, 2)), np.array([np.eye(2)]), dim_x=2)


# ---- the samplers, against an independent sampler -----------------------------------------------

def independent_sample(task_id, n, seed):
    """Draw from the task's definition (v2 reference file) with scipy, bijections written out."""
    rng = np.random.default_rng(seed)
    if task_id in ("1v1-X-0.9", "1v1-AI", "2v1-waves-12-5.0-3.0", "2v1-galaxy-0.5-3.0"):
        if task_id == "2v1-galaxy-0.5-3.0":
            weights, means, covariances = [0.5, 0.5], [[1.5] * 3, [-1.5] * 3], [np.eye(3)] * 2
        elif task_id == "2v1-waves-12-5.0-3.0":
            weights = [1 / 12] * 12
            means = [[1.5 * i, 0, 1.5 * (i % 4)] for i in range(12)]
            covariances = [np.diag([0.1, 1, 0.1])] * 12
        else:
            weights, means, covariances, _, _ = two_dimensional_reduction(task_id)
        dim_x = len(means[0]) - 1
    elif match := re.fullmatch(r"(\d+)v1-concentric_gaussians-(\d+)", task_id):
        dim_x, count = int(match[1]), int(match[2])
        weights = [1 / count] * count
        means = [[0] * dim_x + [i] for i in range(1, count + 1)]
        covariances = [np.diag([i**2] * dim_x + [1e-4]) for i in range(1, count + 1)]
    else:
        dim, fraction = (lambda m: (int(m[1]), float(m[2])))(
            re.fullmatch(r"mult-sparse-w-inliers-(\d+)-\d+-2-2.0-([\d.]+)", task_id))
        signal = np.eye(2 * dim)
        signal[0, dim] = signal[dim, 0] = signal[1, dim + 1] = signal[dim + 1, 1] = 0.8
        weights, means = [1 - fraction, fraction], [np.zeros(2 * dim)] * 2
        covariances = [signal, np.eye(2 * dim)]
        dim_x = dim
    counts = rng.multinomial(n, weights)
    points = np.vstack([
        stats.multivariate_normal(m, c).rvs(k, random_state=rng).reshape(k, -1)
        for m, c, k in zip(means, covariances, counts)
    ])
    points = points[rng.permutation(n)]
    x, y = points[:, :dim_x], points[:, dim_x:]
    if task_id == "2v1-galaxy-0.5-3.0":
        angle = 0.5 * np.sum(x**2, axis=1)
        x = np.column_stack([np.cos(angle) * x[:, 0] - np.sin(angle) * x[:, 1],
                             np.sin(angle) * x[:, 0] + np.cos(angle) * x[:, 1]])
    if task_id == "2v1-waves-12-5.0-3.0":
        x = np.column_stack([x[:, 0] + 5 * np.sin(3 * x[:, 1]), x[:, 1]])
        x = np.column_stack([0.1 * x[:, 0] - 0.8, 0.5 * x[:, 1]])
    return x, y


def statistics(x, y, centre):
    """Quantiles of coordinates 0..2 of X and Y and rank correlations, with standard errors.

    ``centre`` = (c_x, c_y) is fixed beforehand: the spread |x0 - c_x| of two samples is then
    compared about the same point (a sample median can jump across a gap between components).
    """
    # No probability is a multiple of 1/K: for concentric Gaussians such a quantile of Y falls in
    # a gap between two components and is not asymptotically normal.
    probabilities = [0.05, 0.25, 0.45, 0.75, 0.95]
    values, errors = [], []
    for side in (x, y):
        for column in side.T[:3]:
            quantiles, quantile_errors = quantiles_and_errors(column, probabilities)
            values += list(quantiles)
            errors += list(quantile_errors)
    spread_x, spread_y = np.abs(x[:, 0] - centre[0]), np.abs(y[:, 0] - centre[1])
    pairs = [(x[:, 0], y[:, 0]), (spread_x, spread_y), (np.abs(x[:, 0]), y[:, 0]),
             (np.linalg.norm(x, axis=1), y[:, 0])]
    if x.shape[1] > 1:
        pairs.append((x[:, 0], x[:, 1]))
    for a, b in pairs:
        rho, rho_error = spearman_and_error(a, b)
        values.append(rho)
        errors.append(rho_error)
    return np.array(values), np.array(errors)


@pytest.mark.parametrize("task_id", list(DIMENSIONS))
def test_sampler_matches_an_independent_sampler(task_id):
    dataset = mibench.get_dataset(task_id)
    reference_x, reference_y = independent_sample(task_id, 20_000, seed=2)
    centre = (reference_x[:, 0].mean(), reference_y[:, 0].mean())
    ours, our_errors = statistics(*dataset.sample(20_000, seed=1, standardize=False), centre)
    theirs, their_errors = statistics(reference_x, reference_y, centre)
    z = np.abs(ours - theirs) / np.hypot(our_errors, their_errors)
    assert z.max() < Z_LIMIT, f"{task_id}: worst statistic {z.argmax()} at {z.max():.1f} standard errors"


def test_samples_are_standardized_per_coordinate_by_default():
    dataset = mibench.get_dataset("2v1-waves-12-5.0-3.0")
    x, y = dataset.sample(1000, seed=0)
    raw_x, _ = dataset.sample(1000, seed=0, standardize=False)
    assert np.allclose(x.mean(axis=0), 0) and np.allclose(x.std(axis=0), 1)
    assert np.allclose(y.std(axis=0), 1) and not np.allclose(raw_x.std(axis=0), 1)


def test_listing_computes_no_truth_and_shows_a_cached_one(monkeypatch, capsys):
    """`mibench list datasets` builds nothing: a v2 truth is shown once a process computed it."""
    from mibench.cli import main
    from mibench.datasets import fine_distributions

    value, _ = fine_distributions._truth("1v1-X-0.9")  # computed (or read) and cached on disk

    def forbidden(*args, **kwargs):
        raise AssertionError("a listing computed a truth")

    monkeypatch.setattr(fine_distributions, "monte_carlo_mutual_information", forbidden)
    assert main(["list", "datasets", "--tag", "beyond-normal-v2", "--format", "json"]) == 0
    import json

    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert len(rows) == 26
    assert rows["1v1-X-0.9"]["mutual_information"] == pytest.approx(value)
