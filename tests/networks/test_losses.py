"""The remedies' losses against independent computations: a direct sum over the joint law,
torch's closed-form KL of two Gaussians, and the numpy kde-pairwise estimator."""

import math

import numpy as np
import pytest
import torch

from mibench.core.validation import InputError
from mibench.estimators import get_estimator
from mibench.estimators.kde_pairwise import pairwise_mixture_entropy_bounds
from mibench.networks.losses import (
    decision_rule_loss,
    decision_rule_terms,
    gaussian_kl_to_standard_normal,
    pairwise_kl_information_bound,
    pairwise_mixture_entropy_bounds_torch,
)


def _direct_information(joint: np.ndarray) -> float:
    """I(A; B) = sum p(a, b) log p(a, b) / (p(a) p(b)) of a 2-d joint table."""
    a, b = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    mask = joint > 0
    return float((joint[mask] * np.log(joint[mask] / (a @ b)[mask])).sum())


@pytest.fixture
def small_example():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(7, 3)) * 2.0
    labels = np.array([0, 1, 1, 0, 2, 1, 0])
    return logits, labels


def test_decision_terms_equal_a_direct_computation_on_the_joint_law(small_example):
    logits, labels = small_example
    q = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    m = len(labels)
    joint_x = q / m  # p(x, y_hat), x uniform over the 7 rows
    joint_y = np.zeros((3, 3))
    for row, label in enumerate(labels):
        joint_y[label] += q[row] / m
    terms = decision_rule_terms(torch.tensor(logits), torch.tensor(labels), 3)
    assert float(terms.input_information) == pytest.approx(_direct_information(joint_x), abs=1e-12)
    assert float(terms.label_information) == pytest.approx(_direct_information(joint_y), abs=1e-12)
    for beta in (0.5, 2.0):
        direct = _direct_information(joint_x) - beta * _direct_information(joint_y)
        loss = decision_rule_loss(torch.tensor(logits), torch.tensor(labels), 3, beta)
        assert float(loss) == pytest.approx(direct, abs=1e-12)
        # the decomposition (1 - beta) H(Y_hat) - H(Y_hat | X) + beta H(Y_hat | Y)
        decomposition = ((1 - beta) * terms.entropy_decision
                         - terms.conditional_entropy_given_input
                         + beta * terms.conditional_entropy_given_label)
        assert float(decomposition) == pytest.approx(direct, abs=1e-12)


def test_decision_loss_trivial_beats_perfect_below_beta_one_and_loses_above():
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    perfect = 40.0 * (2.0 * torch.nn.functional.one_hot(labels, 2).double() - 1.0)
    trivial = torch.zeros(6, 2, dtype=torch.float64)
    h_y = math.log(2)
    for beta in (0.5, 0.9):
        assert float(decision_rule_loss(trivial, labels, 2, beta)) == pytest.approx(0.0, abs=1e-12)
        assert float(decision_rule_loss(perfect, labels, 2, beta)) == pytest.approx(
            (1 - beta) * h_y, abs=1e-9)
    for beta in (1.1, 10.0):
        assert float(decision_rule_loss(perfect, labels, 2, beta)) == pytest.approx(
            (1 - beta) * h_y, abs=1e-9)
        assert float(decision_rule_loss(perfect, labels, 2, beta)) < 0.0


def test_decision_terms_are_differentiable(small_example):
    logits, labels = small_example
    logits = torch.tensor(logits, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z: decision_rule_loss(z, torch.tensor(labels), 3, 1.5), (logits,))


def test_decision_terms_reject_bad_shapes_and_labels():
    with pytest.raises(InputError, match="labels"):
        decision_rule_terms(torch.zeros(3, 2), torch.tensor([0, 1, 2]), 2)
    with pytest.raises(InputError, match="shape|must be"):
        decision_rule_terms(torch.zeros(3, 2), torch.tensor([0, 1]), 2)


def test_vib_rate_equals_the_closed_form_kl_of_two_gaussians():
    rng = np.random.default_rng(0)
    mean = torch.tensor(rng.normal(size=(5, 4)))
    log_variance = torch.tensor(rng.normal(size=(5, 4)))
    encoder = torch.distributions.Independent(
        torch.distributions.Normal(mean, (0.5 * log_variance).exp()), 1)
    prior = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(5, 4, dtype=torch.float64),
                                   torch.ones(5, 4, dtype=torch.float64)), 1)
    expected = torch.distributions.kl_divergence(encoder, prior)
    assert torch.allclose(gaussian_kl_to_standard_normal(mean, log_variance), expected,
                          rtol=0, atol=1e-12)
    # the standard normal itself: KL 0
    assert float(gaussian_kl_to_standard_normal(torch.zeros(1, 3), torch.zeros(1, 3))) == 0.0
    with pytest.raises(InputError, match="same shape"):
        gaussian_kl_to_standard_normal(torch.zeros(2, 3), torch.zeros(2, 2))


@pytest.mark.parametrize("variance", [0.01, 0.1, 1.0])
def test_kt_bounds_equal_the_numpy_kde_pairwise_on_the_same_points(variance):
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(60, 3)) * 0.5
    lower, upper = pairwise_mixture_entropy_bounds(centres, variance)
    torch_lower, torch_upper = pairwise_mixture_entropy_bounds_torch(torch.tensor(centres), variance)
    assert float(torch_lower) == pytest.approx(lower, abs=1e-10)
    assert float(torch_upper) == pytest.approx(upper, abs=1e-10)
    estimate = get_estimator("kde-pairwise", noise_variance=variance).estimate(
        np.arange(60.0)[:, None], centres)
    bound = pairwise_kl_information_bound(torch.tensor(centres), variance)
    assert float(bound) == pytest.approx(float(estimate), abs=1e-10)
    assert 0.0 <= float(bound) <= math.log(60) + 1e-12


def test_kt_bound_limits_and_gradient():
    # all centres equal: 0; far apart: log n
    same = torch.zeros(8, 2, dtype=torch.float64)
    far = 100.0 * torch.eye(8, dtype=torch.float64)
    assert float(pairwise_kl_information_bound(same, 0.1)) == pytest.approx(0.0, abs=1e-12)
    assert float(pairwise_kl_information_bound(far, 0.1)) == pytest.approx(math.log(8), abs=1e-12)
    centres = torch.tensor(np.random.default_rng(2).normal(size=(6, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda c: pairwise_kl_information_bound(c, 0.3), (centres,))
    with pytest.raises(InputError, match="variance"):
        pairwise_kl_information_bound(same, 0.0)
