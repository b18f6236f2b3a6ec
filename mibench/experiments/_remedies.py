"""Helpers shared by the three remedy experiments (decision-rule, stochasticity,
approximations): the held-out split, seed statistics, the tolerance of "within the seed
spread", and one error-bar panel."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["control_lines", "errorbar_series", "held_out_split", "mean_and_sd", "seed_tolerance"]


def held_out_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified (train, test) split of the rows, fixed by ``seed``.

    Every accuracy the remedy experiments report is measured on the test rows, which no
    training step, probe or label-matching sees.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    train, test = train_test_split(rows, test_size=test_fraction, stratify=labels,
                                   random_state=seed)
    return np.sort(train), np.sort(test)


def mean_and_sd(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (sd 0 for a single value; NaN if any is)."""
    values = [float(v) for v in values]
    if not values or any(math.isnan(v) for v in values):
        return math.nan, math.nan
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), sd


def seed_tolerance(*spreads: float, resolution: float = 0.0) -> float:
    """Two seed standard deviations: 2 x the largest of the given sds and ``resolution``.

    ``resolution`` is the smallest step the measured number can take (1 / n_test for an
    accuracy), so that seeds that agree exactly do not make "within two sds" mean "equal".
    """
    return 2.0 * max([*spreads, resolution])


def errorbar_series(axis, xs: Sequence[float], groups: Sequence[Sequence[float]], **style):
    """Plot the mean of each group of seed values at its x, with one-sd error bars."""
    stats = [mean_and_sd(g) for g in groups]
    axis.errorbar(list(xs), [m for m, _ in stats], yerr=[s for _, s in stats], capsize=3,
                  **style)
    return stats


def control_lines(verdicts) -> list[str]:
    """One summary line per verdict naming its control, its value and whether it holds."""
    return [f"Control of \"{v.name}\": {v.control.name}: {v.control.value:.4g} "
            f"({'holds: the check cannot tell' if v.control.holds else 'fails, as it must'})."
            for v in verdicts if v.control is not None]
