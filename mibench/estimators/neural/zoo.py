"""The rest of the neural zoo: JS, TUBA and FLO (lower bounds), CLUB and L1Out (upper bounds)
and DoE (a difference of entropies).

They share the critic, the training loop and the held-out read-out of the other neural
estimators (:mod:`.training`); the bounds are pure torch functions in :mod:`.bounds` and the
models (a critic with a baseline or a dual variable, Gaussian densities) in :mod:`.critics`.
Like :mod:`.estimators`, this module does not import torch.

References: Poole, Ozair, van den Oord, Alemi & Tucker, "On Variational Bounds of Mutual
Information", ICML 2019 (JS read off with NWJ, TUBA, L1Out); Guo et al., "Tight Mutual
Information Estimation With Contrastive Fenchel-Legendre Optimization", NeurIPS 2022 (FLO);
Cheng et al., "CLUB: A Contrastive Log-ratio Upper Bound of Mutual Information", ICML 2020;
McAllester & Stratos, "Formal Limitations on the Measurement of Mutual Information",
AISTATS 2020 (DoE).
"""

from __future__ import annotations

import inspect
import re

from mibench.estimators.neural.estimators import (
    _PARAMETERS_DOC,
    NeuralEstimator,
    _document,
)
from mibench.estimators.registry import register

__all__ = ["CLUB", "DoE", "FLO", "JS", "L1Out", "TUBA"]


@register("js")
@_document()
class JS(NeuralEstimator):
    """Jensen-Shannon-trained critic, read off with the NWJ lower bound (Poole et al. 2019).

    The critic T maximises the f-GAN Jensen-Shannon objective
    -E_p[softplus(-T)] - E_q[softplus(T)] (q = p(x) p(y)), whose maximiser is the log density
    ratio log p(x, y) / (p(x) p(y)); the estimate is NWJ at f = T + 1,

        I >= E_p[T] + 1 - E_q[e^T],

    on held-out samples: a lower bound for any T. The JS objective trains with low variance;
    the read-out keeps NWJ's e^I(X;Y) variance. MI in nats.
    """

    bound = "js"
    bound_kind = "lower"


@register("tuba")
@_document()
class TUBA(NeuralEstimator):
    """TUBA, the unnormalised Barber-Agakov lower bound with a learned baseline (Poole 2019).

    Poole et al. 2019, eq. 8, with the baseline a(y) = e^b(y) learned.

        I >= E_p[f(x, y)] - E_q[e^(f(x, y) - b(y))] - E_p(y)[b(y)] + 1,

    q = p(x) p(y), with the critic f and the log baseline b(y) (an MLP of y with the widths
    ``hidden``) trained together on the bound; b = 1 gives NWJ. MI in nats, read off held-out
    samples.
    """

    bound = "tuba"
    bound_kind = "lower"


@register("flo")
@_document()
class FLO(NeuralEstimator):
    """FLO, the Fenchel-Legendre optimisation bound (Guo et al. 2022).

        I >= 1 - E_p(x,y)[ u(x, y) + e^-u(x, y) E_p(y')[ e^(g(x, y') - g(x, y)) ] ],

    with the critic g and the dual variable u (an MLP of the pair with the widths ``hidden``)
    trained together on the bound. At the optimal u, log E_p(y')[e^(g(x, y') - g(x, y))], it is
    the unbatched InfoNCE bound: contrastive, but not capped at log(batch size). The inner
    expectation is the mean over the other samples of a batch, an unbiased estimate. MI in
    nats, read off held-out samples.
    """

    bound = "flo"
    bound_kind = "lower"


# The densities of CLUB, L1Out and DoE have no critic: the parameters ``critic`` and
# ``embedding_dim`` are dropped, and two defaults change (see _DENSITY_DOC).
_DROPPED = ("critic", "embedding_dim")
_DENSITY_DEFAULTS = {"squash": False, "weight_decay": 0.0}

