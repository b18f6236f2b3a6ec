"""Kolchinsky-Tracey pairwise-distance bounds on the entropy of a Gaussian mixture, and the MI
estimator of a noisy layer built on them (Saxe et al., ICLR 2018; Kolchinsky, Tracey & Wolpert,
"Nonlinear Information Bottleneck").

Kolchinsky & Tracey, "Estimating mixture entropy with pairwise distances", Entropy 19 (2017):
for a mixture sum_i w_i p_i and any pairwise distance D between components,

    H_D = sum_i w_i H(p_i) - sum_i w_i log sum_j w_j exp(-D(p_i || p_j))

is an upper bound on the mixture's entropy with D the KL divergence, and a lower bound with D
the Bhattacharyya distance. For equal isotropic components N(c_i, s^2 I) in d dimensions,
H(p_i) = d/2 log(2 pi e s^2), KL = |c_i - c_j|^2 / (2 s^2) and Bhattacharyya
= |c_i - c_j|^2 / (8 s^2). Both bounds lie between sum_i w_i H(p_i) and that plus H(w), and are
exact when all centres coincide or when the components are far apart.
"""

from __future__ import annotations

import math

import numpy as np

from mibench.core.closed_form import isotropic_gaussian_entropy
from mibench.core.contracts import NOISY_CHANNEL, Estimate, Estimator, NoisyChannel
from mibench.core.gaussian_mixture import gaussian_mixture_log_density
from mibench.core.validation import InputError, as_sample_matrix, check_choice, check_positive
from mibench.estimators.discrete import encode_rows
from mibench.estimators.registry import register

__all__ = ["KDEPairwise", "pairwise_mixture_entropy_bounds"]

