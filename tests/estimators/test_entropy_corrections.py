"""Bias-corrected entropies (Miller-Madow, Grassberger, Chao-Shen, NSB) against exact values.

The exact entropies are sums of pmfs from scipy (a truncated Zipf law, a Poisson law), never
computed with the code under test. Published numbers: Grassberger's (2003) closed values and
recursion of G(n). No worked numeric example of Chao & Shen (2003) or of NSB was at hand, so
those are checked against hand-computed small cases and an independent quadrature instead.
"""

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from mibench.estimators.discrete import (
    ENTROPY_CORRECTIONS,
    entropy_from_counts,
    grassberger_g,
)

CORRECTED = ("miller-madow", "grassberger", "chao-shen", "nsb")


def zipf_law(size: int) -> np.ndarray:
    """p_i proportional to 1 / i on i = 1 .. size (scipy's truncated Zipf, exponent 1)."""
    return stats.zipfian.pmf(np.arange(1, size + 1), 1.0, size)


def exact_entropy(pmf: np.ndarray) -> float:
    pmf = pmf[pmf > 0]
    return float(-np.sum(pmf * np.log(pmf)))


def mean_bias(pmf, n, correction, replicates=40, seed=0, alphabet_size=None):
    """Mean over replicates of (estimate - exact entropy), nats, for n draws from pmf."""
    rng = np.random.default_rng(seed)
    truth = exact_entropy(pmf)
    draws = rng.multinomial(n, pmf / pmf.sum(), size=replicates)
    return float(np.mean([entropy_from_counts(c, correction, alphabet_size) - truth
                          for c in draws]))  # fmt: skip


def test_grassberger_g_follows_the_published_recursion():
    # Grassberger 2003, eq. 35: G_1 = -gamma - ln 2, G_2 = 2 - gamma - ln 2,
    # G_{2m+1} = G_{2m}, G_{2m+2} = G_{2m} + 2 / (2m + 1).
    expected = {1: -np.euler_gamma - math.log(2), 2: 2 - np.euler_gamma - math.log(2)}
    for m in range(1, 20):
        expected[2 * m + 1] = expected[2 * m]
        expected[2 * m + 2] = expected[2 * m] + 2 / (2 * m + 1)
    counts = np.arange(1, 41)
    assert grassberger_g(counts) == pytest.approx([expected[c] for c in counts], abs=1e-12)
    # G(n) - log n -> 0 (the corrected entropy tends to the plug-in for large counts).
    assert grassberger_g(np.array([10**6]))[0] == pytest.approx(math.log(10**6), abs=1e-5)


def test_hand_computed_small_cases():
    # Plug-in and Miller-Madow on counts (3, 1): p = (3/4, 1/4), m = 2, N = 4.
    plugin = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert entropy_from_counts([3, 1]) == pytest.approx(plugin, abs=1e-12)
    assert entropy_from_counts([3, 1], "miller-madow") == pytest.approx(plugin + 1 / 8, abs=1e-12)
    # Chao-Shen on (2, 2): no singletons, C = 1, p = 1/2: H = log 2 / (1 - (1/2)^4).
    assert entropy_from_counts([2, 2], "chao-shen") == pytest.approx(math.log(2) / (15 / 16))
    # Chao-Shen on four singletons: f_1 = N is taken as N - 1 = 3, so C = 1/4 and each
    # coverage-adjusted p = 1/16: H = -4 (1/16) log(1/16) / (1 - (15/16)^4).
    assert entropy_from_counts([1, 1, 1, 1], "chao-shen") == pytest.approx(
        -4 * (1 / 16) * math.log(1 / 16) / (1 - (15 / 16) ** 4)
    )
    # Grassberger on (3, 1): log 4 - (3 G(3) + G(1)) / 4 with G from the recursion.
    g1 = -np.euler_gamma - math.log(2)
    g3 = 2 - np.euler_gamma - math.log(2)
    assert entropy_from_counts([3, 1], "grassberger") == pytest.approx(
        math.log(4) - (3 * g3 + g1) / 4, abs=1e-12
    )
    # Zeros are unseen symbols, not symbols.
    for correction in ENTROPY_CORRECTIONS[:-1]:
        assert entropy_from_counts([3, 0, 1, 0], correction) == entropy_from_counts([3, 1], correction)


