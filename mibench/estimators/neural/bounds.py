"""Variational lower bounds on I(X; Y), as small pure functions of a critic's score matrix.

Every bound takes ``scores``, a (K, K) tensor with ``scores[i, j] = f(x_i, y_j)`` for a batch
of K paired samples (x_i, y_i) ~ p(x, y). The diagonal holds K samples of the critic under the
joint p(x, y); the K (K - 1) off-diagonal entries are samples under the product of marginals
p(x) p(y). All values are in nats. Notation follows Poole, Ozair, van den Oord, Alemi & Tucker,
"On Variational Bounds of Mutual Information", ICML 2019 (P), and Song & Ermon, "Understanding
the Limitations of Variational Mutual Information Estimators", ICLR 2020 (S).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "dv_bound",
    "infonce_bound",
    "joint_mean",
    "js_bound",
    "log_mean_exp_marginal",
    "mine_surrogate",
    "nwj_bound",
    "smile_bound",
]


def _off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    """The K (K - 1) off-diagonal scores as a flat tensor: samples under p(x) p(y)."""
    k = scores.shape[0]
    return scores.flatten()[1:].reshape(k - 1, k + 1)[:, :-1].flatten()


def joint_mean(scores: torch.Tensor) -> torch.Tensor:
    """E_p(x,y)[f], the mean of the diagonal."""
    return scores.diagonal().mean()


def log_mean_exp_marginal(scores: torch.Tensor) -> torch.Tensor:
    """log E_p(x)p(y)[e^f], over the off-diagonal scores, computed without overflow."""
    off = _off_diagonal(scores)
    return torch.logsumexp(off, dim=0) - math.log(off.numel())


def dv_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan: I >= E_p[f] - log E_q[e^f] (P, eq. 7; q = p(x) p(y))."""
    return joint_mean(scores) - log_mean_exp_marginal(scores)


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """Nguyen-Wainwright-Jordan, f-GAN KL: I >= E_p[f] - e^-1 E_q[e^f] (P, eq. 9)."""
    return joint_mean(scores) - torch.exp(log_mean_exp_marginal(scores) - 1.0)


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE: I >= E[1/K sum_i log(e^f(x_i,y_i) / (1/K sum_j e^f(x_i,y_j)))] (P, eq. 12).

    The positive pair is one of the K terms of its own denominator, so the bound never exceeds
    log K, whatever the critic: it saturates at log(batch size) when I(X; Y) is larger.
    """
    k = scores.shape[0]
    return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(k)


def js_bound(scores: torch.Tensor) -> torch.Tensor:
    """The f-GAN Jensen-Shannon objective -E_p[softplus(-f)] - E_q[softplus(f)] (S, sec. 4).

    Not a bound on I(X; Y) itself; its maximiser is the log density ratio
    f* = log p(x, y) / (p(x) p(y)), which is what SMILE trains its critic with.
    """
    return -F.softplus(-scores.diagonal()).mean() - F.softplus(_off_diagonal(scores)).mean()


def smile_bound(scores: torch.Tensor, tau: float) -> torch.Tensor:
    """SMILE: E_p[f] - log E_q[e^clip(f, -tau, tau)] (S, eq. 17).

    Clipping the partition term trades a bias for a variance that no longer grows like
    e^I(X;Y); tau = inf gives back Donsker-Varadhan.
    """
    clipped = scores.clamp(-tau, tau)
    return joint_mean(scores) - log_mean_exp_marginal(clipped)


def mine_surrogate(scores: torch.Tensor, log_moving_average: torch.Tensor) -> torch.Tensor:
    """MINE's training objective: Donsker-Varadhan with a bias-corrected gradient.

    Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, sec. 3.2: the gradient
    of log E_q[e^f] is grad E_q[e^f] / E_q[e^f], and the minibatch estimate of the denominator
    makes it biased; MINE divides by a moving average of E_q[e^f] over past batches instead.
    This surrogate, E_p[f] - E_q[e^f] / moving_average with the average held constant, has that
    gradient. Its value is not the bound; read the bound off :func:`dv_bound`.
    """
    return joint_mean(scores) - torch.exp(
        log_mean_exp_marginal(scores) - log_moving_average.detach()
    )
