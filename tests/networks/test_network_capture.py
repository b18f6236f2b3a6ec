"""capture(): named layers of any torch module, as float64 arrays ready for estimation."""

import numpy as np
import pytest
import torch
from torch import nn

import mibench
from mibench.networks import MLP, capture, szt12


def test_capture_matches_a_manual_forward_pass_of_an_mlp():
    model = MLP(12, (10, 7, 5), 2, activation="tanh", seed=3)
    x = szt12().x[:300]
    names = ["hidden.0.activation", "hidden.1", "hidden.2.linear", "output"]
    captured = capture(model, x, names)
    assert list(captured) == names
    with torch.no_grad():
        clean, _ = model.layers(torch.tensor(x))
        pre_activation = model.hidden[2].linear(clean[1])
        logits = model(torch.tensor(x))
    expected = [clean[0], clean[1], pre_activation, logits]
    for name, tensor in zip(names, expected):
        assert captured[name].dtype == np.float64
        assert captured[name].shape == (300, tensor.shape[1])
        np.testing.assert_array_equal(captured[name], tensor.numpy())
    assert all(not module._forward_hooks for module in model.modules())  # hooks removed


def test_capture_any_module_flattens_and_batches():
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(1, 2, kernel_size=3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6, 3)
    )
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    x = torch.randn(50, 1, 8, generator=generator)
    whole = capture(model, x, ["1", "3"])
    batched = capture(model, x.numpy(), ["1", "3"], batch_size=7)
    assert whole["1"].shape == (50, 12) and whole["3"].shape == (50, 3)
    np.testing.assert_allclose(batched["1"], whole["1"], rtol=1e-6)
    np.testing.assert_allclose(whole["3"], model(x).detach().numpy().astype(np.float64), rtol=1e-6)
    # Ready for estimation as it is.
    assert np.isfinite(mibench.estimate(x.numpy()[:, 0, 0], whole["3"], "ksg"))


def test_unknown_layer_names_list_the_valid_ones():
    model = MLP(4, (3,), 2)
    with pytest.raises(ValueError, match=r"unknown layer 'hidden\.5'.*hidden\.0\.activation.*output"):
        capture(model, np.zeros((2, 4)), ["hidden.5"])
    with pytest.raises(ValueError, match="layers is empty"):
        capture(model, np.zeros((2, 4)), [])
    single = capture(model, np.zeros((2, 4)), "output")
    assert single["output"].shape == (2, 2)
