"""The encoder of the approximations experiment: seeding, the three kinds, the noise scale."""

import math

import pytest
import torch

from mibench.core.validation import InputError
from mibench.networks.variational import Encoder


def test_same_seed_same_weights_and_global_state_untouched():
    before = torch.get_rng_state()
    first, second, other = (Encoder(6, 5, 3, 4, kind="gaussian", seed=s) for s in (1, 1, 2))
    for (name, a), (_, b), (_, c) in zip(first.state_dict().items(),
                                         second.state_dict().items(),
                                         other.state_dict().items()):
        assert a.dtype == torch.float64 and torch.equal(a, b) and not torch.equal(a, c), name
    assert torch.equal(before, torch.get_rng_state())


def test_without_a_generator_the_logits_are_those_of_the_representation():
    x = torch.randn(7, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for kind, variance in (("deterministic", 0.0), ("gaussian", 0.0), ("additive", 0.1)):
        model = Encoder(6, 5, 3, 4, kind=kind, noise_variance=variance)
        assert model.representation(x).shape == (7, 3)
        assert torch.equal(model(x), model.head(model.representation(x)))


def test_additive_noise_has_the_stated_variance():
    model = Encoder(6, 5, 3, 4, kind="additive", noise_variance=0.25)
    x = torch.zeros(20_000, 6, dtype=torch.float64)
    with torch.no_grad():
        sampled = model(x, torch.Generator().manual_seed(1)) - model(x)
    # logits differ by W z with z ~ N(0, 0.25 I): variance 0.25 |w_k|^2 per logit
    expected = 0.25 * model.head.weight.square().sum(dim=1)
    assert torch.allclose(sampled.var(dim=0), expected, rtol=0.05)
    with pytest.raises(InputError, match="noise_variance"):
        Encoder(6, 5, 3, 4, kind="additive")
    assert math.isfinite(float(sampled.mean()))
