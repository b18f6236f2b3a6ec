"""Training: accuracy on szt12 in a CI-sized run, snapshots, and end-to-end seeding."""

import math

import numpy as np
import pytest
import torch

from mibench.datasets.network_layers import RECIPES
from mibench.networks import log_spaced_epochs, szt12, train


@pytest.fixture(scope="module")
def szt12_run():
    recipe = RECIPES["szt12"]
    return train(
        szt12(),
        widths=recipe.widths,
        activation="tanh",
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        seed=recipe.seed,
    )


def test_ci_sized_training_reaches_95_percent_on_szt12(szt12_run):
    assert szt12_run.epochs == (0, 1, 2, 4, 9, 19, 40)
    assert szt12_run.accuracy() >= 0.95
    assert szt12_run.accuracy(0) < 0.6  # it learned: chance is 0.5
    assert szt12_run.history["loss"][-1] < 0.5 * szt12_run.history["loss"][0]
    assert len(szt12_run.history["accuracy"]) == 40


def test_snapshots_are_the_weights_of_their_epoch(szt12_run):
    first = szt12_run.model(0).state_dict()
    last = szt12_run.model().state_dict()
    assert all(torch.equal(first[k], v) for k, v in szt12_run.snapshots[0].items())
    assert not torch.equal(first["hidden.0.linear.weight"], last["hidden.0.linear.weight"])
    with pytest.raises(ValueError, match="epoch 3 was not recorded"):
        szt12_run.model(3)


def test_same_seed_gives_identical_weights_and_activations_and_leaves_global_state():
    before = torch.get_rng_state()
    runs = [
        train(szt12(), widths=(6, 4), sigma=0.1, epochs=3, batch_size=1024, checkpoints=(0, 3), seed=s)
        for s in (1, 1, 2)
    ]
    assert torch.equal(before, torch.get_rng_state())
    for key, value in runs[0].snapshots[3].items():
        assert torch.equal(value, runs[1].snapshots[3][key])
    assert not torch.equal(runs[0].snapshots[3]["output.weight"], runs[2].snapshots[3]["output.weight"])
    x = szt12().x[:100]
    a, b = runs[0].activations(x, seed=7), runs[1].activations(x, seed=7)
    assert all(np.array_equal(p, q) for p, q in zip(a.noisy + a.clean, b.noisy + b.clean))
    assert a.noisy[0].dtype == np.float64 and a.noisy[1].shape == (100, 4)
    by_epoch = runs[0].activations_by_epoch(x, seed=7)
    assert list(by_epoch) == [0, 3] and np.array_equal(by_epoch[3].noisy[1], a.noisy[1])
    c = runs[0].activations(x, seed=8)
    assert np.array_equal(a.clean[0], c.clean[0]) and not np.array_equal(a.noisy[0], c.noisy[0])


@pytest.mark.parametrize(("epochs", "count"), [(300, 7), (40, 7), (1000, 12), (5, 10)])
def test_log_spaced_epochs(epochs, count):
    chosen = log_spaced_epochs(epochs, count)
    # From the initialisation to the last epoch, increasing, at most ``count`` of them.
    assert chosen[0] == 0 and chosen[1] == 1 and chosen[-1] == epochs
    assert all(a < b for a, b in zip(chosen, chosen[1:])) and len(chosen) <= count
    # Log-spaced: every epoch after 1 is within rounding of a geometric step from 1 to epochs.
    step = epochs ** (1 / (count - 2))
    for epoch in chosen[2:]:
        exponent = math.log(epoch) / math.log(step)
        assert abs(step ** round(exponent) - epoch) <= 0.5 + 1e-9 or epoch == epochs


def test_log_spaced_epochs_without_training():
    assert log_spaced_epochs(0, 5) == (0,)
