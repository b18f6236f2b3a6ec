"""Variational lower bounds on I(X; Y), as small pure functions of a critic's score matrix.

Every bound takes ``scores``, a (K, K) tensor with ``scores[i, j] = f(x_i, y_j)`` for a batch
of K paired samples (x_i, y_i) ~ p(x, y). The diagonal holds K samples of the critic under the
joint p(x, y); the K (K - 1) off-diagonal entries are samples under the product of marginals
p(x) p(y). All values are in nats. Notation follows Poole, Ozair, van den Oord, Alemi & Tucker,
"On Variational Bounds of Mutual Information", ICML 2019 (P), and Song & Ermon, "Understanding
the Limitations of Variational Mutual Information Estimators", ICLR 2020 (S).

The bounds that train critics (DV, MINE, NWJ, InfoNCE, SMILE's JS and clipped DV) also take a
stack of score matrices, shape (..., K, K), and return one value per matrix, shape (...): the
reductions run over the last two dimensions only, so the same function serves one critic and
the seeds trained together in :mod:`.batched`, matrix by matrix. Their terms over the whole
matrix are computed by three small autograd functions (:class:`_InfoNCE`,
:class:`_JointAndLogMeanExp`, :class:`_JensenShannon`) that write each gradient in one pass:
autograd of the plain expressions scatters the diagonal's gradient into a zeroed matrix,
copies the off-diagonal out and back and redoes the exponentials, and on a stack of ten
256 x 256 matrices (2.6 MB, more than a core's L2 cache) every extra pass over it is about as
costly as the critic's arithmetic (docs/benchmarks-neural.md).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

__all__ = [
    "club_bound",
    "doe_estimate",
    "dv_bound",
    "flo_bound",
    "infonce_bound",
    "joint_and_log_mean_exp",
    "joint_mean",
    "js_bound",
    "js_nwj_bound",
    "l1out_bound",
    "log_mean_exp_marginal",
    "mine_objective",
    "mine_surrogate",
    "nwj_bound",
    "smile_bound",
    "tuba_bound",
    "update_log_moving_average",
]


def _diagonal(scores: torch.Tensor) -> torch.Tensor:
    """The K joint scores f(x_i, y_i) of each matrix: a (..., K) view."""
    return scores.diagonal(dim1=-2, dim2=-1)


def _off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    """The K (K - 1) off-diagonal scores of each matrix, (..., K (K - 1)): samples under
    p(x) p(y)."""
    k = scores.shape[-1]
    flat = scores.flatten(-2)[..., 1:]
    return flat.unflatten(-1, (k - 1, k + 1))[..., :-1].flatten(-2)


#: Gradient entries below 2^-100 in absolute value are raised to 2^-100. That is 2^26 times
#: float32's smallest normal number, so every entry and every product of it with a weight stays
#: normal; without the floor, the many e^f that underflow towards 0 on a sharp critic (high MI)
#: come out as subnormal numbers, which x86 cores compute at a small fraction of their speed, in
#: the exponential itself and in the score product's backward (a ten-seed InfoNCE step on
#: 1v1-additive-0.1 took 2.5 times as long, docs/benchmarks-neural.md). An entry moves by less
#: than 2^-100 (times the scale where that exceeds 1), some 20 orders of magnitude below what
#: AdamW's epsilon (1e-8) lets move a weight.
_LOG_NEGLIGIBLE = math.log(2.0**-100)


def _floor_negligible_(log_values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``log_values`` raised, in place, so that exp(log_values) and exp(log_values) * |scale|
    are both at least 2^-100 (``scale`` broadcasts against it: one factor per matrix or row).

    A clamp, one pass with nothing to allocate and no test: it costs a critic that is not sharp
    less than the reduction that would tell whether anything needs raising, and raising to a
    normal number instead of writing -inf (e^-inf = 0) spares the exponential its slow path,
    which -inf takes too (docs/benchmarks-neural.md). A zero scale leaves the values finite."""
    magnitude = scale.abs().clamp_(min=torch.finfo(log_values.dtype).tiny, max=1.0)
    return log_values.clamp_(min=_LOG_NEGLIGIBLE - torch.log(magnitude))


def _consume_saved(ctx) -> torch.Tensor:
    """The one tensor a fused bound saved, which its backward overwrites in place. A second
    backward through the same graph (``retain_graph=True``) is refused here with a message that
    says why (autograd's own version check would refuse it too, less plainly)."""
    if getattr(ctx, "consumed", False):
        raise RuntimeError(
            "the fused bounds' backward consumes its saved tensors: backpropagate through a "
            "bound once per forward (compute the bound again instead of retain_graph=True)"
        )
    ctx.consumed = True
    (saved,) = ctx.saved_tensors
    return saved


