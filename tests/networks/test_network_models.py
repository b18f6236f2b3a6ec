"""The MLP: noise model, seeding without global state, and H(L) of deterministic layers."""

import math
from collections import Counter

import numpy as np
import pytest
import torch

from mibench.datasets.network_layers import rows_entropy
from mibench.networks import MLP, szt12


def test_same_seed_same_weights_different_seed_different_weights_global_state_untouched():
    before = torch.get_rng_state()
    first, second, other = (MLP(12, (10, 7), 2, seed=s) for s in (5, 5, 6))
    for (name, a), (_, b), (_, c) in zip(
        first.state_dict().items(), second.state_dict().items(), other.state_dict().items()
    ):
        assert a.dtype == torch.float64
        assert torch.equal(a, b), name
        assert not torch.equal(a, c), name
    assert torch.equal(before, torch.get_rng_state())


def test_noisy_layers_add_gaussian_noise_of_the_stated_scale_to_the_clean_activation():
    model = MLP(12, (10, 7), 2, activation="sigmoid", sigma=0.2, seed=0)
    x = torch.tensor(szt12().x)
    with torch.no_grad():
        clean, noisy = model.layers(x, torch.Generator().manual_seed(0))
    for s, t in zip(clean, noisy):
        noise = (t - s).numpy()
        assert noise.std() == pytest.approx(0.2, rel=0.03)
        assert abs(noise.mean()) < 0.01
    # Layer 2 sees the noisy layer 1: its clean activation is not that of the clean path.
    deterministic = MLP(12, (10, 7), 2, activation="sigmoid", sigma=0.0, seed=0)
    with torch.no_grad():
        clean_path, same = deterministic.layers(x)
    assert torch.equal(clean[0], clean_path[0]) and not torch.allclose(clean[1], clean_path[1])
    assert all(a is b for a, b in zip(clean_path, same))
    # The same generator seed gives the same noise.
    with torch.no_grad():
        again = model.layers(x, torch.Generator().manual_seed(0))[1]
    assert all(torch.equal(a, b) for a, b in zip(noisy, again))


def test_bad_arguments_are_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="activation must be one of 'tanh'"):
        MLP(3, (4,), 2, activation="gelu")
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        MLP(3, (4,), 2, sigma=-1.0)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        MLP(3, (), 2)


def test_discrete_input_entropy_is_log_4096_for_tanh_and_lower_when_relu_merges_inputs():
    x = torch.tensor(szt12().x)
    with torch.no_grad():
        tanh_layers, _ = MLP(12, (10, 7, 5, 4, 3), 2, activation="tanh", seed=0).layers(x)
        relu_layers, _ = MLP(12, (10, 7, 5, 4, 3), 2, activation="relu", seed=0).layers(x)
    for layer in tanh_layers:
        # A tanh layer of a random network is injective on the 4,096 patterns.
        assert rows_entropy(layer.numpy()) == pytest.approx(math.log(4096), abs=1e-12)
    entropies = [rows_entropy(layer.numpy()) for layer in relu_layers]
    # Inputs that switch off the same units merge, and merged inputs stay merged (H never rises).
    assert entropies[-1] < math.log(4096) - 0.001
    assert all(later <= earlier + 1e-12 for earlier, later in zip(entropies, entropies[1:]))
    # Independent count: H from the multiplicities of the distinct rows, via Python tuples.
    rows = Counter(tuple(row) for row in relu_layers[-1].numpy().tolist())
    counts = np.array(list(rows.values()), dtype=float) / 4096
    assert entropies[-1] == pytest.approx(float(-(counts * np.log(counts)).sum()), abs=1e-12)
