"""Training an MLP with Adam on cross-entropy, keeping snapshots at chosen epochs.

A run is seeded end to end: one integer seeds the initial weights, the order of the
mini-batches and the training noise, each from its own ``torch.Generator``; the same seed gives
bit-identical weights and activations, and the global random state is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from mibench.core.threads import torch_threads
from mibench.core.validation import InputError, check_integer, check_positive
from mibench.networks.inputs import Inputs
from mibench.networks.models import MLP, derive_seed

__all__ = ["LayerActivations", "TrainedNetwork", "log_spaced_epochs", "train"]


def log_spaced_epochs(epochs: int, count: int) -> tuple[int, ...]:
    """About ``count`` distinct epochs from 0 (the initialisation) to ``epochs``, log-spaced.

    >>> log_spaced_epochs(300, 7)
    (0, 1, 3, 10, 31, 96, 300)
    """
    epochs = check_integer(epochs, "epochs", minimum=0)
    count = check_integer(count, "count", minimum=2)
    if epochs == 0:
        return (0,)
    points = np.unique(np.round(np.geomspace(1, epochs, count - 1)).astype(int))
    return (0, *map(int, points))


@dataclass(frozen=True)
class LayerActivations:
    """The hidden layers of a network on a batch of inputs, as float64 arrays.

    Attributes
    ----------
    clean : list of ndarray, each of shape (n, width_l)
        S_l, the activations before the noise.
    noisy : list of ndarray, each of shape (n, width_l)
        T_l = S_l + Z_l; the same arrays as ``clean`` for a deterministic network.
    """

    clean: list[np.ndarray]
    noisy: list[np.ndarray]


@dataclass
class TrainedNetwork:
    """A training run: the model's configuration, its snapshots and its learning curve.

    Attributes
    ----------
    config : dict
        The :class:`MLP` arguments and the training settings.
    snapshots : dict of int to state dict
        The weights at each recorded epoch (0 is the initialisation).
    history : dict of str to list of float
        ``loss`` (mean cross-entropy, nats) and ``accuracy`` (fraction correct) over the
        mini-batches of every epoch, with the training noise, in order of the epochs 1, 2, ...
    inputs : Inputs
        What the network was trained on.

    Notes
    -----
    Activations are not stored: :meth:`activations` recomputes S_l and T_l of any snapshot for
    any inputs with one forward pass, bit-identically for the same noise seed, which records
    them at every snapshot epoch without holding n x width arrays per epoch and layer.
    """

    config: dict
    snapshots: dict[int, dict[str, torch.Tensor]]
    history: dict[str, list[float]] = field(repr=False)
    inputs: Inputs = field(repr=False)

    @property
    def epochs(self) -> tuple[int, ...]:
        """The recorded epochs, in increasing order."""
        return tuple(sorted(self.snapshots))

    def model(self, epoch: int | None = None) -> MLP:
        """A fresh MLP holding the weights of ``epoch`` (default: the last recorded one)."""
        epoch = self.epochs[-1] if epoch is None else epoch
        if epoch not in self.snapshots:
            raise InputError(f"epoch {epoch} was not recorded; recorded epochs: {self.epochs}")
        model_args = {k: self.config[k] for k in ("widths", "activation", "sigma", "seed")}
        if self.config.get("bits"):
            from mibench.networks.quantized import QuantizedMLP

            model_args["bits"] = self.config["bits"]
            model = QuantizedMLP(self.config["dim_in"], n_classes=self.config["n_classes"], **model_args)
        else:
            model = MLP(self.config["dim_in"], n_classes=self.config["n_classes"], **model_args)
        model.load_state_dict(self.snapshots[epoch])
        return model

    def activations(self, x, epoch: int | None = None, *, seed: int = 0) -> LayerActivations:
        """S_l and T_l of every hidden layer at ``epoch`` for inputs ``x`` of shape (n, dim_in).

        The noise of a noisy network is drawn from a generator seeded by ``seed``, so the
        same seed gives the same T_l.
        """
        model = self.model(epoch)
        generator = torch.Generator().manual_seed(derive_seed(seed, 2))
        with torch.no_grad(), torch_threads(1):
            clean, noisy = model.layers(torch.tensor(np.asarray(x), dtype=torch.float64), generator)
        return LayerActivations([s.numpy() for s in clean], [t.numpy() for t in noisy])

    def activations_by_epoch(self, x, *, seed: int = 0) -> dict[int, LayerActivations]:
        """S_l and T_l at every recorded epoch for inputs ``x`` (same noise seed at each)."""
        return {epoch: self.activations(x, epoch, seed=seed) for epoch in self.epochs}

    def accuracy(self, epoch: int | None = None, *, seed: int = 0) -> float:
        """Fraction of the training inputs classified correctly at ``epoch`` (noise from ``seed``)."""
        model = self.model(epoch)
        generator = torch.Generator().manual_seed(derive_seed(seed, 3))
        with torch.no_grad(), torch_threads(1):
            logits = model(torch.tensor(self.inputs.x), generator)
        return float((logits.argmax(dim=1).numpy() == self.inputs.labels).mean())


def train(
    inputs: Inputs,
    *,
    widths: Sequence[int],
    activation: str = "tanh",
    sigma: float = 0.0,
    epochs: int = 100,
    batch_size: int = 256,
    learning_rate: float = 0.01,
    checkpoints: Sequence[int] | None = None,
    seed: int = 0,
    bits: int = 0,
) -> TrainedNetwork:
    """Train an :class:`MLP` on ``inputs`` with Adam on the cross-entropy.

    Parameters
    ----------
    inputs : Inputs
        Training points ``inputs.x`` and labels ``inputs.labels`` (every row, every epoch).
    widths, activation, sigma
        As for :class:`MLP`; a noisy network is trained with its noise on.
    epochs : int, default 100
        Passes over the training points.
    batch_size : int, default 256
        Mini-batch size; the batches of each epoch are a fresh random partition.
    learning_rate : float, default 0.01
        Adam's step size.
    checkpoints : sequence of int, optional
        Epochs whose weights are kept (0 is the initialisation); default 7 log-spaced epochs.
    seed : int, default 0
    bits : int, default 0
        Quantize every hidden activation to this many bits and train straight-through
        (:class:`mibench.networks.quantized.QuantizedMLP`); 0 keeps float activations.

    Returns
    -------
    TrainedNetwork
    """
    epochs = check_integer(epochs, "epochs", minimum=0)
    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    seed = check_integer(seed, "seed", minimum=0)
    if checkpoints is None:
        checkpoints = log_spaced_epochs(epochs, 7)
    checkpoints = sorted({check_integer(e, "checkpoint epoch", minimum=0) for e in checkpoints})
    if checkpoints and checkpoints[-1] > epochs:
        raise InputError(f"checkpoint epoch {checkpoints[-1]} is beyond the {epochs} epochs")

    if bits:
        from mibench.networks.quantized import QuantizedMLP

        model = QuantizedMLP(
            inputs.dim, widths, inputs.n_classes, activation=activation, sigma=sigma,
            bits=bits, seed=seed,
        )
    else:
        model = MLP(
            inputs.dim, widths, inputs.n_classes, activation=activation, sigma=sigma, seed=seed
        )
    # One thread: the networks are tiny, and on a busy machine (or in the runner's worker
    # processes) idle OpenMP threads spinning for a core made a training step 20 times slower.
    with torch_threads(1):
        history, snapshots = _fit(
            model, inputs, epochs, batch_size, learning_rate, checkpoints, seed
        )
    config = {
        **model.config,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "inputs": inputs.name,
    }
    return TrainedNetwork(config=config, snapshots=snapshots, history=history, inputs=inputs)


def _fit(model, inputs, epochs, batch_size, learning_rate, checkpoints, seed):
    shuffle = torch.Generator().manual_seed(derive_seed(seed, 4))
    noise = torch.Generator().manual_seed(derive_seed(seed, 5))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    x = torch.tensor(inputs.x, dtype=torch.float64)
    labels = torch.tensor(inputs.labels, dtype=torch.int64)
    size = x.shape[0]

    def snapshot() -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    snapshots = {0: snapshot()} if 0 in checkpoints else {}
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(1, epochs + 1):
        order = torch.randperm(size, generator=shuffle)
        total_loss, correct = 0.0, 0
        for start in range(0, size, batch_size):
            batch = order[start : start + batch_size]
            logits = model(x[batch], noise)
            loss = functional.cross_entropy(logits, labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * batch.numel()
            correct += int((logits.argmax(dim=1) == labels[batch]).sum())
        history["loss"].append(total_loss / size)
        history["accuracy"].append(correct / size)
        if not math.isfinite(history["loss"][-1]):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss is not finite)")
        if epoch in checkpoints:
            snapshots[epoch] = snapshot()
    return history, snapshots
