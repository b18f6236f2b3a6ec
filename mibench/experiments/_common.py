"""Small helpers the experiments share: one timed estimate as a tidy row, and the slope per
decade of n (the one :func:`mibench.results.scoring.rise_per_decade`, which the suite scores use too)."""

from __future__ import annotations

import time
from typing import Any

from mibench.estimators import get_estimator
from mibench.results.scoring import rise_per_decade

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
