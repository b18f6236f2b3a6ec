"""Column standardization, the one copy every part of mibench uses.

The published Beyond-Normal protocol standardizes every coordinate of every sample before an
estimator sees it (scikit-learn's ``preprocessing.scale``: zero mean, unit variance with
``ddof=0``); the scale-dependent estimators (KSG, KDE, the neural critics) do the same inside
(the neural critics after squashing heavy tails with a monotone asinh, which keeps the MI).
"""

from __future__ import annotations

import numpy as np

__all__ = ["column_scale", "standardize"]


def column_scale(values: np.ndarray) -> np.ndarray:
    """The standard deviation (ddof 0) of each column; 1 where a column is constant.

    Columns whose magnitudes are beyond ~1e150 (or below ~1e-150) would overflow (underflow)
    when squared; they are measured in units of their largest magnitude instead.
    """
    values = np.asarray(values, dtype=np.float64)
    largest = np.abs(values).max(axis=0)
    extreme = (largest > 1e150) | ((largest > 0) & (largest < 1e-150))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        scale = values.std(axis=0)
    if extreme.any():
        scale[extreme] = (values[:, extreme] / largest[extreme]).std(axis=0) * largest[extreme]
    scale[scale == 0] = 1.0
    return scale


def standardize(values, reference=None, *, center: bool = True) -> np.ndarray:
    """Each column to zero mean and unit variance over ``reference`` (default: ``values``).

    Same convention as ``sklearn.preprocessing.scale``: ddof 0, constant columns only centred.
    Returns a new float64 array of the shape of ``values``.
    """
    values = np.asarray(values, dtype=np.float64)
    reference = values if reference is None else np.asarray(reference, dtype=np.float64)
    out = values - reference.mean(axis=0) if center else values.copy()
    out /= column_scale(reference)
    return out
