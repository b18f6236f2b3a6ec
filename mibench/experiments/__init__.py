"""Experiments: one module per claim of the talk, each producing tables and figures.

An experiment is a function ``(output_dir: Path, quick: bool) -> ExperimentResult`` registered
with :func:`register_experiment`; ``mibench experiment NAME`` runs it. ``quick`` makes a
CI-sized run of the same code.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mibench.interface import Record

__all__ = ["ExperimentResult", "get_experiment", "list_experiments", "register_experiment"]


@dataclass
class ExperimentResult:
    """What an experiment hands back: named tables (lists of row dicts, MI in nats), the paths
    of the figures it wrote, the records it ran, and a short text summary."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    summary: str = ""


Experiment = Callable[[Path, bool], ExperimentResult]
_REGISTRY: dict[str, Experiment] = {}


def register_experiment(name: str):
    def decorator(function: Experiment) -> Experiment:
        if name in _REGISTRY:
            raise ValueError(f"experiment {name!r} is already registered")
        _REGISTRY[name] = function
        return function

    return decorator


def list_experiments() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get_experiment(name: str) -> Experiment:
    _load()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown experiment {name!r}.{hint} Valid experiments: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def _load() -> None:
    # Experiments import torch and the networks; load them only when asked for.
    from mibench.experiments import _builtin  # noqa: F401
