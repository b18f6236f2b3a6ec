"""An encoder with a linear classifier head: deterministic, Gaussian (VIB) or with additive noise
(the nonlinear IB); float64, seeded without global state, like :class:`mibench.networks.MLP`.

- ``kind="deterministic"``: L = f(x), logits = head(L) (plain cross-entropy training);
- ``kind="gaussian"``: Z | x ~ N(mu(x), diag exp(log_variance(x))), sampled with the
  reparametrisation z = mu + exp(log_variance / 2) eps (Alemi et al., the VIB); L = mu(x);
- ``kind="additive"``: T = f(x) + N(0, noise_variance I) (Kolchinsky et al., the nonlinear IB);
  L = f(x).

``representation(x)`` is L, the deterministic part, whose exact I(X; L) over a finite input
is H(L); ``forward(x, generator)`` gives the logits of a sample of Z (or T) when a generator is
passed, else of L (the decision used for accuracy).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mibench.core.validation import InputError, check_choice, check_integer
from mibench.networks.models import derive_seed

__all__ = ["ENCODER_KINDS", "Encoder"]

ENCODER_KINDS = ("deterministic", "gaussian", "additive")


class Encoder(nn.Module):
    """x -> hidden (ReLU) -> L (dim ``code``) -> logits (``n_classes``), float64.

    Parameters
    ----------
    dim_in, hidden, code, n_classes : int
    kind : {"deterministic", "gaussian", "additive"}
    noise_variance : float
        Variance per dimension of the additive noise (``kind="additive"`` only).
    seed : int
        Seeds the initial weights (PyTorch's default initialisation, from a private generator).
    """

    def __init__(self, dim_in: int, hidden: int, code: int, n_classes: int, *,
                 kind: str = "deterministic", noise_variance: float = 0.0, seed: int = 0):
        super().__init__()
        check_choice(kind, "kind", ENCODER_KINDS)
        code = check_integer(code, "code", minimum=1)
        if kind == "additive" and not noise_variance > 0:
            raise InputError("an additive-noise encoder needs noise_variance > 0")
        self.kind = kind
        self.noise_variance = float(noise_variance)
        self.code = code
        generator = torch.Generator().manual_seed(derive_seed(seed, 0))
        outputs = 2 * code if kind == "gaussian" else code
        # skip_init: the weights are set below from the private generator, so the global
        # random state is not consumed.
        self.body = nn.Sequential(
            nn.utils.skip_init(nn.Linear, dim_in, hidden, dtype=torch.float64), nn.ReLU(),
            nn.utils.skip_init(nn.Linear, hidden, outputs, dtype=torch.float64))
        self.head = nn.utils.skip_init(nn.Linear, code, n_classes, dtype=torch.float64)
        with torch.no_grad():
            for layer in (self.body[0], self.body[2], self.head):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(L, log_variance): the representation and, for a Gaussian encoder, its log variance."""
        out = self.body(x)
        if self.kind == "gaussian":
            return out[:, : self.code], out[:, self.code :]
        return out, None

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """L(x), shape (n, code): the deterministic encoder whose I(X; L) the IB would score."""
        return self.encode(x)[0]

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits of a noisy sample (given a ``generator``) or of L (without one)."""
        mean, log_variance = self.encode(x)
        if generator is None or self.kind == "deterministic":
            return self.head(mean)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
        scale = (0.5 * log_variance).exp() if self.kind == "gaussian" else math.sqrt(
            self.noise_variance)
        return self.head(mean + scale * noise)
