"""Small helpers the experiments share: one timed estimate as a tidy row, and the slope per
decade of n (the one :func:`mibench.results.scoring.rise_per_decade`, which the suite scores use
too), a verdict with its control decided by one test, and mean and spread over seeds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

from mibench.estimators import get_estimator
from mibench.experiments.contract import Control, Verdict
from mibench.results.scoring import rise_per_decade

__all__ = ["checked_verdict", "estimate_row", "mean_and_sd", "rise_per_decade"]


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


def checked_verdict(
    name: str,
    value: float,
    prediction: str,
    test: Callable[[float], bool],
    control_name: str,
    control_value: float,
) -> Verdict:
    """A :class:`Verdict` and its :class:`Control` decided by one and the same ``test``.

    Parameters
    ----------
    name, value, prediction
        As in :class:`Verdict`.
    test : callable
        ``test(number) -> bool``: the prediction; applied to ``value`` and to ``control_value``
        alike, so the control is the same check on the counterfactual. A NaN fails it.
    control_name, control_value
        The counterfactual where the claim says ``test`` must fail, and the number measured
        there.
    """

    def decide(number: float) -> bool:
        try:
            return bool(number == number and test(number))  # NaN: neither holds
        except (TypeError, ValueError):
            return False

    return Verdict(name, float(value), prediction, decide(value),
                   Control(control_name, float(control_value), decide(control_value)))


def mean_and_sd(values: Iterable[float]) -> tuple[float, float]:
    """(mean, sample standard deviation) of ``values``; the deviation is 0 for a single value."""
    values = [float(v) for v in values]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
