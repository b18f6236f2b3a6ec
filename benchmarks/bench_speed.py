"""Time and peak memory of one estimate, for every estimator, on representative datasets.

Parameterised by estimator x dataset x n. The samples are drawn once per asv run
(``setup_cache``); the timed code is one call of ``estimate(x, y)``, input validation included,
as a user calls it.
"""

from . import _suite

_DATASETS = _suite.speed_datasets()


class Estimate:
    """One estimate from n paired samples of the named dataset (seed 0): of I(X; Y), or of
    I(X; S + Z) from the clean activations of a noisy layer for a noisy-channel estimator."""

    params = (_suite.or_placeholder(_suite.estimator_names()), _DATASETS, list(_suite.SPEED_SIZES))
    param_names = ("estimator", "dataset", "n")
    # A slow estimate (KSG in 50 dimensions at n = 10000: ~2.5 s) is repeated at most 3 times
    # per round; asv runs 2 rounds, in fresh processes.
    repeat = (1, 3, 5.0)
    timeout = 600

    def setup_cache(self):
        return _suite.sample((d, n) for d in _DATASETS for n in _suite.SPEED_SIZES)

    setup_cache.timeout = 1800

    def setup(self, samples, estimator, dataset, n):
        reason = _suite.skip_reason(estimator, dataset, n)
        if reason:
            raise NotImplementedError(reason)
        self.estimator = _suite.configured_for(_suite.make_estimator(estimator), dataset)
        quantity = getattr(self.estimator, "quantity", "I(X;Y)")
        self.x, self.y = samples[(dataset, n, quantity)]

    def time_estimate(self, samples, estimator, dataset, n):
        self.estimator.estimate(self.x, self.y)

    def peakmem_estimate(self, samples, estimator, dataset, n):
        self.estimator.estimate(self.x, self.y)


def _ksg_references():
    """tests/benchmarks/test_bench_ksg.py, where the references KSG is measured against live
    (the cKDTree KSG, bmi's KSG step by step), loaded from its file: the repository's tests are
    not a package asv installs."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tests" / "benchmarks" / "test_bench_ksg.py"
    if not path.exists():
        raise NotImplementedError(f"no {path}: the KSG references live there")
    spec = importlib.util.spec_from_file_location("_ksg_references", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class KSGRatio:
    """How many times faster ``ksg`` is than a reference on the same arrays, in one process:
    the cKDTree KSG (``workers=-1``) at n = 20,000 and bmi's KSG (its default ``n_jobs=1``) at
    n = 5,000, 5 + 5 Gaussian dimensions, k = 5, variant 1; the fastest of three alternating
    calls of each. ``ksg`` runs with ``workers`` -1 (every core, as the cKDTree reference) or 1
    (one thread)."""

    params = (["ckdtree-20000", "bmi-5000"], ["chebyshev", "euclidean"], [-1, 1])
    param_names = ("reference", "metric", "workers")
    unit = "ratio"
    timeout = 600

    def setup(self, reference, metric, workers):
        import numpy as np

        import mibench

        if reference.startswith("ckdtree") and metric != "chebyshev":
            raise NotImplementedError("the cKDTree reference computes the max-norm estimate")
        self.references = _ksg_references()
        n = 20_000 if reference.startswith("ckdtree") else 5_000
        rng = np.random.default_rng(0)
        x = rng.normal(size=(n, 5))
        y = 0.6 * x + rng.normal(size=(n, 5))
        self.x = (x - x.mean(0)) / x.std(0)
        self.y = (y - y.mean(0)) / y.std(0)
        try:
            self.estimator = mibench.get_estimator(
                "ksg", k=5, metric=metric, standardize=False, noise=0.0, workers=workers
            )
        except (TypeError, ValueError) as error:  # a version of mibench without ``metric``
            raise NotImplementedError(str(error)) from error
        self.estimator.estimate(self.x[:500], self.y[:500])  # compile outside the timing

    def track_reference_over_ksg(self, reference, metric, workers):
        import time

        def run_reference():
            if reference.startswith("ckdtree"):
                return self.references.ckdtree_ksg(self.x, self.y, 5, 1)
            return self.references.bmi_style_ksg(self.x, self.y, 5, metric)

        def run_ksg():
            return self.estimator.estimate(self.x, self.y)

        best = {"reference": float("inf"), "ksg": float("inf")}
        for _ in range(3):
            for name, call in (("reference", run_reference), ("ksg", run_ksg)):
                start = time.perf_counter()
                call()
                best[name] = min(best[name], time.perf_counter() - start)
        return best["reference"] / best["ksg"]