def _scaled_exp_(log_values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """exp(log_values) * scale, written over ``log_values``, with the entries below 2^-100 in
    absolute value raised to it."""
    return _floor_negligible_(log_values, scale).exp_().mul_(scale)


def joint_mean(scores: torch.Tensor) -> torch.Tensor:
    """E_p(x,y)[f], the mean of the diagonal."""
    return _diagonal(scores).mean(-1)


class _JointAndLogMeanExp(torch.autograd.Function):
    """(E_p[f], log E_q[e^f]) of each score matrix, q over the off-diagonal; see
    :func:`joint_and_log_mean_exp`.

    The forward keeps the log-softmax over each matrix's off-diagonal entries (-inf on the
    diagonal), whose exponential is the gradient of log E_q[e^f]; the backward writes the
    whole gradient, off-diagonal weights and the diagonal's 1/K, in one pass over it.
    """

    @staticmethod
    def forward(ctx, scores):
        k = scores.shape[-1]
        off = scores.clone(memory_format=torch.contiguous_format)
        _diagonal(off).fill_(-math.inf)  # e^f = 0 there: the sums run over the off-diagonal
        flat = off.flatten(-2)
        log_weights = torch.log_softmax(flat, dim=-1)
        # log sum e^f, read where the weight is largest: at the maximum f_m the log-softmax is
        # -log sum e^(f - f_m) without any cancellation, so this is logsumexp to rounding.
        log_sum_exp = flat.amax(-1) - log_weights.amax(-1)
        # The diagonal's -inf made way for the sums; the backward overwrites the diagonal, and a
        # finite value there spares the exponential its slow path for -inf.
        _diagonal(log_weights.unflatten(-1, (k, k))).fill_(0.0)
        ctx.save_for_backward(log_weights)
        return joint_mean(scores), log_sum_exp - math.log(k * (k - 1))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_joint, grad_log_mean_exp):
        log_weights = _consume_saved(ctx)
        k = math.isqrt(log_weights.shape[-1])
        gradient = _scaled_exp_(log_weights, grad_log_mean_exp.unsqueeze(-1)).unflatten(-1, (k, k))
        _diagonal(gradient).copy_((grad_joint / k).unsqueeze(-1))
        return gradient


