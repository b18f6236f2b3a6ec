"""What estimators report on the layers of deterministic networks, as n grows.

For a deterministic network fed a continuous input the true I(X; L) is infinite (a finite input
set: the constant H(L) <= log|X|), so an estimate that climbs with n, or settles at a value set
by a bin width or a noise variance, measures the estimator, not the network (Geiger & Amjad,
"How (Not) To Train Your DNN Using The Information Bottleneck Functional"). These tracks record
that estimate, in nats, at each n of ``LAYER_SIZES``, so a change in how an estimator diverges
shows from one version to the next.

Datasets tagged "network" and "deterministic" are used, those of the default suite where there
are any (:func:`_suite.layer_track_datasets`); where none is registered every track is skipped.
Neural estimators are left out: their training budget, not n, would set the curve.
"""

from . import _suite

_LAYERS = _suite.or_placeholder(_suite.layer_track_datasets())
_ESTIMATORS = _suite.or_placeholder(_suite.classical_estimators())


class DeterministicLayer:
    """Mean estimate of I(X; L) over seed 0, on a deterministic network layer."""

    params = (_ESTIMATORS, _LAYERS, list(_suite.LAYER_SIZES))
    param_names = ("estimator", "layer", "n")
    unit = "nats"
    timeout = 120

    def setup_cache(self):
        # Sampling a layer trains its network: this happens here, once per asv run.
        return _suite.run_grid(_ESTIMATORS, _LAYERS, _suite.LAYER_SIZES, (0,))

    setup_cache.timeout = 3600

    def setup(self, records, estimator, layer, n):
        if layer == _suite.PLACEHOLDER:
            raise NotImplementedError("no dataset tagged 'network' and 'deterministic' is registered")
        self.cell = _suite.checked_cell(_suite.cells_of(records), estimator, layer, n)

    def track_layer_estimate(self, records, estimator, layer, n):
        """The estimate of I(X; L) in nats (the truth is infinite, or H(L) for a finite input)."""
        return self.cell.estimate
