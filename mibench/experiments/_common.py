"""Small helpers the experiments share: one timed estimate as a tidy row, a slope per decade."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from mibench.estimators import get_estimator

__all__ = ["estimate_row", "rise_per_decade"]


def estimate_row(name: str, params: dict[str, Any], x, y, **columns: Any) -> dict[str, Any]:
    """Run ``get_estimator(name, **params)`` on (x, y) and return the tidy row of the estimate.

    The row holds ``estimator``, ``params``, ``estimate_nats``, ``seconds`` and the given
    ``columns`` (the seed, the truth, the swept variable, ...). A run that raises ValueError
    (too few samples for the parameters, say) gives ``estimate_nats`` None and the ``error``.
    """
    started = time.perf_counter()
    error = None
    try:
        value = float(get_estimator(name, **params).estimate(x, y))
    except ValueError as exc:
        value, error = None, str(exc).splitlines()[0]
    return {
        "estimator": name,
        "params": dict(params),
        **columns,
        "estimate_nats": value,
        "seconds": round(time.perf_counter() - started, 4),
        "error": error,
    }


def rise_per_decade(sizes: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against log10 of ``sizes``: nats per decade.

    NaN when fewer than two finite points remain.
    """
    points = [(math.log10(s), v) for s, v in zip(sizes, values) if v is not None and math.isfinite(v)]
    if len(points) < 2:
        return math.nan
    logs, ys = np.array(points).T
    return float(np.polyfit(logs, ys, 1)[0])
