"""mibench: a benchmark suite for mutual-information estimators.

All MI is in nats. The public API::

    mibench.estimate(x, y, estimator="ksg", **params) -> float
    mibench.get_estimator(name, **params) -> Estimator
    mibench.list_estimators() -> list[str]
    mibench.get_dataset(name) -> Dataset
    mibench.list_datasets(tag=None) -> list[str]
    mibench.run(estimators, datasets=None, n=5000, seeds=(0,), params=None) -> list[Record]
"""

from mibench._version import __version__
from mibench.core.contracts import Dataset, Estimate, Estimator, Record
from mibench.datasets import get_dataset, list_datasets
from mibench.estimators import get_estimator, list_estimators
from mibench.grid.runner import run

__all__ = [
    "Dataset",
    "Estimate",
    "Estimator",
    "Record",
    "__version__",
    "estimate",
    "get_dataset",
    "get_estimator",
    "list_datasets",
    "list_estimators",
    "run",
]


def estimate(x, y, estimator: str = "ksg", **params) -> float:
    """Estimate I(X; Y) in nats from paired samples with the named estimator.

    Parameters
    ----------
    x : array-like of shape (n,) or (n, d_x)
    y : array-like of shape (n,) or (n, d_y)
        Paired samples (numpy arrays, lists or torch tensors).
    estimator : str, default "ksg"
        A name from :func:`list_estimators`.
    **params
        The estimator's parameters, e.g. ``k=5``.
    """
    return get_estimator(estimator, **params).estimate(x, y)
