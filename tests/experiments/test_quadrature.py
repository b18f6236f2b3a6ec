"""The quadrature references against closed-form limits and an independent Riemann sum."""

import math

import numpy as np
import pytest

from mibench.experiments.quadrature import (
    gaussian_noise_entropy,
    noisy_continuous_channel_mi,
    noisy_discrete_channel_mi,
)


def riemann_mi(centres, sigma, points=20_001):
    """h(mixture) - h(Z) on a fine grid by the trapezoid rule (no scipy quadrature)."""
    centres = np.asarray(centres, dtype=float)
    t = np.linspace(centres.min() - 10 * sigma, centres.max() + 10 * sigma, points)
    density = np.exp(-0.5 * ((t[:, None] - centres[None]) / sigma) ** 2).mean(axis=1)
    density /= sigma * math.sqrt(2 * math.pi)
    entropy = -np.trapezoid(density * np.log(np.maximum(density, 1e-300)), t)
    return entropy - gaussian_noise_entropy(sigma)


def test_separated_centres_give_log_m_and_merged_ones_zero():
    assert noisy_discrete_channel_mi([0.0, 10.0, 20.0], 0.1) == pytest.approx(math.log(3), abs=1e-9)
    assert noisy_discrete_channel_mi([0.5, 0.5, 0.5, 0.5], 0.1) == pytest.approx(0.0, abs=1e-9)
    weights = [0.2, 0.8]
    entropy = -sum(p * math.log(p) for p in weights)
    assert noisy_discrete_channel_mi([0.0, 5.0], 0.1, weights) == pytest.approx(entropy, abs=1e-9)


def test_overlapping_mixture_matches_a_riemann_sum():
    centres = np.tanh(0.3 * np.array([-3.0, -1.0, 1.0, 3.0]))
    assert noisy_discrete_channel_mi(centres, 0.1) == pytest.approx(
        riemann_mi(centres, 0.1), abs=1e-6)


# Slow: a fine Riemann sum over x; test_overlapping_mixture_matches_a_riemann_sum and the
# Gaussian-formula test check the same quadrature fast.
@pytest.mark.slow
def test_continuous_channel_matches_a_riemann_sum_over_x():
    # X uniform on [-1, 1]: the mixture over 2,001 evenly spaced inputs approximates p_T.
    x = np.linspace(-1.0, 1.0, 2001)
    expected = riemann_mi(np.tanh(2.0 * x), 0.1, points=4001)
    exact = noisy_continuous_channel_mi(lambda v: np.tanh(2.0 * v), -1.0, 1.0, 0.1)
    assert exact == pytest.approx(expected, abs=2e-3)


def test_linear_channel_with_large_noise_approaches_the_gaussian_formula():
    # X ~ U[-1, 1] and Z with sigma >> 1: T is nearly Gaussian with variance 1/3 + sigma^2.
    sigma = 3.0
    gaussian = 0.5 * math.log(1 + (1 / 3) / sigma**2)
    assert noisy_continuous_channel_mi(lambda v: v, -1.0, 1.0, sigma) == pytest.approx(
        gaussian, rel=2e-2)
