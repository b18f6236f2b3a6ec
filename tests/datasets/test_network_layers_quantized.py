"""Quantized network layers: names, tags, and the exact H(T_l) against a plain numpy count."""

import math

import numpy as np
import pytest

import mibench
from mibench.datasets import dataset_tags
from mibench.datasets.network_layers import (
    LAYERS_V2_TAG,
    QUANTIZED_BITS,
    V2_EPOCHS,
    LayerSpec,
    layer_entropies,
    quantized_layer_entropies,
    trained_network,
)
from mibench.networks import szt12
from mibench.networks.training import train


def _plain_numpy_entropies(activation: str, bits: int, epoch: int, quantize: bool = True,
                           network=None):
    """H(T_l) of every layer: a numpy forward pass from the weights, np.unique on the rows."""
    network = network or trained_network("szt12", activation, 0.0, bits)
    state = network.snapshots[epoch]
    t = szt12().x
    entropies = []
    for i in range(len(network.config["widths"])):
        w = state[f"hidden.{i}.linear.weight"].numpy()
        b = state[f"hidden.{i}.linear.bias"].numpy()
        a = t @ w.T + b
        a = np.tanh(a) if activation == "tanh" else np.maximum(a, 0.0)
        if quantize:
            low = float(state[f"hidden.{i}.activation.1.low"])
            high = float(state[f"hidden.{i}.activation.1.high"])
            step = (high - low) / (2**bits - 1)
            a = np.round((np.clip(a, low, high) - low) / step) * step + low
        _, counts = np.unique(a, axis=0, return_counts=True)
        p = counts / counts.sum()
        entropies.append(float(-(p * np.log(p)).sum()))
        t = a
    return entropies


def test_quantized_layers_are_registered_with_their_bit_width():
    names = [n for n in mibench.list_datasets(LAYERS_V2_TAG) if "-q" in n]
    assert len(names) == 2 * len(QUANTIZED_BITS) * len(V2_EPOCHS) * 5
    for name in names:
        spec = LayerSpec.parse(name)
        assert spec.name == name and spec.bits in QUANTIZED_BITS and spec.sigma == 0
        tags = dataset_tags(name)
        assert {"deterministic", "quantized", f"q{spec.bits}"} <= tags and "network" not in tags
    spec = LayerSpec.parse("net-szt12-tanh-q8-L2-e40")
    assert (spec.activation, spec.bits, spec.layer, spec.epoch) == ("tanh", 8, 2, 40)
    with pytest.raises(ValueError, match="not both"):
        LayerSpec("szt12", "tanh", 0.1, 1, 40, bits=8)


@pytest.fixture(scope="module")
def small_quantized_network():
    return train(szt12(), widths=(10, 7, 5, 4, 3), activation="tanh", epochs=2, batch_size=512,
                 learning_rate=0.05, bits=4, checkpoints=(0, 2))


def test_layer_entropies_of_a_quantized_network_equal_the_plain_numpy_count(
        small_quantized_network):
    entropies = layer_entropies(small_quantized_network, (0, 2))
    for epoch in (0, 2):
        plain = _plain_numpy_entropies("tanh", 4, epoch, network=small_quantized_network)
        assert entropies[epoch] == pytest.approx(plain, abs=1e-12)
    assert entropies[2][4] < math.log(4096) - 0.5  # the last layer merges inputs
    # Negative control: without the quantizer the same count gives log 4096 there.
    unquantized = _plain_numpy_entropies("tanh", 4, 2, quantize=False,
                                         network=small_quantized_network)
    assert unquantized[4] == pytest.approx(math.log(4096))
    with pytest.raises(ValueError, match="not functions of the input"):
        layer_entropies(train(szt12(), widths=(3,), sigma=0.1, epochs=0), 0)


@pytest.mark.slow
def test_quantized_truth_equals_the_plain_numpy_distinct_row_count():
    entropies = quantized_layer_entropies("tanh", 4, V2_EPOCHS)
    for epoch in V2_EPOCHS:
        plain = _plain_numpy_entropies("tanh", 4, epoch)
        assert entropies[epoch] == pytest.approx(plain, abs=1e-12)
    dataset = mibench.get_dataset("net-szt12-tanh-q4-L4-e40")
    assert dataset.mutual_information == entropies[40][3]
    assert dataset.mutual_information_stderr == 0.0
    # The truths change with the layer and the epoch, below log 4096 (unlike float layers).
    assert entropies[40][4] < entropies[40][0] - 1.0 and entropies[40][2] != entropies[0][2]
    assert max(max(v) for v in entropies.values()) <= math.log(4096) + 1e-12
    # Negative control: without the quantizer the same count gives log 4096, not the truth.
    unquantized = _plain_numpy_entropies("tanh", 4, 40, quantize=False)
    assert abs(unquantized[3] - entropies[40][3]) > 1.0


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("bits", QUANTIZED_BITS)
def test_every_quantized_truth_equals_the_plain_numpy_count(activation, bits):
    entropies = quantized_layer_entropies(activation, bits, V2_EPOCHS)
    for epoch in V2_EPOCHS:
        assert entropies[epoch] == pytest.approx(
            _plain_numpy_entropies(activation, bits, epoch), abs=1e-12)
        for layer in range(1, 6):
            name = f"net-szt12-{activation}-q{bits}-L{layer}-e{epoch}"
            assert mibench.get_dataset(name).mutual_information == entropies[epoch][layer - 1]


def test_network_layers_v2_suite_holds_the_new_layers_scored_as_layers():
    from mibench.datasets.suites import get_suite, suite_of

    suite = get_suite("network-layers-v2")
    assert suite.scoring == get_suite("network-layers-v1").scoring == "layers"
    members = suite.datasets()
    assert set(members) == set(mibench.list_datasets(LAYERS_V2_TAG))
    assert not set(members) & set(get_suite("network-layers-v1").datasets())
    assert suite_of("net-szt12-tanh-noisy0.1-L2-e40") == "network-layers-v2"
    assert suite_of("net-szt12-tanh-noisy0.1-L1-e40") == "network-layers-v1"
