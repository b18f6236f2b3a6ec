"""Equal-weight Gaussian mixtures with a common isotropic scale, by Monte Carlo, in nats.

For centres s_1, ..., s_n in R^d and a noise scale sigma, the mixture is

    p(t) = 1/n sum_i N(t; s_i, sigma^2 I),

the law of T = S + Z when S is uniform over the centres and Z ~ N(0, sigma^2 I). Its entropy

    h(p) = -E_{t ~ p} log p(t)

has no closed form; it is estimated by drawing t from the mixture (``draws`` points around
every centre, a stratified sample) and averaging -log p(t). log p(t) is evaluated exactly, with
a log-sum-exp over all centres, in blocks of draws so that memory stays O(block * n).

The mutual information of the noisy channel, with the centres grouped by a discrete variable G
(an input, a class label), is

    I(G; T) = h(T) - sum_g p(g) h(T | G = g) = E[log p(t | g) - log p(t)],

where p(t | g) is the mixture over the centres of group g and p(g) the group's share of the
centres. Both entropies are computed from the same draws, so their Monte Carlo errors largely
cancel; see :func:`noisy_channel_mutual_information`.

These are the sample-propagation quantities of Goldfeld et al., "Estimating Information Flow in
Deep Neural Networks", ICML 2019. The kernels run in torch (imported on first use), in
float64, on the process's threads (:func:`mibench.core.threads.process_threads`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mibench.core.pairwise import row_blocks
from mibench.core.threads import process_threads, torch_threads
from mibench.core.validation import InputError

if TYPE_CHECKING:
    import torch

__all__ = [
    "MAX_KERNEL_EVALUATIONS",
    "TARGET_STDERR",
    "AutoMonteCarloValue",
    "MonteCarloValue",
    "draw_from_mixture",
    "gaussian_mixture_entropy",
    "gaussian_mixture_log_density",
    "noisy_channel_mutual_information",
    "noisy_channel_mutual_information_to_precision",
]

class MonteCarloValue(NamedTuple):
    """A Monte Carlo estimate (nats) and its standard error (nats)."""

    value: float
    stderr: float


def draw_from_mixture(
    centres: np.ndarray, sigma: float, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``draws`` points around every centre: t = s_i + sigma z, z ~ N(0, I).

    Returns
    -------
    points : ndarray of float64, shape (n * draws, d)
        Centre-major: rows i * draws ... (i + 1) * draws - 1 belong to centre i.
    z : ndarray of float64, shape (n * draws, d)
        The standard normal offsets, for callers that need |t - s_i| exactly.
    """
    n, dim = centres.shape
    z = rng.standard_normal((n * draws, dim))
    return np.repeat(centres, draws, axis=0) + sigma * z, z


