"""Networks whose hidden activations are quantized to a few bits, trained straight-through.

Lorenzen, Igel & Nielsen, "Information bottleneck: exact analysis of (quantized) neural
networks", ICLR 2022: when every hidden activation takes one of 2^k values, a layer over a
finite input set is a discrete variable and I(X; T_l) = H(T_l) is computed exactly, with no
estimator; it changes with the layer and the epoch, unlike the constant log |X| of a
float-valued deterministic layer.

Hidden layer l computes ``T_l = q(a(W_l T_{l-1} + b_l))`` with ``q`` the uniform quantizer of
2^k levels on the activation's range:

- bounded activations: the fixed range, [-1, 1] for tanh and [0, 1] for the sigmoid;
- unbounded ones (ReLU, leaky ReLU, linear): [low, high] tracked during training as the
  exponential moving average (decay 0.9) of each mini-batch's minimum and maximum, the
  quantization-aware training of Jacob et al. (CVPR 2018) that Lorenzen et al. follow; the
  range is a buffer of the model, so every snapshot carries the range it was taken with.
  ReLU's ``low`` stays 0.

Values outside the range are clipped to it. The gradient is passed straight through the
rounding (the straight-through estimator): the forward pass uses q(a), the backward pass the
gradient of a. Weights are kept in float64 (only the activations are quantized: that is what
makes the layers discrete). The quantized values are exact multiples of the step plus
``low``, computed the same way for every row, so equal levels are equal floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mibench.core.validation import InputError, check_integer
from mibench.networks.models import MLP

__all__ = ["FIXED_RANGES", "Quantize", "QuantizedMLP"]

#: The range quantized for the bounded activations; the others track theirs in training.
FIXED_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
# Decay of the moving averages of the range of an unbounded activation.
_RANGE_DECAY = 0.9


class Quantize(nn.Module):
    """Uniform quantization to ``2**bits`` levels on the activation's range (see the module).

    Parameters
    ----------
    bits : int
        2 to 16.
    activation : str
        The activation it follows: decides the fixed range or the tracked one.
    """

    def __init__(self, bits: int, activation: str):
        super().__init__()
        self.bits = check_integer(bits, "bits", minimum=2)
        if self.bits > 16:
            raise InputError(f"bits must be at most 16, got {bits}")
        self.activation = activation
        self.tracked = activation not in FIXED_RANGES
        low, high = FIXED_RANGES.get(activation, (0.0, 1.0))
        self.register_buffer("low", torch.tensor(low, dtype=torch.float64))
        self.register_buffer("high", torch.tensor(high, dtype=torch.float64))
        self.register_buffer("batches_seen", torch.tensor(0, dtype=torch.int64))

    @property
    def levels(self) -> int:
        """Number of steps between the lowest and the highest level (2^bits - 1)."""
        return 2**self.bits - 1

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if self.tracked and self.training and torch.is_grad_enabled():
            self._track(a.detach())
        low, high = self.low, self.high
        step = (high - low) / self.levels
        return _QuantizeFunction.apply(a, low, high, step)

    def _track(self, a: torch.Tensor) -> None:
        low = a.min() if self.activation != "relu" else torch.zeros((), dtype=a.dtype)
        high = torch.maximum(a.max(), low + 1e-6)
        if int(self.batches_seen) == 0:
            self.low.copy_(low)
            self.high.copy_(high)
        else:
            self.low.mul_(_RANGE_DECAY).add_((1 - _RANGE_DECAY) * low)
            self.high.mul_(_RANGE_DECAY).add_((1 - _RANGE_DECAY) * high)
        self.batches_seen += 1

    def extra_repr(self) -> str:
        return f"bits={self.bits}, activation={self.activation!r}"


class _QuantizeFunction(torch.autograd.Function):
    """q(a) forward, the identity's gradient backward (straight-through)."""

    @staticmethod
    def forward(ctx, a, low, high, step):
        return torch.round((a.clamp(low, high) - low) / step) * step + low

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None, None


class QuantizedMLP(MLP):
    """An :class:`~mibench.networks.models.MLP` whose hidden activations are quantized.

    Parameters
    ----------
    dim_in, widths, n_classes, activation, seed
        As for :class:`~mibench.networks.models.MLP` (no noise: ``sigma`` is 0).
    bits : int
        Bits of every hidden activation (2 to 16).

    Notes
    -----
    Module ``hidden.{l-1}.activation`` is ``Sequential(activation, Quantize)``, so S_l = T_l
    is the quantized value; the initial weights are those of the float MLP of the same seed.
    """

    def __init__(
        self,
        dim_in: int,
        widths: Sequence[int],
        n_classes: int,
        *,
        activation: str = "tanh",
        bits: int = 8,
        seed: int = 0,
        sigma: float = 0.0,
    ):
        if sigma:
            raise InputError("a quantized network has no noise (sigma must be 0)")
        super().__init__(dim_in, widths, n_classes, activation=activation, sigma=0.0, seed=seed)
        quantizers = [Quantize(bits, activation) for _ in self.hidden]
        for layer, quantizer in zip(self.hidden, quantizers, strict=True):
            layer.activation = nn.Sequential(layer.activation, quantizer)
        self.config["bits"] = quantizers[0].bits

    @property
    def bits(self) -> int:
        return self.config["bits"]
