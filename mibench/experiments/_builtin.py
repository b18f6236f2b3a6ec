"""Imports every built-in experiment module, which registers it.

``bijection`` and ``information_plane`` are loaded by :func:`mibench.experiments._load` when
present.
"""

from mibench.experiments import (
    approximations,  # noqa: F401
    clustering,  # noqa: F401
    decision_rule,  # noqa: F401
    divergence,  # noqa: F401
    piecewise_constant,  # noqa: F401
    staircase,  # noqa: F401
    stochasticity,  # noqa: F401
)
