"""The inputs: the szt12 rule (balance, invariance), digits, and the continuous mixture."""

import math

import numpy as np
import pytest

from mibench.networks import digits, gaussian_mixture, szt12, szt12_rule
from mibench.networks.inputs import gaussian_mixture_log_posterior, icosahedron_vertices


def test_szt12_is_every_sign_pattern_once_with_a_balanced_label():
    inputs = szt12()
    assert inputs.x.shape == (4096, 12) and inputs.finite and inputs.n_classes == 2
    assert set(np.unique(inputs.x)) == {-1.0, 1.0}
    assert np.unique(inputs.x, axis=0).shape[0] == 4096
    assert inputs.labels.mean() == pytest.approx(0.5, abs=0.01)
    assert inputs.labels.sum() == 2036


def test_szt12_rule_is_invariant_under_symmetries_of_the_icosahedron_and_sign_flip():
    vertices = icosahedron_vertices()
    patterns = szt12().x
    labels = szt12_rule(patterns)
    # The cyclic permutation of the coordinates is a rotation that maps the icosahedron onto
    # itself: it permutes the 12 positions.
    rotated = vertices[:, [1, 2, 0]]
    permutation = np.argmin(np.abs(rotated[:, None, :] - vertices[None, :, :]).sum(axis=2), axis=1)
    assert sorted(permutation) == list(range(12))
    moved = np.empty_like(patterns)
    moved[:, permutation] = patterns
    assert np.array_equal(szt12_rule(moved), labels)
    assert np.array_equal(szt12_rule(-patterns), labels)
    # ... and it is not a function of the number of +1s alone (it depends on the geometry).
    counts = (patterns > 0).sum(axis=1)
    assert any(len(set(labels[counts == c])) > 1 for c in range(13))


def test_digits_are_scaled_to_the_unit_interval():
    inputs = digits()
    assert inputs.x.shape == (1797, 64) and inputs.n_classes == 10 and inputs.finite
    assert inputs.x.min() == 0.0 and inputs.x.max() == 1.0


def test_finite_inputs_are_sampled_uniformly_from_the_set():
    x, labels = szt12().sample(20_000, np.random.default_rng(0))
    codes = ((x > 0) * (2 ** np.arange(12))).sum(axis=1)
    assert np.array_equal(labels, szt12().labels[codes])
    counts = np.bincount(codes, minlength=4096)
    assert counts.mean() == pytest.approx(20_000 / 4096)
    assert counts.std() == pytest.approx(math.sqrt(20_000 / 4096), rel=0.1)  # multinomial


def test_continuous_input_has_its_stated_mixture_law():
    inputs = gaussian_mixture()
    assert not inputs.finite and inputs.x.shape == (2048, 3)
    x, labels = inputs.sample(40_000, np.random.default_rng(1))
    assert np.bincount(labels) / labels.size == pytest.approx([0.25] * 4, abs=0.01)
    means = np.array([x[labels == k].mean(axis=0) for k in range(4)])
    assert np.linalg.norm(means, axis=1) == pytest.approx([1.5] * 4, abs=0.02)
    assert x[labels == 0].std(axis=0) == pytest.approx([0.6] * 3, abs=0.01)
    posterior = np.exp(gaussian_mixture_log_posterior(x))
    assert posterior.sum(axis=1) == pytest.approx(1.0)
    assert (posterior.argmax(axis=1) == labels).mean() > 0.9


def test_the_listed_dimensions_are_those_of_the_inputs():
    from mibench.networks.inputs import INPUT_DIMENSIONS, INPUTS, get_inputs

    assert set(INPUT_DIMENSIONS) == set(INPUTS)
    for name, dim in INPUT_DIMENSIONS.items():
        assert get_inputs(name).dim == dim
