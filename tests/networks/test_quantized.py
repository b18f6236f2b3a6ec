"""Quantized networks (Lorenzen, Igel & Nielsen, ICLR 2022): levels, straight-through
training, and the tracked range."""

import numpy as np
import pytest
import torch

from mibench.networks import szt12
from mibench.networks.quantized import Quantize, QuantizedMLP
from mibench.networks.training import train


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_tanh_quantizer_maps_onto_the_uniform_levels_of_minus_one_to_one(bits):
    quantizer = Quantize(bits, "tanh")
    a = torch.linspace(-1.2, 1.2, 10_001, dtype=torch.float64)
    with torch.no_grad():
        q = quantizer(a).numpy()
    levels = np.linspace(-1.0, 1.0, 2**bits)
    nearest = np.abs(q[:, None] - levels[None]).min(axis=1)
    assert nearest.max() < 1e-12  # every value is a level
    assert len(np.unique(q)) == 2**bits  # and every level is reached
    # Each value is the level nearest to the (clipped) input: rounding, not truncation.
    raw = np.clip(a.numpy(), -1.0, 1.0)
    assert np.abs(q - raw).max() <= (levels[1] - levels[0]) / 2 + 1e-12
    assert np.array_equal(q, levels[np.abs(raw[:, None] - levels[None]).argmin(axis=1)])


def test_straight_through_gradient_is_that_of_the_identity():
    quantizer = Quantize(4, "tanh")
    a = torch.linspace(-0.9, 0.9, 50, dtype=torch.float64, requires_grad=True)
    (quantizer(a) * torch.arange(50, dtype=torch.float64)).sum().backward()
    assert torch.equal(a.grad, torch.arange(50, dtype=torch.float64))
    # Negative control: rounding itself has a zero gradient almost everywhere.
    b = a.detach().clone().requires_grad_(True)
    torch.round(b * 7.5).sum().backward()
    assert torch.count_nonzero(b.grad) == 0


def test_relu_range_is_tracked_in_training_only_and_kept_in_the_snapshot():
    network = train(szt12(), widths=(10, 7), activation="relu", epochs=2, batch_size=512,
                    learning_rate=0.02, bits=4, checkpoints=(0, 2))
    model = network.model(2)
    quantizer = model.hidden[0].activation[1]
    assert float(quantizer.low) == 0.0 and float(quantizer.high) > 0.0
    assert float(quantizer.high) != 1.0  # moved from its initial value by training
    before = float(quantizer.high)
    network.activations(szt12().x, 2)  # evaluation must not move the range
    assert float(network.model(2).hidden[0].activation[1].high) == before
    assert float(network.model(0).hidden[0].activation[1].high) == 1.0


def test_quantized_layers_take_few_values_and_training_learns():
    network = train(szt12(), widths=(10, 7, 5, 4, 3), activation="tanh", epochs=3,
                    batch_size=512, learning_rate=0.02, bits=4, checkpoints=(0, 3))
    assert network.history["loss"][-1] < network.history["loss"][0]
    layers = network.activations(szt12().x, 3).clean
    for layer in layers:
        assert all(len(np.unique(column)) <= 16 for column in layer.T)
    assert isinstance(network.model(3), QuantizedMLP) and network.model(3).bits == 4
    # Negative control: the float network of the same seed has far more values per unit.
    float_network = train(szt12(), widths=(10, 7, 5, 4, 3), activation="tanh", epochs=3,
                          batch_size=512, learning_rate=0.02, checkpoints=(3,))
    float_layer = float_network.activations(szt12().x, 3).clean[2]
    assert max(len(np.unique(column)) for column in float_layer.T) > 16


def test_quantized_network_has_no_noise():
    with pytest.raises(ValueError, match="no noise"):
        QuantizedMLP(12, (4,), 2, bits=4, sigma=0.1)
    with pytest.raises(ValueError, match="bits"):
        Quantize(1, "tanh")
