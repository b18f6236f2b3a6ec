"""Critics f(x, y) for the variational bounds.

A critic maps a batch of K paired samples to the (K, K) score matrix
``scores[i, j] = f(x_i, y_j)``: the diagonal scores the K joint pairs, the off-diagonal entries
the K (K - 1) pairs that the batch offers as samples of p(x) p(y) (see
:mod:`mibench.estimators.neural.bounds`).

- :class:`SeparableCritic`, f(x, y) = g(x) . h(y): two encoders and a dot product. The whole
  matrix costs 2K encoder passes and one matrix product, so it is the fast default.
- :class:`ConcatCritic`, f(x, y) = m([x, y]): one MLP on the concatenated pair. More general
  (any function of the pair), but the matrix costs K^2 passes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from mibench.core.validation import InputError

__all__ = [
    "BaselineCritic",
    "ConcatCritic",
    "DifferenceOfEntropies",
    "FenchelLegendreCritic",
    "GaussianConditional",
    "GaussianMarginal",
    "SeparableCritic",
    "make_critic",
    "mlp",
    "pairwise_concat_scores",
]


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int) -> nn.Sequential:
    """Linear layers of widths ``hidden`` with ReLU between them, then a linear output."""
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class SeparableCritic(nn.Module):
    """f(x, y) = g(x) . h(y), with g and h MLPs into R^embedding_dim.

    Parameters
    ----------
    dim_x, dim_y : int
        Dimensions of one sample of X and of Y.
    hidden : sequence of int
        Widths of the hidden layers of each encoder.
    embedding_dim : int
        Dimension of the embeddings whose dot product is the score.
    """

    def __init__(self, dim_x: int, dim_y: int, hidden: Sequence[int], embedding_dim: int):
        super().__init__()
        self.encode_x = mlp(dim_x, hidden, embedding_dim)
        self.encode_y = mlp(dim_y, hidden, embedding_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of shape (K, K) from x of shape (K, dim_x) and y of shape (K, dim_y)."""
        return self.encode_x(x) @ self.encode_y(y).T


