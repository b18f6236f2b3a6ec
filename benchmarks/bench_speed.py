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
