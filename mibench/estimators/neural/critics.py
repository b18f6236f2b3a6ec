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

__all__ = ["ConcatCritic", "SeparableCritic", "make_critic", "mlp", "pairwise_concat_scores"]


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


def pairwise_concat_scores(network: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """m([x_i, y_j]) for every pair (i, j), shape (K, K), for an MLP m from :func:`mlp`.

    The first layer is affine, W [x, y] + b = W_x x + W_y y + b, so it is applied to the K
    samples of x and of y apart and the two halves are added for every pair: K^2 additions
    instead of K^2 (d_x + d_y) multiplications, and the (K, K, d_x + d_y) tensor of
    concatenated pairs is never built (at K = 2,500 and d = 100 it would take 2.5 GB). The
    scores equal those of ``network`` on the concatenated pairs up to rounding.
    """
    first, rest = network[0], network[1:]
    dim_x = x.shape[1]
    from_x = x @ first.weight[:, :dim_x].T + first.bias
    from_y = y @ first.weight[:, dim_x:].T
    return rest(from_x[:, None, :] + from_y[None, :, :]).squeeze(-1)


def make_critic(
    kind: str, dim_x: int, dim_y: int, hidden: Sequence[int], embedding_dim: int
) -> nn.Module:
    """A ``"separable"`` or ``"concat"`` critic; ``embedding_dim`` is unused by the latter."""
    if kind == "separable":
        return SeparableCritic(dim_x, dim_y, hidden, embedding_dim)
    if kind == "concat":
        return ConcatCritic(dim_x, dim_y, hidden)
    raise InputError(f"critic must be 'separable' or 'concat', got {kind!r}")