class ConcatCritic(nn.Module):
    """f(x, y) = m([x, y]), one MLP on the concatenated pair.

    Parameters
    ----------
    dim_x, dim_y : int
        Dimensions of one sample of X and of Y.
    hidden : sequence of int
        Widths of the hidden layers of the MLP.
    """

    def __init__(self, dim_x: int, dim_y: int, hidden: Sequence[int]):
        super().__init__()
        self.network = mlp(dim_x + dim_y, hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of shape (K, K) from x of shape (K, dim_x) and y of shape (K, dim_y)."""
        return pairwise_concat_scores(self.network, x, y)


# The (rows, K, width) block of first-layer sums that one step of pairwise_concat_scores builds:
# 2^18 float32 values (1 MiB) stay in a core's cache through the MLP's elementwise passes. A
# whole 2,500 x 2,500 test half at width 16 would be 400 MB, written and read from main memory
# by every pass (measured on 2 cores, 2026-12-04: 0.60-2.4 s per scoring unblocked, 0.16 s in
# blocks; a training batch of 256 gains about 20 %).
_PAIR_BLOCK_VALUES = 1 << 18


def pairwise_concat_scores(network: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """m([x_i, y_j]) for every pair (i, j), shape (K, K), for an MLP m from :func:`mlp`.

    The first layer is affine, W [x, y] + b = W_x x + W_y y + b, so it is applied to the K
    samples of x and of y apart and the two halves are added for every pair: K^2 additions
    instead of K^2 (d_x + d_y) multiplications, and the (K, K, d_x + d_y) tensor of
    concatenated pairs is never built (at K = 2,500 and d = 100 it would take 2.5 GB). The rest
    of the MLP runs on blocks of rows whose first-layer sums fit in a core's cache
    (``_PAIR_BLOCK_VALUES``), never on all K^2 pairs at once. The scores equal those of
    ``network`` on the concatenated pairs up to rounding.
    """
    first, rest = network[0], network[1:]
    dim_x = x.shape[1]
    from_x = x @ first.weight[:, :dim_x].T + first.bias
    from_y = y @ first.weight[:, dim_x:].T
    rows = max(1, _PAIR_BLOCK_VALUES // max(1, from_y.shape[0] * from_y.shape[1]))
    blocks = [
        rest(from_x[start : start + rows, None, :] + from_y[None, :, :]).squeeze(-1)
        for start in range(0, from_x.shape[0], rows)
    ]
    if not blocks:  # no pairs
        return from_x.new_zeros((from_x.shape[0], from_y.shape[0]))
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks)


def make_critic(
    kind: str, dim_x: int, dim_y: int, hidden: Sequence[int], embedding_dim: int
) -> nn.Module:
    """A ``"separable"`` or ``"concat"`` critic; ``embedding_dim`` is unused by the latter."""
    if kind == "separable":
        return SeparableCritic(dim_x, dim_y, hidden, embedding_dim)
    if kind == "concat":
        return ConcatCritic(dim_x, dim_y, hidden)
    raise InputError(f"critic must be 'separable' or 'concat', got {kind!r}")


# --- Models of the rest of the zoo. Each returns what its bound in .bounds reads. ---

_LOG_2PI = math.log(2 * math.pi)


def _gaussian_log_density(y: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor):
    """log N(y; mean, diag(e^log_var)), summed over the last dimension (broadcasting)."""
    return -0.5 * (((y - mean) ** 2) * torch.exp(-log_var) + log_var + _LOG_2PI).sum(-1)


class GaussianConditional(nn.Module):
    """q(y | x) = N(mu(x), diag sigma^2(x)), mu and log sigma^2 MLPs of x (Cheng et al. 2020).

    Called on a batch it returns the (K, K) matrix ``log_q[i, j] = log q(y_j | x_i)``, what
    :func:`~mibench.estimators.neural.bounds.club_bound` and ``l1out_bound`` read; its diagonal
    is the log-likelihood the model is fitted by. log sigma^2 goes through tanh times
    ``log_var_range`` so that a step cannot send a variance to 0 or infinity.
    """

    def __init__(self, dim_x: int, dim_y: int, hidden: Sequence[int], log_var_range: float = 10.0):
        super().__init__()
        self.mean = mlp(dim_x, hidden, dim_y)
        self.log_var = mlp(dim_x, hidden, dim_y)
        self.log_var_range = log_var_range

    def parameters_of(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mu(x) and log sigma^2(x), each of shape (K, dim_y)."""
        return self.mean(x), self.log_var_range * torch.tanh(self.log_var(x) / self.log_var_range)

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log q(y_i | x_i) for the K pairs, shape (K,)."""
        mean, log_var = self.parameters_of(x)
        return _gaussian_log_density(y, mean, log_var)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mean, log_var = self.parameters_of(x)
        return _gaussian_log_density(y[None, :, :], mean[:, None, :], log_var[:, None, :])


class GaussianMarginal(nn.Module):
    """q(y) = N(m, diag s^2) with learned m and log s^2 (no input)."""

    def __init__(self, dim_y: int):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(dim_y))
        self.log_var = nn.Parameter(torch.zeros(dim_y))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """log q(y_i) for the K samples, shape (K,)."""
        return _gaussian_log_density(y, self.mean, self.log_var)


class DifferenceOfEntropies(nn.Module):
    """The two densities of DoE (McAllester & Stratos 2020): q(y | x) and q(y), both Gaussian.

    Returns ``(log q(y_i | x_i), log q(y_i))`` for the K pairs of a batch, what
    :func:`~mibench.estimators.neural.bounds.doe_estimate` reads.
    """

    def __init__(self, dim_x: int, dim_y: int, hidden: Sequence[int]):
        super().__init__()
        self.conditional = GaussianConditional(dim_x, dim_y, hidden)
        self.marginal = GaussianMarginal(dim_y)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.conditional.log_likelihood(x, y), self.marginal(y)


class BaselineCritic(nn.Module):
    """A critic f(x, y) and a learned log baseline b(y), an MLP of y, for TUBA (Poole et al.
    2019). Returns ``(scores, b)``: the (K, K) scores of ``critic`` and b(y_j) of shape (K,)."""

    def __init__(self, critic: nn.Module, dim_y: int, hidden: Sequence[int]):
        super().__init__()
        self.critic = critic
        self.baseline = mlp(dim_y, hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.critic(x, y), self.baseline(y).squeeze(-1)


class FenchelLegendreCritic(nn.Module):
    """A critic g(x, y) and the dual variable u(x, y), an MLP of the pair, for FLO (Guo et al.
    2022). Returns ``(scores, u)``: the (K, K) scores of ``critic`` and u(x_i, y_i) of the K
    joint pairs, shape (K,)."""

    def __init__(self, critic: nn.Module, dim_x: int, dim_y: int, hidden: Sequence[int]):
        super().__init__()
        self.critic = critic
        self.dual = mlp(dim_x + dim_y, hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.critic(x, y), self.dual(torch.cat([x, y], dim=1)).squeeze(-1)
