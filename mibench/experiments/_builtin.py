"""Imports every built-in experiment module, which registers it."""
