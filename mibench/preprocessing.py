"""Moved to :mod:`mibench.core.preprocessing` in 0.3; this alias goes in 0.4."""

from mibench._moved import alias

alias(__name__)
