"""The MI staircase datasets: exact MI per step, the cubic transform, shapes, seeds, tags."""

import math

import numpy as np
import pytest

import mibench
from mibench.core.closed_form import gaussian_mutual_information
from mibench.datasets import DEFAULT_SUITE_TAG, dataset_tags
from mibench.datasets.staircase import (
    STAIRCASE_DIM,
    STAIRCASE_KINDS,
    STAIRCASE_LEVELS,
    make_staircase,
    staircase_correlation,
    staircase_name,
)

NAMES = [staircase_name(kind, level) for kind in STAIRCASE_KINDS for level in STAIRCASE_LEVELS]


def test_names_and_tags():
    assert NAMES[0] == "staircase-gaussian-20-2" and NAMES[-1] == "staircase-cubic-20-10"
    assert mibench.list_datasets("staircase") == NAMES
    assert mibench.list_datasets("neural-benchmark") == NAMES
    for name in NAMES:
        tags = dataset_tags(name)
        assert {"staircase", "neural-benchmark"} <= tags
        assert DEFAULT_SUITE_TAG not in tags and "beyond-normal" not in tags
    assert not set(NAMES) & set(mibench.list_datasets(DEFAULT_SUITE_TAG))


@pytest.mark.parametrize("level", STAIRCASE_LEVELS)
def test_each_step_has_the_mi_of_its_joint_covariance(level):
    # Independent check: the Gaussian MI of the full 40 x 40 covariance [[I, rho I], [rho I, I]].
    rho = staircase_correlation(level)
    eye = np.eye(STAIRCASE_DIM)
    covariance = np.block([[eye, rho * eye], [rho * eye, eye]])
    assert gaussian_mutual_information(covariance, STAIRCASE_DIM) == pytest.approx(level, abs=1e-9)
    # ... and the per-pair formula, summed.
    assert STAIRCASE_DIM * -0.5 * math.log(1 - rho**2) == pytest.approx(level, abs=1e-12)
    for kind in STAIRCASE_KINDS:
        assert mibench.get_dataset(staircase_name(kind, level)).mutual_information == level


def test_samples_have_the_stated_correlation_and_shapes():
    dataset = mibench.get_dataset("staircase-gaussian-20-6")
    x, y = dataset.sample(20_000, seed=0)
    assert x.shape == y.shape == (20_000, 20) and x.dtype == y.dtype == np.float64
    rho = staircase_correlation(6)
    within_pairs = [np.corrcoef(x[:, i], y[:, i])[0, 1] for i in range(20)]
    np.testing.assert_allclose(within_pairs, rho, atol=0.02)
    across_pairs = np.corrcoef(x[:, 0], y[:, 1])[0, 1]
    assert abs(across_pairs) < 0.03
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=0.03)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=0.03)


@pytest.mark.parametrize("level", [2, 10])
def test_cubic_is_the_gaussian_step_with_y_cubed(level):
    gaussian = mibench.get_dataset(staircase_name("gaussian", level))
    cubic = mibench.get_dataset(staircase_name("cubic", level))
    x_g, y_g = gaussian.sample(500, seed=7)
    x_c, y_c = cubic.sample(500, seed=7)
    np.testing.assert_array_equal(x_c, x_g)
    np.testing.assert_allclose(np.cbrt(y_c), y_g, rtol=1e-12, atol=1e-12)
    assert cubic.mutual_information == gaussian.mutual_information


def test_seeds_reproduce_and_differ():
    dataset = mibench.get_dataset("staircase-cubic-20-4")
    first = dataset.sample(100, seed=1)
    again = dataset.sample(100, seed=1)
    other = dataset.sample(100, seed=2)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_make_staircase_validates_and_builds_other_steps():
    assert make_staircase("gaussian", 3.5, dim=5).dim_x == 5
    assert make_staircase("gaussian", 3.5, dim=5).name == "staircase-gaussian-5-3.5"
    with pytest.raises(ValueError, match="kind must be one of gaussian, cubic"):
        make_staircase("quartic", 2)
    with pytest.raises(ValueError, match="finite MI > 0"):
        staircase_correlation(0.0)
