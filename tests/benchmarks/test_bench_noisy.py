"""Speed of noisy-sp beside the scikit-learn KDE formulation of Goldfeld et al.'s code.

Skipped by the default test command (``--benchmark-skip``); run with

    .venv/bin/pytest tests/benchmarks/test_bench_noisy.py --benchmark-only

Both compute I(X; T) = h(mixture of N(s_i, sigma^2 I)) - h(Z) for n = 4,096 centres in 10
dimensions with one Monte Carlo draw per centre: noisy-sp with blocked log-sum-exp kernels in
torch, the reference with ``KernelDensity(kernel="gaussian", bandwidth=sigma)
.fit(centres).score_samples(draws)``. Read the ratio of their means in the group. That the two
give the same value within the Monte Carlo error is asserted in a normal test
(tests/estimators/test_noisy_channel.py), not here.
"""

import numpy as np
import pytest
from sklearn.neighbors import KernelDensity

import mibench
from mibench.core.closed_form import isotropic_gaussian_entropy
from mibench.core.gaussian_mixture import draw_from_mixture

N, DIM, SIGMA = 4096, 10, 0.5


@pytest.fixture(scope="module")
def centres():
    return np.tanh(np.random.default_rng(11).normal(size=(N, DIM)))


def kde_formulation(centres, seed):
    draws, _ = draw_from_mixture(centres, SIGMA, 1, np.random.default_rng(seed))
    log_density = KernelDensity(kernel="gaussian", bandwidth=SIGMA).fit(centres).score_samples(draws)
    return -log_density.mean() - isotropic_gaussian_entropy(DIM, SIGMA**2)


@pytest.mark.benchmark(group="noisy channel n=4096 d=10")
def test_noisy_sp(benchmark, centres):
    estimator = mibench.get_estimator("noisy-sp", sigma=SIGMA, draws=1, seed=1)
    value = benchmark(estimator.estimate, np.arange(N), centres)
    assert 3.0 < value < 6.0


@pytest.mark.benchmark(group="noisy channel n=4096 d=10")
def test_sklearn_kernel_density(benchmark, centres):
    value = benchmark.pedantic(kde_formulation, args=(centres, 1), rounds=3, iterations=1)
    assert 3.0 < value < 6.0