def _check_weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if weights.shape != (n,):
        raise InputError(f"weights must hold one weight per centre ({n}), got {weights.size}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise InputError("weights must be finite and non-negative")
    if not math.isclose(weights.sum(), 1.0, rel_tol=0, abs_tol=1e-9):
        raise InputError(f"weights must sum to 1, got a sum of {weights.sum()!r}")
    return weights


def pairwise_mixture_entropy_bounds(
    centres, variance: float, weights=None
) -> tuple[float, float]:
    """Lower and upper bounds, in nats, on the entropy of sum_i w_i N(c_i, variance I).

    The lower bound uses the Bhattacharyya distance, the upper bound the KL divergence
    (Kolchinsky & Tracey 2017). Computed as two Gaussian-mixture log densities at the centres,
    in blocks of rows: memory O(block * n), time O(n^2 d).

    Parameters
    ----------
    centres : array-like of shape (n, d) or (n,)
        The components' means.
    variance : float
        The components' common variance s^2 per dimension (> 0).
    weights : array-like of shape (n,), optional
        Mixture weights, non-negative and summing to 1; uniform by default.

    Returns
    -------
    (lower, upper) : tuple of float
    """
    centres = as_sample_matrix(centres, "centres")
    variance = check_positive(variance, "variance")
    n, dim = centres.shape
    weights = _check_weights(weights, n)
    present = weights > 0  # zero weights are components that are not there
    centres, weights = centres[present], weights[present]
    # Minus the KL divergence, -|c_i - c_j|^2 / (2 s^2), and minus the Bhattacharyya distance,
    # -|c_i - c_j|^2 / (8 s^2) = -|c_i - c_j|^2 / (2 (2 s)^2): log sum_j w_j exp(each) is the log
    # density at c_i of the mixture of N(c_j, r^2 I) (r = s, then 2 s) without its normaliser,
    # computed blocked on the process's threads by core.gaussian_mixture.
    def log_kernel_sums(scale: float) -> np.ndarray:
        density = gaussian_mixture_log_density(centres, centres, scale, weights)
        return density + 0.5 * dim * math.log(2 * math.pi * scale**2)

    scale = math.sqrt(variance)
    upper_terms = log_kernel_sums(scale)
    lower_terms = log_kernel_sums(2 * scale)
    component_entropy = isotropic_gaussian_entropy(dim, variance)
    return (
        component_entropy - float(np.dot(weights, lower_terms)),
        component_entropy - float(np.dot(weights, upper_terms)),
    )


@register("kde-pairwise")
class KDEPairwise(Estimator):
    """MI of a noisy layer T = y + N(0, s^2 I), by the Kolchinsky-Tracey mixture-entropy bounds.

    This is the "KDE" estimator of Saxe et al. 2018 (and Kolchinsky et al.'s Nonlinear IB).
    The rows of y (the layer's activations) are the centres of a Gaussian mixture, each sample
    weighted 1/n: the distribution of T when the input is drawn uniformly from the samples.

    - ``target="input"``: I(X; T) = H(T) - H(T | X) with H(T | X) = h(noise)
      = d/2 log(2 pi e s^2). x is not read beyond its length: it assumes y is a deterministic
      function of x and that the samples are the input distribution. With the upper (KL)
      bound on H(T) this is an upper bound on I(X; T), with the lower (Bhattacharyya) bound a
      lower bound.
    - ``target="label"``: x holds discrete labels (each distinct row one class) and
      I(Y; T) = H(T) - sum_c p(c) H(T | c), each H(T | c) the bound on the mixture of the
      class's centres. The same bound is used in both terms, as Saxe et al. did, so the result
      is an estimate, not a bound, of I(Y; T).

    Its resolution parameter is the noise variance s^2, which decides the answer on a
    deterministic network: the MI of the noisy layer is finite, between 0 and H(input)
    (log n here), and falls as s^2 grows; it measures the layer's geometry at scale s, not
    the (infinite or constant) MI of the deterministic layer. The two bounds meet when the
    centres are either merged or far apart (relative to s) and differ most in between.

    Its quantity is :data:`~mibench.core.contracts.NOISY_CHANNEL`: ``mibench.run`` runs it on the
    datasets that provide a noisy channel, with their clean activations, their noise variance
    and the right ``target`` (:meth:`for_channel`); on a deterministic layer, call it directly
    with the noise variance of your choice, as Saxe et al. did.

    Parameters
    ----------
    noise_variance : float, default 0.1
        Variance s^2 per dimension of the Gaussian noise added to the layer (Saxe et al. used
        0.1), in the units of y squared.
    bound : {"upper", "lower"}, default "upper"
        Pairwise distance in the mixture entropy: KL ("upper") or Bhattacharyya ("lower").
        Both values are returned in the extras.
    target : {"input", "label"}, default "input"
        Estimate I(X; T) for the network input X, or I(Y; T) for discrete labels given as x.
    """

    quantity = NOISY_CHANNEL

    def __init__(
        self,
        *,
        noise_variance: float = 0.1,
        bound: str = "upper",
        target: str = "input",
    ):
        self.noise_variance = check_positive(noise_variance, "noise_variance")
        self.bound = check_choice(bound, "bound", ("upper", "lower"))
        self.target = check_choice(target, "target", ("input", "label"))

    def min_samples(self) -> int:
        return 1

    def for_channel(self, channel: NoisyChannel) -> KDEPairwise:
        """Configured for a dataset's noisy layer: its noise variance, and ``target="label"``
        when x is the class label."""
        return self.with_params(
            noise_variance=channel.noise_std**2, target="label" if channel.x_is_label else "input"
        )

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        n, dim = y.shape
        lower, upper = pairwise_mixture_entropy_bounds(y, self.noise_variance)
        if self.target == "input":
            conditional = isotropic_gaussian_entropy(dim, self.noise_variance)
            conditional_lower = conditional_upper = conditional
        else:
            labels, n_classes = encode_rows(x)
            class_sizes = np.bincount(labels, minlength=n_classes)
            order = np.argsort(labels, kind="stable")
            conditional_lower = conditional_upper = 0.0
            for members, size in zip(
                np.split(order, np.cumsum(class_sizes)[:-1]), class_sizes, strict=True
            ):
                class_lower, class_upper = pairwise_mixture_entropy_bounds(
                    y[members], self.noise_variance
                )
                conditional_lower += size / n * class_lower
                conditional_upper += size / n * class_upper
        mi_lower = lower - conditional_lower
        mi_upper = upper - conditional_upper
        value = mi_upper if self.bound == "upper" else mi_lower
        return Estimate(
            value,
            {
                "lower": mi_lower,
                "upper": mi_upper,
                "entropy_lower": lower,
                "entropy_upper": upper,
            },
        )
