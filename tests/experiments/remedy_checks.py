"""Shared checks of the remedy experiments at the tests' tiny size: files, verdicts, controls."""

from pathlib import Path

from experiment_checks import check_output_files

from mibench.experiments import experiment_claim
from mibench.experiments.output import write_outputs


def run_tiny(module, name: str, output_dir: Path):
    """Run ``module.run`` at the tiny size and write its files as ``run_experiment`` does."""
    result = module.run(output_dir, "tiny")
    result.claim = experiment_claim(name)
    result.settings = {"quick": True, **result.settings}
    write_outputs(result, output_dir, title=name)
    return result


def check_verdicts_and_controls(result, count: int) -> None:
    """``count`` verdicts, each with a control that does not hold (so the check can fail)."""
    assert len(result.verdicts) == count
    for verdict in result.verdicts:
        assert verdict.control is not None, verdict.name
        assert isinstance(verdict.value, float) and isinstance(verdict.holds, bool)
        assert verdict.control.holds is False, (verdict.name, verdict.control)


__all__ = ["check_output_files", "check_verdicts_and_controls", "run_tiny"]
