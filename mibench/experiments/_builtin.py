"""Imports every built-in experiment module, which registers it."""

from mibench.experiments import (
    computability,  # noqa: F401
    staircase,  # noqa: F401
)