def _log_kernel_sums(
    points: torch.Tensor, centres: torch.Tensor, sigma: float, log_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """log sum_i w_i exp(-|t - s_i|^2 / (2 sigma^2)) for every row t of ``points``, blocked
    (w_i = 1 without ``log_weights``).

    -|t - s|^2 / (2 sigma^2) = -|t|^2 / (2 sigma^2) + (t.s - |s|^2 / 2) / sigma^2: the first
    term leaves the sum over i, and the second is one fused matrix product plus a bias, so
    each block (rows from :func:`mibench.core.pairwise.row_blocks`) costs a product and a
    log-sum-exp, with no (block, n, d) difference array.
    """
    import torch

    n = centres.shape[0]
    scaled_centres = (centres / sigma**2).T.contiguous()
    bias = -0.5 * (centres * centres).sum(dim=1) / sigma**2
    if log_weights is not None:
        bias = bias + log_weights
    row_terms = -0.5 * (points * points).sum(dim=1) / sigma**2
    out = torch.empty(points.shape[0], dtype=torch.float64)
    for rows in row_blocks(points.shape[0], n):
        exponents = torch.addmm(bias, points[rows], scaled_centres)
        largest = exponents.amax(dim=1, keepdim=True)
        # Far centres give exponents far below -700, where exp() leaves its fast vectorised
        # path (torch.logsumexp took 3 times as long); flooring them at -80 adds at most
        # n e^-80 < 1e-28 (relative) to the sum.
        terms = exponents.sub_(largest).clamp_(min=-80.0).exp_()
        out[rows] = terms.sum(dim=1).log_() + largest[:, 0]
    return out + row_terms


def gaussian_mixture_log_density(points, centres, sigma: float, weights=None) -> np.ndarray:
    """log p(t) of the mixture 1/n sum_i N(s_i, sigma^2 I) at each point, in nats.

    Parameters
    ----------
    points : array-like of shape (m, d)
    centres : array-like of shape (n, d)
    sigma : float
        The common standard deviation of the components (same units as the points).
    weights : array-like of shape (n,), optional
        Mixture weights w_i >= 0 summing to 1: p(t) = sum_i w_i N(t; s_i, sigma^2 I). Without
        them every centre weighs 1/n.

    Returns
    -------
    ndarray of float64, shape (m,)
    """
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    n, dim = centres.shape
    import torch  # here, so that importing mibench does not import torch

    log_weights, normaliser = None, math.log(n)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (n,) or not np.all(weights >= 0) or not np.isclose(weights.sum(), 1):
            raise InputError(
                f"weights must be {n} non-negative numbers summing to 1 (one per centre), got "
                f"shape {weights.shape} summing to {weights.sum():.6g}"
            )
        with np.errstate(divide="ignore"):
            log_weights, normaliser = torch.from_numpy(np.log(weights)), 0.0
    # Centring changes no distance but keeps the Gram-matrix expansion accurate far from 0.
    shift = centres.mean(axis=0)
    # The process's threads (its cores alone; one in a parallel grid's worker, whose
    # MIBENCH_THREADS says so): the blocks' products and exponentials are large enough to split,
    # 1.9 times faster on two cores than on one (2026-12-04, 400 points x 600,000 centres), and
    # each row's sum is the same whichever thread computes it.
    with torch_threads(process_threads()):
        sums = _log_kernel_sums(
            torch.from_numpy(points - shift), torch.from_numpy(centres - shift), sigma, log_weights
        ).numpy()
    return sums - normaliser - 0.5 * dim * math.log(2 * math.pi * sigma**2)


def gaussian_mixture_entropy(
    centres, sigma: float, *, draws: int = 1, rng: np.random.Generator
) -> MonteCarloValue:
    """h(p) = -E log p(t) of the mixture 1/n sum_i N(s_i, sigma^2 I), by Monte Carlo.

    Parameters
    ----------
    centres : array-like of shape (n, d)
    sigma : float
        Standard deviation of every component.
    draws : int, default 1
        Points drawn around each centre (n * draws in all).
    rng : numpy.random.Generator

    Returns
    -------
    MonteCarloValue
        The entropy in nats and its standard error. The error is computed as for independent
        draws; the stratified sample (equal draws per centre) is at least that accurate.
    """
    centres = np.asarray(centres, dtype=np.float64)
    points, _ = draw_from_mixture(centres, sigma, draws, rng)
    log_p = gaussian_mixture_log_density(points, centres, sigma)
    return MonteCarloValue(float(-log_p.mean()), _stderr(log_p))


def _stderr(values: np.ndarray) -> float:
    if values.size < 2:
        return math.inf
    return float(values.std(ddof=1) / math.sqrt(values.size))


def _group_slices(labels: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices sorted by group, and the end of each group's run in that order."""
    return np.argsort(labels, kind="stable"), np.cumsum(np.bincount(labels, minlength=n_groups))


#: The standard error ``draws="auto"`` aims at, in nats.
TARGET_STDERR = 0.003
#: The most kernel evaluations (Monte Carlo points times centres) ``draws="auto"`` spends:
#: about 5 to 10 s on one core for low-dimensional layers (about 6 ns an evaluation).
MAX_KERNEL_EVALUATIONS = 10**9
# Monte Carlo points of the pilot run that measures the spread of the information density.
_PILOT_POINTS = 2000


class AutoMonteCarloValue(NamedTuple):
    """A Monte Carlo estimate (nats), its standard error (nats), and how it was reached."""

    value: float
    stderr: float
    points: int
    target_reached: bool


def noisy_channel_mutual_information(
    groups,
    centres,
    sigma: float,
    *,
    draws: int = 1,
    rng: np.random.Generator,
    subsample: int | None = None,
) -> MonteCarloValue:
    """I(G; T) for T = S + Z, Z ~ N(0, sigma^2 I), with (G, S) uniform over the given pairs.

    With p(t) the mixture over all centres and p(t | g) the mixture over the centres of group
    g, the draws t (``draws`` around each centre s_i, which belongs to group g_i) give

        I = mean over draws of D = log p(t | g_i) - log p(t).

    The Monte Carlo error is reduced with a control variate of known mean:
    V = log N(t; s_i, sigma^2 I) + h(Z) = d/2 - |z|^2 / 2 has E[V] = 0 exactly, and the
    estimate is mean(D - c V) with c the least-squares coefficient of D on V. For groups of one
    centre (continuous inputs, deterministic layers), c = 1 turns the estimate into the
    textbook h(mixture) - h(Z); c = 0 is the plain information density; the regression picks
    whichever mixture of the two varies least.

    Parameters
    ----------
    groups : array-like of shape (n,)
        Integer group of each centre (use ``np.unique(..., return_inverse=True)`` on inputs
        or labels).
    centres : array-like of shape (n, d)
        The clean values S.
    sigma : float
        Noise standard deviation.
    draws : int, default 1
        Noise draws per centre.
    rng : numpy.random.Generator
    subsample : int, optional
        Draw around only this many centres, chosen uniformly without replacement, instead of
        around all of them: still unbiased, and cheaper when there are far more centres than
        Monte Carlo points are needed (the density is still evaluated over every centre).

    Returns
    -------
    MonteCarloValue
        I(G; T) in nats and its Monte Carlo standard error (computed as for independent
        draws, which overstates the error of the stratified sample). The error covers the
        draws only: the centres are taken as given.
    """
    channel = _Channel(groups, centres, sigma)
    return _combine([channel.density_and_control(draws, rng, subsample)])


def noisy_channel_mutual_information_to_precision(
    groups,
    centres,
    sigma: float,
    *,
    rng: np.random.Generator,
    target_stderr: float = TARGET_STDERR,
    max_kernel_evaluations: int = MAX_KERNEL_EVALUATIONS,
) -> AutoMonteCarloValue:
    """I(G; T) as :func:`noisy_channel_mutual_information`, with as many draws as needed.

    A pilot of about 2,000 points measures the spread of the (control-variate adjusted)
    information density; the draws are then raised until the standard error is at most
    ``target_stderr`` nats, as long as the points times the centres (the kernel evaluations)
    stay within ``max_kernel_evaluations``. The pilot's points count in the final estimate.

    Returns
    -------
    AutoMonteCarloValue
        The estimate and its standard error (nats), the Monte Carlo points used, and whether
        the standard error reached the target within the budget.
    """
    channel = _Channel(groups, centres, sigma)
    n = channel.n
    most_points = max(1, max_kernel_evaluations // n)
    draws, subsample = _draws_for(min(_PILOT_POINTS, most_points), n, most_points)
    parts = [channel.density_and_control(draws, rng, subsample)]
    pilot = _combine(parts)
    used = parts[0][0].size
    spread = pilot.stderr * math.sqrt(used) if math.isfinite(pilot.stderr) else 0.0
    wanted = math.ceil((spread / target_stderr) ** 2 * 1.05)  # 5 % margin on the pilot's spread
    more = min(wanted, most_points) - used
    if more > 0:
        draws, subsample = _draws_for(more, n, most_points - used)
        parts.append(channel.density_and_control(draws, rng, subsample))
    result = _combine(parts)
    points = sum(part[0].size for part in parts)
    return AutoMonteCarloValue(
        result.value, result.stderr, points, bool(result.stderr <= target_stderr)
    )


def _draws_for(points: int, n: int, most: int) -> tuple[int, int | None]:
    """(draws per centre, centres to draw around) for about ``points`` <= ``most`` points.

    Whole draws around every centre keep the sample stratified; rounding up is allowed while
    the total stays within ``most``.
    """
    if points < n:
        return 1, points
    draws = math.ceil(points / n)
    return (draws if draws * n <= most else points // n), None


class _Channel:
    """The centres of a noisy channel, grouped, ready to give information densities."""

    def __init__(self, groups, centres, sigma: float):
        self.centres = np.asarray(centres, dtype=np.float64)
        groups = np.asarray(groups).reshape(-1)
        self.n, self.dim = self.centres.shape
        if groups.shape[0] != self.n:
            raise ValueError(f"got {groups.shape[0]} groups for {self.n} centres")
        self.sigma = sigma
        _, inverse, self.counts = np.unique(groups, return_inverse=True, return_counts=True)
        self.inverse = inverse.reshape(-1)
        self.centre_order, self.centre_ends = _group_slices(self.inverse, self.counts.size)

    def density_and_control(
        self, draws: int, rng: np.random.Generator, subsample: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """D = log p(t | g) - log p(t) and the control variate V at fresh draws t."""
        centres, sigma, dim, n = self.centres, self.sigma, self.dim, self.n
        chosen = np.arange(n)
        if subsample is not None and subsample < n:
            chosen = np.sort(rng.choice(n, size=subsample, replace=False))
        points, z = draw_from_mixture(centres[chosen], sigma, draws, rng)
        point_centres = np.repeat(chosen, draws)

        log_p = gaussian_mixture_log_density(points, centres, sigma)
        # log N(t; s_own, sigma^2 I): the group density wherever a group has one distinct centre.
        squared = (z * z).sum(axis=1)
        log_p_given_g = -0.5 * squared - 0.5 * dim * math.log(2 * math.pi * sigma**2)
        counts = self.counts
        point_order, point_ends = _group_slices(self.inverse[point_centres], counts.size)
        for g in np.flatnonzero(counts > 1):
            members = self.centre_order[self.centre_ends[g] - counts[g] : self.centre_ends[g]]
            rows = point_order[(point_ends[g - 1] if g else 0) : point_ends[g]]
            if rows.size and np.any(centres[members] != centres[members[0]]):
                log_p_given_g[rows] = gaussian_mixture_log_density(
                    points[rows], centres[members], sigma
                )
        return log_p_given_g - log_p, 0.5 * dim - 0.5 * squared


def _combine(parts: list[tuple[np.ndarray, np.ndarray]]) -> MonteCarloValue:
    """mean(D - c V) and its standard error, c the least-squares coefficient of D on V."""
    density = np.concatenate([part[0] for part in parts])
    control = np.concatenate([part[1] for part in parts])
    coefficient = 0.0
    if density.size > 2:
        control_centred = control - control.mean()
        coefficient = float(
            np.dot(density - density.mean(), control_centred) / np.dot(control_centred, control_centred)
        )
    adjusted = density - coefficient * control
    return MonteCarloValue(float(adjusted.mean()), _stderr(adjusted))
