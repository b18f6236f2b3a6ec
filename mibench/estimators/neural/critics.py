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

from collections.abc import Sequence

import torch
from torch import nn

from mibench.core.validation import InputError

__all__ = ["ConcatCritic", "SeparableCritic", "make_critic", "mlp"]


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
        k = x.shape[0]
        pairs = torch.cat(
            [x[:, None, :].expand(k, k, x.shape[1]), y[None, :, :].expand(k, k, y.shape[1])],
            dim=2,
        )
        return self.network(pairs).squeeze(-1)


def make_critic(
    kind: str, dim_x: int, dim_y: int, hidden: Sequence[int], embedding_dim: int
) -> nn.Module:
    """A ``"separable"`` or ``"concat"`` critic; ``embedding_dim`` is unused by the latter."""
    if kind == "separable":
        return SeparableCritic(dim_x, dim_y, hidden, embedding_dim)
    if kind == "concat":
        return ConcatCritic(dim_x, dim_y, hidden)
    raise InputError(f"critic must be 'separable' or 'concat', got {kind!r}")
