"""Imports every built-in experiment module, which registers it."""

from mibench.experiments import staircase  # noqa: F401
