"""Multilayer perceptrons, deterministic or with Gaussian noise after every hidden activation.

Hidden layer l computes the clean activation and, in a noisy network, adds fresh noise:

    S_l = a(W_l T_{l-1} + b_l),    T_l = S_l + Z_l,    Z_l ~ N(0, sigma^2 I),    T_0 = X,

the model of Goldfeld et al. (ICML 2019); with sigma = 0, T_l = S_l. The output layer is
affine (logits, no noise). Everything is float64, and every random choice (initial weights,
noise) comes from a ``torch.Generator`` seeded from the model's ``seed``: the global torch
random state is neither used nor changed.

Module names, for :func:`mibench.networks.capture`: ``hidden.{l-1}`` is hidden layer l (its
output is T_l), ``hidden.{l-1}.linear`` the affine map, ``hidden.{l-1}.activation`` gives S_l,
``hidden.{l-1}.noise`` gives T_l, and ``output`` the logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mibench.core.validation import InputError, check_choice, check_integer, check_positive
from mibench.networks._constants import ACTIVATIONS, LEAKY_RELU_SLOPE

__all__ = ["ACTIVATIONS", "LEAKY_RELU_SLOPE", "GaussianNoise", "HiddenLayer", "MLP", "derive_seed"]


def derive_seed(seed: int, *purpose: int) -> int:
    """An independent 63-bit seed for one purpose (weights, noise, shuffling) of one seed."""
    state = np.random.SeedSequence(entropy=seed, spawn_key=tuple(purpose)).generate_state(2)
    return int(state[0]) << 31 ^ int(state[1])


def _activation_module(name: str) -> nn.Module:
    return {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE),
        "sigmoid": nn.Sigmoid,
        "linear": nn.Identity,
    }[name]()


class GaussianNoise(nn.Module):
    """Adds N(0, sigma^2 I) noise to its input (the identity for sigma = 0).

    The noise comes from the ``generator`` passed to :meth:`forward`, else from the module's
    own ``generator`` attribute (set by the owning :class:`MLP`); never from the global state.
    """

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = float(sigma)
        self.generator: torch.Generator | None = None

    def forward(self, s: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.sigma == 0.0:
            return s
        generator = generator if generator is not None else self.generator
        if generator is None:
            raise InputError("a noisy layer needs a torch.Generator for its noise")
        noise = torch.randn(s.shape, generator=generator, dtype=s.dtype, device=s.device)
        return s + self.sigma * noise

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


class HiddenLayer(nn.Module):
    """One hidden layer: T = a(W T_prev + b) + Z."""

    def __init__(self, dim_in: int, dim_out: int, activation: str, sigma: float):
        super().__init__()
        # skip_init: the weights are initialised by the MLP from its own generator, so the
        # global random state is not consumed.
        self.linear = nn.utils.skip_init(nn.Linear, dim_in, dim_out, dtype=torch.float64)
        self.activation = _activation_module(activation)
        self.noise = GaussianNoise(sigma)

    def clean_and_noisy(
        self, t_prev: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(S, T) for the previous layer's output ``t_prev``."""
        s = self.activation(self.linear(t_prev))
        return s, self.noise(s, generator)

    def forward(self, t_prev: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.clean_and_noisy(t_prev, generator)[1]


class MLP(nn.Module):
    """A classifier: hidden layers of the given widths, then affine logits. float64.

    Parameters
    ----------
    dim_in : int
        Dimension of an input.
    widths : sequence of int
        Widths of the hidden layers, first to last.
    n_classes : int
        Number of output logits.
    activation : {"tanh", "relu", "leaky_relu", "sigmoid", "linear"}, default "tanh"
    sigma : float, default 0.0
        Standard deviation of the Gaussian noise added after every hidden activation, in the
        units of the activations; 0 makes the network deterministic.
    seed : int, default 0
        Seeds the initial weights and, independently, the model's own noise generator.

    Notes
    -----
    Weights are Glorot-uniform (gain 5/3 for tanh, 1 otherwise) for the saturating and linear
    activations, He-uniform for the rectifiers; biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    like PyTorch's default, so that a ReLU layer does not start symmetric.
    """

    def __init__(
        self,
        dim_in: int,
        widths: Sequence[int],
        n_classes: int,
        *,
        activation: str = "tanh",
        sigma: float = 0.0,
        seed: int = 0,
    ):
        super().__init__()
        dim_in = check_integer(dim_in, "dim_in", minimum=1)
        widths = tuple(check_integer(w, "width", minimum=1) for w in widths)
        if not widths:
            raise InputError("an MLP needs at least one hidden layer (widths is empty)")
        n_classes = check_integer(n_classes, "n_classes", minimum=2)
        check_choice(activation, "activation", ACTIVATIONS)
        sigma = check_positive(sigma, "sigma", allow_zero=True)
        seed = check_integer(seed, "seed", minimum=0)
        self.config = {
            "dim_in": dim_in,
            "widths": widths,
            "n_classes": n_classes,
            "activation": activation,
            "sigma": sigma,
            "seed": seed,
        }
        sizes = (dim_in, *widths)
        self.hidden = nn.ModuleList(
            HiddenLayer(a, b, activation, sigma) for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.output = nn.utils.skip_init(nn.Linear, widths[-1], n_classes, dtype=torch.float64)
        self._initialise(torch.Generator().manual_seed(derive_seed(seed, 0)))
        self.noise_generator = torch.Generator().manual_seed(derive_seed(seed, 1))
        for layer in self.hidden:
            layer.noise.generator = self.noise_generator

    @property
    def activation(self) -> str:
        return self.config["activation"]

    @property
    def sigma(self) -> float:
        return self.config["sigma"]

    @property
    def widths(self) -> tuple[int, ...]:
        return self.config["widths"]

    def _initialise(self, generator: torch.Generator) -> None:
        rectifier = self.activation in ("relu", "leaky_relu")
        gain = nn.init.calculate_gain("tanh") if self.activation == "tanh" else 1.0
        with torch.no_grad():
            for layer in [*(h.linear for h in self.hidden), self.output]:
                if rectifier and layer is not self.output:
                    slope = LEAKY_RELU_SLOPE if self.activation == "leaky_relu" else 0.0
                    nn.init.kaiming_uniform_(
                        layer.weight, a=slope, nonlinearity="leaky_relu", generator=generator
                    )
                else:
                    nn.init.xavier_uniform_(layer.weight, gain=gain, generator=generator)
                bound = layer.in_features**-0.5
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits for inputs ``x`` of shape (n, dim_in); noise from ``generator`` if given."""
        t = x
        for layer in self.hidden:
            t = layer(t, generator)
        return self.output(t)

    def layers(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The clean S_l and noisy T_l of every hidden layer, first to last.

        Returns
        -------
        clean, noisy : lists of tensors of shape (n, width_l)
            Identical lists (the same tensors) for a deterministic network.
        """
        clean, noisy = [], []
        t = x
        for layer in self.hidden:
            s, t = layer.clean_and_noisy(t, generator)
            clean.append(s)
            noisy.append(t)
        return clean, noisy
