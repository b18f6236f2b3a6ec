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
    "club_bound",
    "doe_estimate",
    "dv_bound",
    "flo_bound",
    "infonce_bound",
    "joint_mean",
    "js_bound",
    "js_nwj_bound",
    "l1out_bound",
    "log_mean_exp_marginal",
    "mine_surrogate",
    "nwj_bound",
    "smile_bound",
    "tuba_bound",
    "update_log_moving_average",
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


def update_log_moving_average(log_moving_average: torch.Tensor | None, batch: torch.Tensor,
                              rate: float) -> torch.Tensor:
    """MINE's moving average of E_q[e^f], ma <- (1 - rate) ma + rate * batch, in log space so
    that it cannot overflow; ``batch`` (the batch's log E_q[e^f]) starts it. Elementwise, so a
    stack of seeds' averages updates seed by seed."""
    if log_moving_average is None:
        return batch
    return torch.logaddexp(math.log1p(-rate) + log_moving_average, math.log(rate) + batch)


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


# --- The rest of the zoo: JS, TUBA, FLO (lower bounds), CLUB and L1Out (upper bounds), DoE. ---
# Guo, Chen, Wang, Yang, Deng, Carin, Li & Tao, "Tight Mutual Information Estimation With
# Contrastive Fenchel-Legendre Optimization", NeurIPS 2022 (G); Cheng, Hao, Dai, Liu, Gan &
# Carin, "CLUB: A Contrastive Log-ratio Upper Bound of Mutual Information", ICML 2020 (C);
# McAllester & Stratos, "Formal Limitations on the Measurement of Mutual Information",
# AISTATS 2020 (M).


def _off_diagonal_mean_exp(scores: torch.Tensor) -> torch.Tensor:
    """E_p(x)p(y)[e^f] over the off-diagonal scores, computed in log space first."""
    return torch.exp(log_mean_exp_marginal(scores))


def js_nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """NWJ read off a critic trained with the Jensen-Shannon objective (P, sec. 2.4).

    The JS objective's maximiser is T* = log p(x, y) / (p(x) p(y)); NWJ's is T* + 1, so the
    bound read off is NWJ(T + 1) = E_p[T] + 1 - E_q[e^T] <= I(X; Y) for any T.
    """
    return nwj_bound(scores + 1.0)


def tuba_bound(scores: torch.Tensor, log_baseline: torch.Tensor) -> torch.Tensor:
    """TUBA with a learned baseline a(y) = e^b(y) (P, eq. 8).

    I >= E_p[f] - E_p(y)[ E_p(x)[e^f(x, y)] / a(y) + log a(y) - 1 ]
       = E_p[f] - E_q[e^(f(x, y) - b(y))] - E_p(y)[b(y)] + 1.

    ``log_baseline`` holds b(y_j) for the K samples y_j of the batch: the q-expectation pairs
    scores[i, j] with b(y_j) over i != j, and E_p(y)[b] is the mean over the batch. With
    b = 1 it is NWJ.
    """
    shifted = scores - log_baseline[None, :]
    return joint_mean(scores) - _off_diagonal_mean_exp(shifted) - log_baseline.mean() + 1.0


def flo_bound(scores: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """FLO, the Fenchel-Legendre optimisation bound (G, eq. 11).

    I >= 1 - E_p(x,y)[ u(x, y) + e^-u(x, y) E_p(y')[ e^(g(x, y') - g(x, y)) ] ],

    for any critic g and any function u (the Fenchel-Legendre dual of -log at the partition
    ratio); the optimal u is log E_p(y')[e^(g(x, y') - g(x, y))], which makes it the
    (unbatched) InfoNCE bound, without InfoNCE's log K ceiling. ``u`` holds u(x_i, y_i) for
    the K joint pairs; E_p(y') is the mean over the K - 1 other y_j of the batch, which are
    independent of (x_i, y_i), so the batch value is unbiased for the bound (it is linear in
    that mean).
    """
    k = scores.shape[0]
    diagonal = scores.diagonal()
    # log mean_{j != i} e^(g_ij - g_ii), with the diagonal masked out of the logsumexp.
    mask = torch.eye(k, dtype=torch.bool, device=scores.device)
    others = scores.masked_fill(mask, -math.inf)
    log_ratio = torch.logsumexp(others, dim=1) - math.log(k - 1) - diagonal
    return 1.0 - (u + torch.exp(log_ratio - u)).mean()


def club_bound(log_q: torch.Tensor) -> torch.Tensor:
    """CLUB, the contrastive log-ratio upper bound (C, eq. 4, with q for p(y | x), eq. 8).

    I <~ E_p(x,y)[log q(y | x)] - E_p(x)E_p(y)[log q(y | x)], with ``log_q[i, j]``
    = log q(y_j | x_i): the diagonal mean minus the off-diagonal mean. An upper bound when
    q = p(y | x), and whenever KL(p(x, y) || q) <= KL(p(x)p(y) || q) (C, Theorem 3.2); a
    badly fitted q can fall below the truth.
    """
    return joint_mean(log_q) - _off_diagonal(log_q).mean()


def l1out_bound(log_q: torch.Tensor) -> torch.Tensor:
    """The leave-one-out upper bound (P, eq. 19; C, eq. 14), q in place of p(y | x).

    I <= E[ 1/K sum_i log( q(y_i | x_i) / (1/(K-1) sum_{j != i} q(y_i | x_j)) ) ], with
    ``log_q[i, j]`` = log q(y_j | x_i); an upper bound for q = p(y | x), approximate for a
    fitted q. The positive pair is not in its own denominator, so there is no log K ceiling.
    """
    k = log_q.shape[0]
    mask = torch.eye(k, dtype=torch.bool, device=log_q.device)
    # Column i holds q(y_i | x_j) for every j: the mixture the leave-one-out marginal is.
    others = log_q.masked_fill(mask, -math.inf)
    log_marginal = torch.logsumexp(others, dim=0) - math.log(k - 1)
    return (log_q.diagonal() - log_marginal).mean()


def doe_estimate(log_conditional: torch.Tensor, log_marginal: torch.Tensor) -> torch.Tensor:
    """DoE, the difference of entropies (M, sec. 8): I ~ H_q(Y) - H_q(Y | X).

    H_q(Y) = -E_p[log q(y)] and H_q(Y | X) = -E_p[log q(y | x)] are cross-entropies, each an
    upper bound on the entropy it stands for, so their difference bounds neither side:
    ``log_conditional`` and ``log_marginal`` hold log q(y_i | x_i) and log q(y_i) for the K
    pairs of the batch.
    """
    return (log_conditional - log_marginal).mean()