_DENSITY_DOC = re.sub(
    r"    (critic|embedding_dim) :.*?\n(?=    \w)", "", _PARAMETERS_DOC, flags=re.DOTALL
)
_DENSITY_DOC = (
    _DENSITY_DOC.replace("squash : bool, default True", "squash : bool, default False")
    .replace("weight_decay : float, default 1.0", "weight_decay : float, default 0.0")
    + """
    Notes
    -----
    ``hidden`` gives the widths of the MLPs of the mean and of the log-variance of q(y | x).
    ``squash`` defaults to False and ``weight_decay`` to 0 here: q is Gaussian, and the asinh
    squash would make a Gaussian conditional non-Gaussian, while weight decay pulls the
    log-variance towards 0 (variance 1), against the small conditional variances of a large
    MI. Early stopping keeps the weights with the best held-out log-likelihood, not the best
    bound, and the validation curve records that log-likelihood (nats per pair).
"""
)


def _density_signature() -> inspect.Signature:
    parameters = []
    for parameter in inspect.signature(NeuralEstimator.__init__).parameters.values():
        if parameter.name in _DROPPED:
            continue
        if parameter.name in _DENSITY_DEFAULTS:
            parameter = parameter.replace(default=_DENSITY_DEFAULTS[parameter.name])
        parameters.append(parameter)
    return inspect.Signature(parameters)


class _DensityEstimator(NeuralEstimator):
    """Base of the estimators built on a Gaussian q(y | x) fitted by maximum likelihood."""

    def __init__(self, **shared):
        unknown = set(shared) & set(_DROPPED)
        if unknown:
            # Caught by the registry first; this guards direct construction.
            raise TypeError(f"unexpected parameters {sorted(unknown)}")
        super().__init__(**{**_DENSITY_DEFAULTS, **shared})

    __init__.__signature__ = _density_signature()


def _document_density(cls):
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + _DENSITY_DOC
    return cls


@register("club")
@_document_density
class CLUB(_DensityEstimator):
    """CLUB, the contrastive log-ratio upper bound, with a learned Gaussian q(y | x) (Cheng 2020).

    q(y | x) = N(mu(x), diag sigma^2(x)), mu and log sigma^2 MLPs of x.

        I <~ E_p(x,y)[log q(y | x)] - E_p(x) E_p(y)[log q(y | x)],

    q fitted by maximum likelihood on the training part, the bound read off held-out batches
    (joint pairs against the other pairs of the batch). An upper bound when q is p(y | x) and
    whenever KL(p(x, y) || q) <= KL(p(x) p(y) || q) (Cheng et al., Theorem 3.2); a q that
    misses the true conditional (non-Gaussian noise, too few samples) can fall below the truth.
    MI in nats.
    """

    bound = "club"
    bound_kind = "upper"


@register("l1out")
@_document_density
class L1Out(_DensityEstimator):
    """L1Out, the leave-one-out upper bound with a learned Gaussian q(y | x) (Poole et al. 2019).

    Poole et al.'s eq. 19 with q(y | x) = N(mu(x), diag sigma^2(x)) in place of p(y | x), as
    in Cheng et al. 2020.

        I <= E[ 1/K sum_i log( q(y_i | x_i) / (1/(K-1) sum_{j != i} q(y_i | x_j)) ) ],

    over held-out batches of K = ``eval_batch_size`` pairs. With q = p(y | x) it is an upper
    bound (the positive pair is left out of its own denominator, so unlike InfoNCE it has no
    log K ceiling); with a fitted q it holds only as far as q fits: on a nearly deterministic
    relation q's tiny variances make it huge, on a non-Gaussian conditional it can fall below
    the truth. q is fitted by maximum likelihood. MI in nats.
    """

    bound = "l1out"
    bound_kind = "upper"


@register("doe")
@_document_density
class DoE(_DensityEstimator):
    """DoE, the difference-of-entropies estimator (McAllester & Stratos 2020).

        I ~ H_q(Y) - H_q(Y | X) = E_p[log q(y | x)] - E_p[log q(y)],

    with the cross-entropies of two learned Gaussians, q(y | x) = N(mu(x), diag sigma^2(x))
    and q(y) = N(m, diag s^2), both fitted by maximum likelihood on the training part and
    evaluated on held-out samples. Each cross-entropy is an upper bound on its entropy, so the
    difference bounds neither side: it is biased upward when q(y) fits worse than q(y | x)
    and downward in the opposite case. MI in nats.
    """

    bound = "doe"
    bound_kind = "none"
