"""The contract of an experiment: its verdicts with their controls, its result, its registration.

A module of its own, below the package's ``__init__``, so that every experiment module imports
it without importing the package that loads the experiments (see :mod:`mibench.experiments`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mibench.core.contracts import Record

__all__ = ["Control", "Experiment", "ExperimentResult", "Verdict", "register_experiment"]


@dataclass(frozen=True)
class Control:
    """The same check as a verdict's, made on a counterfactual where the claim says it must fail.

    Parameters
    ----------
    name : str
        The counterfactual, e.g. ``"the same rise, noisy 1-d layer (finite MI)"``.
    value : float
        The number the same check measures there.
    holds : bool
        Whether the verdict's prediction is satisfied there; a control that holds means the
        check cannot tell the claim from its negation, and fails the experiment.
    """

    name: str
    value: float
    holds: bool


@dataclass(frozen=True)
class Verdict:
    """One number that decides a claim: its value, what the claim predicts, whether it holds.

    Parameters
    ----------
    name : str
        What the number is, e.g. ``"KSG k=3 rise per decade of n, deterministic 1-d [nats]"``.
    value : float
        The number measured (nats, or a fraction where the name says so).
    prediction : str
        What the claim predicts for it, e.g. ``">= 1.5"``.
    holds : bool
        Whether the measured value satisfies the prediction.
    control : Control, optional
        The same check on a counterfactual where it must fail (:class:`Control`).
    """

    name: str
    value: float
    prediction: str
    holds: bool
    control: Control | None = None

    @property
    def passes(self) -> bool:
        """The verdict holds and its control, if any, does not."""
        return self.holds and not (self.control is not None and self.control.holds)


@dataclass
class ExperimentResult:
    """What an experiment hands back (see the module docstring); MI in nats throughout."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    summary: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    claim: str = ""
    verdicts: list[Verdict] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        """True when every verdict holds and no control holds (and there is a verdict)."""
        return bool(self.verdicts) and all(v.passes for v in self.verdicts)


Experiment = Callable[[Path, bool], ExperimentResult]
_REGISTRY: dict[str, Experiment] = {}
_CLAIMS: dict[str, str] = {}
#: Former names, not registered: asking for one names its successor in the error.
_RENAMED = {"computability": "divergence"}


def register_experiment(name: str, claim: str = ""):
    """Register ``function(output_dir, quick) -> ExperimentResult`` under ``name``.

    ``claim`` is the one-line statement the experiment tests; ``mibench list experiments``
    prints it.
    """

    def decorator(function: Experiment) -> Experiment:
        if name in _REGISTRY:
            raise ValueError(f"experiment {name!r} is already registered")
        _REGISTRY[name] = function
        _CLAIMS[name] = claim
        return function

    return decorator
