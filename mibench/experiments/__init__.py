"""Experiments: one module per claim of the talk, each producing records, figures and verdicts.

The contract
------------
An experiment is a function ``(output_dir: Path, quick: bool) -> ExperimentResult`` registered
with ``@register_experiment(name, claim="one-line claim")``. It writes its figures (PNG,
matplotlib Agg) into ``output_dir`` and returns:

- ``rows``: the tidy table, one dict per estimate, with at least ``estimator``, ``params``
  (a dict or a JSON string), ``seed``, ``estimate_nats``, ``truth_nats`` (None where unknown)
  and the swept variable under its own name (``n``, ``w``, ``epoch``, ``t``, ...);
- ``verdicts``: one :class:`Verdict` per number that decides the claim;
- ``settings``: what the run used (the quick flag, sizes, seeds, ...);
- ``figures``: the paths of the PNGs it wrote; ``summary``: a few lines of text;
- optionally ``tables`` (named lists of row dicts) and ``records`` (runner records).

The experiment does **not** write ``records.csv`` or ``summary.md`` itself: the caller does,
through :func:`run_experiment` (which the CLI and the tests use), so every experiment's files
have the same form. An experiment estimates MI on its samples through
:func:`mibench.experiments._common.run_estimate` (or ``estimate_row``, ``estimate_value``), the
grid's run path for a sample in memory (:mod:`mibench.grid.in_memory`): each estimate is a
record, with the runner's error capture and, given ``timeout``, its isolation; the records go
to ``records.jsonl`` with ``provenance.json`` beside it.
``claim`` is filled in from the registration when the experiment leaves it empty, and
``settings["quick"]`` is set from the flag.

Sizes
-----
Every run has a size (:data:`SIZES`): ``"default"`` (the documented run, at most 10 minutes on
2 cores), ``"quick"`` (the CLI's ``--quick``, at most 60 s) and ``"tiny"`` (what the fast tests
run: seconds, with every verdict and control still computed, though not all of them are
decided at that size). An experiment that takes a keyword ``size`` gets it; one that does not
gets ``quick = size != "default"``. ``settings["size"]`` and ``settings["quick"]`` record it.

Controls
--------
Every verdict carries a :class:`Control`: the same check made on a counterfactual where the
claim says it must fail. :func:`run_experiment` refuses (ValueError) a result with a verdict
that has none, so an experiment cannot pass by checks that could not have failed; a control
that holds fails the verdict (:attr:`Verdict.passes`), the experiment and the CLI's exit status.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path

from mibench.core.validation import InputError
from mibench.experiments.contract import (
    _CLAIMS,
    _REGISTRY,
    _RENAMED,
    Control,
    Experiment,
    ExperimentResult,
    Verdict,
    register_experiment,
)

__all__ = [
    "SIZES",
    "TALK_ORDER",
    "Control",
    "ExperimentResult",
    "Verdict",
    "experiment_claim",
    "get_experiment",
    "list_experiments",
    "check_controls",
    "register_experiment",
    "resolve_size",
    "run_experiment",
]


#: The talk's order; other experiments follow alphabetically.
TALK_ORDER = ("divergence", "piecewise-constant", "bijection", "information-plane", "clustering")


def list_experiments() -> list[str]:
    """The registered experiment names: the talk's claims in its order, then the others."""
    _load()

    def position(name: str) -> tuple[int, str]:
        return (TALK_ORDER.index(name) if name in TALK_ORDER else len(TALK_ORDER), name)

    return sorted(_REGISTRY, key=position)


def experiment_claim(name: str) -> str:
    """The one-line claim the named experiment tests."""
    get_experiment(name)
    return _CLAIMS[name]


def get_experiment(name: str) -> Experiment:
    """The experiment function registered under ``name``; ValueError listing the valid ones."""
    _load()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        if name in _RENAMED:
            close = [_RENAMED[name]]
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"unknown experiment {name!r}.{hint} Valid experiments: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


