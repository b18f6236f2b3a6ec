"""Small helpers the experiments share: one estimate through the grid's run path (as a record,
a number or a tidy row), the slope per decade of n (the one
:func:`mibench.results.scoring.rise_per_decade`, which the suite scores use too), a verdict with
its control decided by one test, and mean and spread over seeds.

Every estimate an experiment makes on a sample of its own goes through :func:`run_estimate`:
the current :class:`~mibench.grid.in_memory.SampleRunner` (the one :func:`running_samples_with`
installed, which :func:`mibench.experiments.run_experiment` does for each experiment, with the
``--timeout``; else an inline one that keeps nothing) runs it as ``mibench run`` runs a grid, so
a run that raises or times out is a failed record, not a traceback, and every record is written
to the experiment's ``records.jsonl``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import statistics
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mibench.core.contracts import Estimator, Record
from mibench.estimators import get_estimator
from mibench.experiments.contract import Control, Verdict
from mibench.grid.in_memory import SampleRunner
from mibench.results.scoring import rise_per_decade

__all__ = [
    "checked_verdict",
    "estimate_row",
    "estimate_value",
    "mean_and_sd",
    "rise_per_decade",
    "run_estimate",
    "running_samples_with",
    "sample_runner",
]

_CURRENT: contextvars.ContextVar[SampleRunner | None] = contextvars.ContextVar(
    "mibench_experiment_sample_runner", default=None)
_INLINE: SampleRunner | None = None


def sample_runner() -> SampleRunner:
    """The runner the experiments' estimates go through now: the one
    :func:`running_samples_with` installed, else an inline one that keeps no records."""
    global _INLINE
    runner = _CURRENT.get()
    if runner is not None:
        return runner
    if _INLINE is None:
        _INLINE = SampleRunner(name="experiment", keep=False)
    return _INLINE


@contextlib.contextmanager
def running_samples_with(runner: SampleRunner) -> Iterator[SampleRunner]:
    """Within the block, every :func:`run_estimate` (and so every :func:`estimate_row` and
    :func:`estimate_value`) goes through ``runner``."""
    token = _CURRENT.set(runner)
    try:
        yield runner
    finally:
        _CURRENT.reset(token)


def _seed_of(value: Any) -> int:
    """The record's seed: the row's seed where it is one (a non-negative integer), else 0."""
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        return 0
    return int(value) if int(value) >= 0 else 0


def run_estimate(estimator: Estimator, x, y, *, truth: float | None = None, seed: Any = None,
                 sample: str | None = None, **columns: Any) -> Record:
    """Run ``estimator`` on (x, y) through :func:`sample_runner`; never raises for the run.

    Parameters
    ----------
    estimator : Estimator
        Run as it is configured.
    x, y : array-like of shape (n,) or (n, d)
        The sample.
    truth : float, optional
        The true MI in nats (None: unknown), carried by the record.
    seed : int, optional
        The seed the sample was drawn with (the record's seed; 0 when None).
    sample : str, optional
        What the sample is, apart from its n and seed (``"tanh-1d"``, ``"w=0.5"``): the
        record's dataset is the runner's name and this, ``experiment:NAME/SAMPLE``, so that
        records of different distributions are not taken for seeds of one.
    **columns
        The row's columns (the swept variable, the layer, ...), kept in the record's
        ``extras["columns"]``.

    Returns
    -------
    Record
        ``ok`` with the estimate in nats, or ``failed`` with the reason.
    """
    runner = sample_runner()
    return runner.run(estimator, x, y, truth=truth, seed=_seed_of(seed),
                      name=f"{runner.name}/{sample}" if sample else None,
                      columns={"seed": seed, **columns})


def estimate_value(estimator: Estimator, x, y, **columns: Any) -> float:
    """The estimate in nats of :func:`run_estimate`, NaN when the run failed (its record, in
    ``records.jsonl``, says why); ``columns`` as there."""
    record = run_estimate(estimator, x, y, **columns)
    return float(record.estimate) if record.ok else math.nan


def _first_line(text: str | None) -> str | None:
    return None if text is None else (text.splitlines() or [""])[0]


def estimate_row(name: str, params: dict[str, Any], x, y, *, sample: str | None = None,
                 **columns: Any) -> dict[str, Any]:
    """Run ``get_estimator(name, **params)`` on (x, y) and return the tidy row of the estimate.

    The run goes through :func:`run_estimate` (the row's ``truth_nats`` and ``seed`` are the
    record's truth and seed; ``sample`` names the sample there). The row holds ``estimator``,
    ``params``, ``estimate_nats``, ``seconds`` (the estimate's, as the record has it) and the
    given ``columns`` (the seed, the truth, the swept variable, ...). A run that fails
    (raises, returns a non-finite number, times out) gives ``estimate_nats`` None and the first
    line of the record's ``error``; so do parameters the estimator refuses (ValueError), which
    make no record.
    """
    row = {"estimator": name, "params": dict(params), **columns}
    try:
        estimator = get_estimator(name, **params)
    except ValueError as exc:
        return {**row, "estimate_nats": None, "seconds": 0.0, "error": _first_line(str(exc))}
    record = run_estimate(estimator, x, y, truth=columns.get("truth_nats"), sample=sample,
                          **columns)
    return {**row, "estimate_nats": record.estimate, "seconds": round(record.seconds, 4),
            "error": _first_line(record.error)}


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
    """(mean, sample standard deviation) of ``values``; the deviation is 0 for a single value.
    Both are NaN for no values or when any value is NaN (a failed run: its record says why)."""
    values = [float(v) for v in values]
    if not values or any(math.isnan(v) for v in values):
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
