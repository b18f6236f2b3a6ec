"""The mibench version, in a module of its own so that records can carry it without importing
the whole package."""

__version__ = "0.3.0"