#: The run sizes, smallest first: tests, ``--quick``, the documented run.
SIZES = ("tiny", "quick", "default")


def resolve_size(quick: bool = False, size: str | None = None) -> str:
    """The run size from the ``quick`` flag or an explicit ``size`` (which wins)."""
    if size is None:
        return "quick" if quick else "default"
    if size not in SIZES:
        raise InputError(f"unknown experiment size {size!r}; valid sizes: {', '.join(SIZES)}")
    return size


def _takes_size(function: Callable) -> bool:
    try:
        return "size" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def check_controls(name: str, result: ExperimentResult) -> None:
    """ValueError naming the verdicts of ``result`` that have no :class:`Control`."""
    missing = [v.name for v in result.verdicts if not isinstance(v.control, Control)]
    if missing:
        raise ValueError(
            f"experiment {name!r}: every verdict needs a control (the same check on a "
            f"counterfactual where it must fail); these have none: {'; '.join(missing)}"
        )


def run_experiment(
    name: str, output_dir: Path, quick: bool = False, *, size: str | None = None,
    timeout: float | None = None,
) -> ExperimentResult:
    """Run the named experiment into ``output_dir`` and write its files: ``records.csv``,
    ``summary.md``, ``records.jsonl`` and ``provenance.json``.

    Every estimate the experiment makes on a sample goes through one
    :class:`~mibench.grid.in_memory.SampleRunner` (see :mod:`mibench.experiments._common`), so
    it is a record of the grid's run path: ``result.records`` holds them (after any the
    experiment made itself), ``records.jsonl`` too, and the summary names the runs that failed.

    Parameters
    ----------
    name : str
        A registered experiment (``list_experiments()``).
    output_dir : Path
        Created if missing; receives the figures and the files above.
    quick : bool
        The CI-sized run (``size="quick"``).
    size : {"tiny", "quick", "default"}, optional
        Overrides ``quick``; ``"tiny"`` is the size the fast tests run.
    timeout : float, optional
        Seconds one estimate may take (``--timeout``). Each estimate then runs in an isolated
        worker process, killed when it outlives the timeout; that run becomes a failed record
        (its row has no estimate) and the experiment goes on. Without it, estimates run in this
        process.

    Raises
    ------
    ValueError
        When a verdict of the result has no control (:func:`check_controls`).
    InputError
        When ``timeout`` is not a positive number of seconds.
    """
    from mibench.experiments._common import running_samples_with
    from mibench.experiments.output import failed_runs_note, write_outputs
    from mibench.grid.in_memory import SampleRunner

    size = resolve_size(quick, size)
    function = get_experiment(name)
    output_dir = Path(output_dir)
    with SampleRunner(timeout=timeout, name=f"experiment:{name}") as runner:
        output_dir.mkdir(parents=True, exist_ok=True)
        with running_samples_with(runner):
            if _takes_size(function):
                result = function(output_dir, size != "default", size=size)
            else:
                result = function(output_dir, size != "default")
    if not result.claim:
        result.claim = _CLAIMS[name]
    check_controls(name, result)
    result.settings = {"quick": size != "default", "size": size, **result.settings}
    if timeout is not None:
        result.settings.setdefault("timeout_seconds", timeout)
    result.records = [*result.records, *runner.records]
    note = failed_runs_note(result.records)
    if note:
        result.summary = f"{result.summary}\n\n{note}" if result.summary else note
    provenance = runner.provenance({"experiment": name, "size": size, "timeout": timeout})
    write_outputs(result, output_dir, title=name, provenance=provenance)
    return result


#: Experiment modules written on other branches: absent until they land.
_OPTIONAL_MODULES = ("mibench.experiments.bijection", "mibench.experiments.information_plane")


def _load() -> None:
    # Experiments import torch and the networks; load them only when asked for.
    from mibench.experiments import _builtin  # noqa: F401

    for module in _OPTIONAL_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:  # the module exists but one of its imports is missing
                raise
