"""How an estimate is scored against the truth: the Beyond-Normal criterion and its relatives.

All inputs in nats. These small functions are shared by the CLI summary, the reports and the
asv accuracy tracks, so every place counts "solved" the same way.
"""

from __future__ import annotations

import math

__all__ = ["SOLVED_RATIO", "NATS_PER_BIT", "is_scorable", "is_solved", "log_ratio", "to_unit"]

#: Beyond-Normal's criterion: an estimate solves a task when it is within a factor 1.5 of the
#: truth, |log(estimate / truth)| < log 1.5.
SOLVED_RATIO = 1.5

NATS_PER_BIT = math.log(2.0)


def is_scorable(truth: float | None) -> bool:
    """Whether the criterion applies: the truth is finite and positive (not 0, inf or unknown)."""
    return truth is not None and math.isfinite(truth) and truth > 0


def log_ratio(estimate: float | None, truth: float | None) -> float:
    """log(estimate / truth); nan where the criterion does not apply or the estimate is <= 0."""
    if estimate is None or not is_scorable(truth) or not estimate > 0:
        return math.nan
    return math.log(estimate / truth)


def is_solved(estimate: float | None, truth: float | None) -> bool:
    """|log(estimate / truth)| < log 1.5; False for a failed run or a non-positive estimate."""
    if estimate is None or not is_scorable(truth):
        return False
    if not estimate > 0:
        return False
    return abs(math.log(estimate / truth)) < math.log(SOLVED_RATIO)


def to_unit(value_in_nats: float | None, unit: str) -> float | None:
    """Convert nats to "nats" or "bits" for display; None and inf pass through."""
    if unit not in ("nats", "bits"):
        raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}")
    if value_in_nats is None or unit == "nats":
        return value_in_nats
    return value_in_nats / NATS_PER_BIT