def joint_and_log_mean_exp(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """E_p(x,y)[f] and log E_p(x)p(y)[e^f] (over the off-diagonal scores, without overflow),
    the two terms of DV, NWJ and MINE, from one pass over each matrix."""
    return _JointAndLogMeanExp.apply(scores)


def log_mean_exp_marginal(scores: torch.Tensor) -> torch.Tensor:
    """log E_p(x)p(y)[e^f], over the off-diagonal scores, computed without overflow."""
    return joint_and_log_mean_exp(scores)[1]


def _dv(joint: torch.Tensor, log_mean_exp: torch.Tensor) -> torch.Tensor:
    return joint - log_mean_exp


def _mine_surrogate(joint: torch.Tensor, log_mean_exp: torch.Tensor,
                    log_moving_average: torch.Tensor) -> torch.Tensor:
    return joint - torch.exp(log_mean_exp - log_moving_average.detach())


def dv_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan: I >= E_p[f] - log E_q[e^f] (P, eq. 7; q = p(x) p(y))."""
    return _dv(*joint_and_log_mean_exp(scores))


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """Nguyen-Wainwright-Jordan, f-GAN KL: I >= E_p[f] - e^-1 E_q[e^f] (P, eq. 9)."""
    joint, log_mean_exp = joint_and_log_mean_exp(scores)
    return joint - torch.exp(log_mean_exp - 1.0)


class _InfoNCE(torch.autograd.Function):
    """The InfoNCE bound of each score matrix; see :func:`infonce_bound`. The forward keeps the
    row-wise log-softmax; the gradient, (1[i = j] - softmax_ij) / K, is one pass over it."""

    @staticmethod
    def forward(ctx, scores):
        log_softmax = torch.log_softmax(scores, dim=-1)
        ctx.save_for_backward(log_softmax)
        return _diagonal(log_softmax).mean(-1) + math.log(scores.shape[-1])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        log_softmax = _consume_saved(ctx)
        per_row = (grad / log_softmax.shape[-1]).unsqueeze(-1)
        gradient = _scaled_exp_(log_softmax, -per_row.unsqueeze(-1))
        _diagonal(gradient).add_(per_row)
        return gradient


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE: I >= E[1/K sum_i log(e^f(x_i,y_i) / (1/K sum_j e^f(x_i,y_j)))] (P, eq. 12).

    The positive pair is one of the K terms of its own denominator, so the bound never exceeds
    log K, whatever the critic: it saturates at log(batch size) when I(X; Y) is larger.
    """
    return _InfoNCE.apply(scores)


#: JS's softplus terms are computed from max(f, -20) (see _JensenShannon.forward).
_SOFTPLUS_FLOOR = -20.0


class _JensenShannon(torch.autograd.Function):
    """The JS objective of each score matrix; see :func:`js_bound`. One softplus pass forward,
    one sigmoid pass backward: d/df_ij is sigmoid(-f_ii) / K on the diagonal and
    -sigmoid(f_ij) / (K (K - 1)) off it."""

    @staticmethod
    def forward(ctx, scores):
        k = scores.shape[-1]
        diagonal = _diagonal(scores)
        # softplus(f) = log1p(e^f) takes a slow path in float32 for some f far below 0 (2.7-6.1
        # ms on ten 256 x 256 matrices at -30, -50 or -100 against 0.55 at -20); raised to -20,
        # each such term moves by less than softplus(-20) = 2.1e-9, and their mean as much.
        low = float(scores.amin()) < _SOFTPLUS_FLOOR
        softplus = F.softplus(scores.clamp(min=_SOFTPLUS_FLOOR) if low else scores)
        # Every entry is >= 0, so the off-diagonal sum as the whole sum less the diagonal loses
        # nothing to cancellation that matters: its error is a rounding of the whole sum.
        off_sum = softplus.sum((-2, -1)) - _diagonal(softplus).sum(-1)
        ctx.save_for_backward(scores)
        return -F.softplus(-diagonal).mean(-1) - off_sum / (k * (k - 1))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (scores,) = ctx.saved_tensors
        k = scores.shape[-1]
        grad = grad.unsqueeze(-1)
        scale = grad.unsqueeze(-1) / -(k * (k - 1))
        # sigmoid(f) < e^f: the entries that _scaled_exp_ raises are raised here too. The scores
        # are the caller's tensor, which other nodes of its graph may have saved (SMILE's
        # clipping does): floored in a copy.
        gradient = _floor_negligible_(scores.clone(), scale).sigmoid_().mul_(scale)
        _diagonal(gradient).copy_(torch.sigmoid(-_diagonal(scores)) * grad / k)
        return gradient


def js_bound(scores: torch.Tensor) -> torch.Tensor:
    """The f-GAN Jensen-Shannon objective -E_p[softplus(-f)] - E_q[softplus(f)] (S, sec. 4).

    Not a bound on I(X; Y) itself; its maximiser is the log density ratio
    f* = log p(x, y) / (p(x) p(y)), which is what SMILE trains its critic with.
    """
    return _JensenShannon.apply(scores)


#: Up to this clipping threshold SMILE sums e^clip(f) directly: e^30 = 1.1e13 times the
#: K (K - 1) terms of any batch that fits in memory stays far below float32's largest number
#: (3.4e38), and e^-30 far above its smallest normal one (no slow denormal arithmetic).
_DIRECT_SUM_TAU = 30.0


def smile_bound(scores: torch.Tensor, tau: float) -> torch.Tensor:
    """SMILE: E_p[f] - log E_q[e^clip(f, -tau, tau)] (S, eq. 17).

    Clipping the partition term trades a bias for a variance that no longer grows like
    e^I(X;Y); tau = inf gives back Donsker-Varadhan.
    """
    clipped = scores.clamp(-tau, tau)
    if tau > _DIRECT_SUM_TAU:
        return joint_mean(scores) - log_mean_exp_marginal(clipped)
    # Every e^clip(f) lies in [e^-tau, e^tau], so the sum needs no shift by its maximum: two
    # passes (exp, sum) instead of the log-softmax's, on a stack as on one matrix.
    k = scores.shape[-1]
    _diagonal(clipped).fill_(-math.inf)  # e^-inf = 0: the sum runs over the off-diagonal
    log_mean_exp = torch.log(torch.exp(clipped).sum((-2, -1))) - math.log(k * (k - 1))
    return joint_mean(scores) - log_mean_exp


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
    return _mine_surrogate(*joint_and_log_mean_exp(scores), log_moving_average)


def mine_objective(scores: torch.Tensor, log_moving_average: torch.Tensor | None,
                   rate: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One training step's worth of MINE from one pass over the scores: the moving average
    updated with this batch's log E_q[e^f] (:func:`update_log_moving_average`), then
    (:func:`mine_surrogate` with that average, :func:`dv_bound`, the updated average)."""
    joint, log_mean_exp = joint_and_log_mean_exp(scores)
    average = update_log_moving_average(log_moving_average, log_mean_exp.detach(), rate)
    return _mine_surrogate(joint, log_mean_exp, average), _dv(joint, log_mean_exp), average


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
