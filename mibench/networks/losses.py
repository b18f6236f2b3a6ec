"""The remedies' training costs, in torch, differentiable, written once (MI in nats).

- :func:`decision_rule_terms`: the exact I(X; Y_hat) and I(Y; Y_hat) of a softmax decision
  over a finite input (X uniform over the given rows, Y a function of X), and the decision-rule
  IB loss I(X; Y_hat) - beta I(Y; Y_hat) (Tishby's functional with the decision included);
- :func:`gaussian_kl_to_standard_normal`: the rate term of the variational information
  bottleneck (Alemi et al., ICLR 2017), KL(N(mu, diag sigma^2) || N(0, I)) per sample;
- :func:`pairwise_kl_information_bound`: the Kolchinsky-Tracey upper bound on I(X; T) for
  T = f(X) + N(0, s^2 I) over a batch of inputs, the compression penalty of the nonlinear
  information bottleneck (Kolchinsky, Tracey & Wolpert, Entropy 2019), and
  :func:`pairwise_mixture_entropy_bounds_torch`, the two mixture-entropy bounds it rests on.

Each is tested against an independent computation (tests/networks/test_losses.py): a direct
sum over the joint law, torch's closed-form KL of two Gaussians, and the numpy
``kde-pairwise`` estimator on the same points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mibench.core.validation import InputError

__all__ = [
    "DecisionTerms",
    "decision_rule_loss",
    "decision_rule_terms",
    "gaussian_kl_to_standard_normal",
    "pairwise_kl_information_bound",
    "pairwise_mixture_entropy_bounds_torch",
]


@dataclass(frozen=True)
class DecisionTerms:
    """The information terms of a stochastic decision over a finite input, in nats (tensors).

    Attributes
    ----------
    entropy_decision : H(Y_hat)
    conditional_entropy_given_input : H(Y_hat | X)
    conditional_entropy_given_label : H(Y_hat | Y)
    input_information : I(X; Y_hat) = H(Y_hat) - H(Y_hat | X)
    label_information : I(Y; Y_hat) = H(Y_hat) - H(Y_hat | Y)
    """

    entropy_decision: torch.Tensor
    conditional_entropy_given_input: torch.Tensor
    conditional_entropy_given_label: torch.Tensor
    input_information: torch.Tensor
    label_information: torch.Tensor

    def loss(self, beta: float) -> torch.Tensor:
        """I(X; Y_hat) - beta I(Y; Y_hat), in nats."""
        return self.input_information - beta * self.label_information


def _entropy(probabilities: torch.Tensor, dim: int = -1) -> torch.Tensor:
    # xlogy: 0 log 0 = 0 with a finite gradient where the probability is positive.
    return -torch.special.xlogy(probabilities, probabilities).sum(dim=dim)


def decision_rule_terms(logits: torch.Tensor, labels: torch.Tensor, n_labels: int) -> DecisionTerms:
    """The exact information terms of the softmax decision q(y_hat | x) = softmax(logits[x]).

    X is uniform over the m rows (a finite input set, every row one equally likely input; the
    caller passes the whole set, not a mini-batch: the terms are not sums over inputs), Y is
    the label of each row, and Y_hat is drawn from q(. | x). Then
    p(y_hat) = mean_x q(y_hat | x), p(y, y_hat) = (1/m) sum_{x: y(x) = y} q(y_hat | x), and

        H(Y_hat | X) = mean_x H(q(. | x)),   H(Y_hat | Y) = sum_y p(y) H(p(. | y)).

    Parameters
    ----------
    logits : tensor of shape (m, k)
        The decision's logits for each input (k possible decisions).
    labels : integer tensor of shape (m,)
        The label of each input, in 0 ... n_labels - 1.
    n_labels : int
        Number of label values.

    Returns
    -------
    DecisionTerms
        Differentiable in ``logits``.
    """
    if logits.ndim != 2 or labels.ndim != 1 or labels.shape[0] != logits.shape[0]:
        raise InputError(
            f"logits must be (m, k) and labels (m,); got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )
    if labels.numel() == 0:
        raise InputError("the finite input set is empty")
    if int(labels.min()) < 0 or int(labels.max()) >= n_labels:
        raise InputError(f"labels must lie in 0 ... {n_labels - 1}")
    m = logits.shape[0]
    q = torch.softmax(logits, dim=1)
    decision = q.mean(dim=0)
    entropy_decision = _entropy(decision)
    given_input = _entropy(q).mean()
    # joint[y, y_hat] = p(y, y_hat)
    joint = torch.zeros(n_labels, q.shape[1], dtype=q.dtype).index_add(0, labels, q) / m
    label_mass = joint.sum(dim=1)
    present = label_mass > 0
    conditional = joint[present] / label_mass[present, None]
    given_label = (label_mass[present] * _entropy(conditional)).sum()
    return DecisionTerms(
        entropy_decision=entropy_decision,
        conditional_entropy_given_input=given_input,
        conditional_entropy_given_label=given_label,
        input_information=entropy_decision - given_input,
        label_information=entropy_decision - given_label,
    )


def decision_rule_loss(
    logits: torch.Tensor, labels: torch.Tensor, n_labels: int, beta: float
) -> torch.Tensor:
    """I(X; Y_hat) - beta I(Y; Y_hat) of the softmax decision over a finite input, in nats.

    Equal to (1 - beta) H(Y_hat) - H(Y_hat | X) + beta H(Y_hat | Y). Since Y is a function
    of X, I(Y; Y_hat) <= I(X; Y_hat): for beta < 1 the loss is >= 0 with its minimum 0 at any
    Y_hat independent of X; for beta > 1 its minimum (1 - beta) H(Y) is a decision that is a
    one-to-one function of Y. See :func:`decision_rule_terms` for the arguments.
    """
    return decision_rule_terms(logits, labels, n_labels).loss(beta)


def gaussian_kl_to_standard_normal(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag exp(log_variance)) || N(0, I)) of each row, in nats: the VIB rate term.

    0.5 sum_j (mean_j^2 + var_j - log var_j - 1); its average over the inputs is an upper
    bound on I(X; Z) for the encoder Z | X (Alemi et al. 2017).

    Parameters
    ----------
    mean, log_variance : tensors of shape (n, d)

    Returns
    -------
    tensor of shape (n,)
    """
    if mean.shape != log_variance.shape:
        raise InputError(
            f"mean and log_variance must have the same shape; got {tuple(mean.shape)} and "
            f"{tuple(log_variance.shape)}"
        )
    return 0.5 * (mean.square() + log_variance.exp() - log_variance - 1.0).sum(dim=-1)