def _nsb_by_quadrature(counts, size):
    """NSB written out over beta with scipy's adaptive quadrature (an independent reference)."""
    counts = np.asarray(counts, dtype=float)
    n = counts.sum()
    full = np.concatenate([counts, np.zeros(size - counts.size)])

    def log_evidence(beta):
        kappa = size * beta
        return (special.gammaln(kappa) - special.gammaln(n + kappa)
                + np.sum(special.gammaln(full + beta) - special.gammaln(beta)))  # fmt: skip

    def prior(beta):  # d xi / d beta
        return size * special.polygamma(1, size * beta + 1) - special.polygamma(1, beta + 1)

    def posterior_mean(beta):
        kappa = size * beta
        return special.digamma(n + kappa + 1) - np.sum(
            (full + beta) / (n + kappa) * special.digamma(full + beta + 1)
        )

    peak = max(log_evidence(b) for b in np.logspace(-4, 3, 200))

    def weight(beta):
        return prior(beta) * math.exp(log_evidence(beta) - peak)

    norm = integrate.quad(weight, 0, np.inf, limit=500)[0]
    mean = integrate.quad(lambda b: weight(b) * posterior_mean(b), 0, np.inf, limit=500)[0]
    return mean / norm


@pytest.mark.parametrize(("counts", "size"), [([4, 2, 1], 5), ([1, 1, 2, 1, 3, 1], 20)])
def test_nsb_matches_an_independent_quadrature(counts, size):
    assert entropy_from_counts(counts, "nsb", size) == pytest.approx(
        _nsb_by_quadrature(counts, size), abs=2e-3
    )


def test_nsb_needs_the_alphabet_size():
    with pytest.raises(ValueError, match="number of possible symbols"):
        entropy_from_counts([2, 1], "nsb")
    with pytest.raises(ValueError, match="at least the 2 seen"):
        entropy_from_counts([2, 1], "nsb", alphabet_size=1)


def test_undersampled_zipf_every_correction_halves_the_plugin_bias_or_better():
    # 300 draws from a Zipf law on 1000 symbols (exact entropy 5.19 nats): the plug-in misses
    # by about -0.84 nats. Measured mean biases (40 replicates): Miller-Madow -0.60,
    # Grassberger -0.35, Chao-Shen -0.32, NSB -0.21.
    pmf = zipf_law(1000)
    plugin = mean_bias(pmf, 300, "none", alphabet_size=1000)
    assert plugin < -0.7
    bias = {c: mean_bias(pmf, 300, c, alphabet_size=1000) for c in CORRECTED}
    assert abs(bias["miller-madow"]) < 0.8 * abs(plugin)
    for correction in ("grassberger", "chao-shen", "nsb"):
        assert abs(bias[correction]) < 0.5 * abs(plugin), (correction, bias)
    # Negative control: the same check fails for the plug-in itself.
    assert not abs(plugin) < 0.5 * abs(plugin)


def test_undersampled_poisson_corrections_reduce_the_bias():
    # 20 draws from Poisson(30) (exact entropy by summing the pmf, 3.12 nats): about as many
    # draws as likely values. NSB is left out: the support is unbounded. Measured mean biases
    # (200 replicates): plug-in -0.67, Miller-Madow -0.38, Grassberger -0.12, Chao-Shen -0.03.
    support = np.arange(0, 200)
    pmf = stats.poisson.pmf(support, 30)
    plugin = mean_bias(pmf, 20, "none", replicates=200)
    assert plugin < -0.4
    for correction in ("miller-madow", "grassberger", "chao-shen"):
        bias = mean_bias(pmf, 20, correction, replicates=200)
        assert abs(bias) < 0.6 * abs(plugin), (correction, bias, plugin)


@pytest.mark.parametrize("correction", ENTROPY_CORRECTIONS)
def test_well_sampled_every_estimate_is_the_entropy(correction):
    # 20,000 draws from a Zipf law on 10 symbols: every estimator within 0.01 nats.
    pmf = zipf_law(10)
    assert abs(mean_bias(pmf, 20_000, correction, replicates=3, alphabet_size=10)) < 0.01


def test_nsb_is_stable_for_astronomical_alphabets():
    # 5,000 draws from 4,096 equally likely symbols, scored as if up to 1e32 symbols were
    # possible (30 bins on a 20-dimensional layer is 30^20 ~ 3.5e29): with ~2,000
    # coincidences the posterior is sharp, so the estimate hardly moves with K beyond 1e5.
    # (Written as gammaln differences, the evidence lost every digit at K beta ~ 1e25 and the
    # estimate came out near log K.)
    counts = np.bincount(np.random.default_rng(0).integers(0, 4096, size=5000))
    estimates = [entropy_from_counts(counts, "nsb", size) for size in (1e8, 1e17, 1e32)]
    assert max(estimates) - min(estimates) < 0.01
    assert abs(estimates[0] - math.log(4096)) < 0.35


def test_nsb_refuses_samples_without_a_coincidence():
    with pytest.raises(ValueError, match="needs repeated symbols"):
        entropy_from_counts(np.ones(50, dtype=int), "nsb", alphabet_size=1e6)
    # Control: one coincidence is enough to give a (rough) finite number.
    assert np.isfinite(entropy_from_counts(np.r_[2, np.ones(48, dtype=int)], "nsb", 1e6))