def pairwise_mixture_entropy_bounds_torch(
    centres: torch.Tensor, variance: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kolchinsky-Tracey bounds on h(sum_i (1/n) N(c_i, variance I)), in nats, differentiable.

    Lower bound with the Bhattacharyya distance |c_i - c_j|^2 / (8 s^2), upper with the KL
    divergence |c_i - c_j|^2 / (2 s^2):

        H_D = d/2 log(2 pi e s^2) - mean_i log mean_j exp(-D_ij).

    The torch twin of :func:`mibench.estimators.kde_pairwise.pairwise_mixture_entropy_bounds`
    (equal weights; the full n x n matrix, for the batches of training).

    Parameters
    ----------
    centres : tensor of shape (n, d)
    variance : float
        s^2 per dimension (> 0), in the units of the centres squared.

    Returns
    -------
    (lower, upper) : scalar tensors
    """
    if centres.ndim != 2 or centres.shape[0] == 0:
        raise InputError(f"centres must be a non-empty (n, d) tensor; got {tuple(centres.shape)}")
    if not (variance > 0 and math.isfinite(variance)):
        raise InputError(f"variance must be positive and finite; got {variance!r}")
    n, dim = centres.shape
    # Squared distances from the Gram matrix: differentiable at i = j (cdist's sqrt is not).
    squares = centres.square().sum(dim=1)
    squared = (squares[:, None] + squares[None, :] - 2.0 * centres @ centres.T).clamp_min(0.0)
    component = 0.5 * dim * math.log(2 * math.pi * math.e * variance)
    log_n = math.log(n)

    def bound(scale: float) -> torch.Tensor:
        return component - (torch.logsumexp(-squared / scale, dim=1) - log_n).mean()

    return bound(8.0 * variance), bound(2.0 * variance)


def pairwise_kl_information_bound(centres: torch.Tensor, variance: float) -> torch.Tensor:
    """Kolchinsky-Tracey upper bound on I(X; T), T = f(X) + N(0, s^2 I), X uniform on a batch.

    I(X; T) = h(T) - h(T | X) <= H_KL - d/2 log(2 pi e s^2) = -mean_i log mean_j
    exp(-|c_i - c_j|^2 / (2 s^2)), with c_i = f(x_i): the compression term of the nonlinear
    information bottleneck. Between 0 (all centres equal) and log n (all far apart).

    Parameters
    ----------
    centres : tensor of shape (n, d)
        f(x_i) for the n inputs of the batch.
    variance : float
        s^2, the noise variance per dimension.

    Returns
    -------
    scalar tensor, nats
    """
    _, upper = pairwise_mixture_entropy_bounds_torch(centres, variance)
    return upper - 0.5 * centres.shape[1] * math.log(2 * math.pi * math.e * variance)
