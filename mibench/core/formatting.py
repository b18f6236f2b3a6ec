"""How numbers and pages look: the one place that formats a number for people, and the one
style sheet of mibench's HTML pages (the report's leaderboard, the experiments' index).

Values are formatted as given; converting nats to bits happens before, at display time
(:func:`mibench.results.scoring.to_unit`). Imports nothing else of mibench, so every layer that
shows numbers (results, experiments, the CLI) can use it.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["HTML_STYLE", "format_number", "format_seconds", "format_value"]


def _special(value: float, nan: str) -> str | None:
    if math.isnan(value):
        return nan
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None


def format_number(value: float | None, digits: int = 4, *, missing: str = "-",
                  nan: str = "nan") -> str:
    """A number with ``digits`` decimals, for tables of estimates and truths.

    Parameters
    ----------
    value : float or None
    digits : int, default 4
        Decimals after the point.
    missing : str, default "-"
        What None is shown as (a failed run, an unknown truth).
    nan : str, default "nan"
        What NaN is shown as ("-" where NaN means "nothing to show", as in a leaderboard).
    """
    if value is None:
        return missing
    return _special(value, nan) or f"{value:.{digits}f}"


def format_seconds(value: float | None) -> str:
    """A duration in seconds with three significant digits; "-" for None or NaN."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.3g}"


def format_value(value: float | int | bool) -> str:
    """A verdict's number: booleans and integers as they are, floats with four significant
    digits (scientific notation below 1e-3)."""
    if isinstance(value, (bool, numbers.Integral)):
        return str(value)
    special = _special(value, "nan")
    if special is not None:
        return special
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


#: The style sheet of every HTML page mibench writes (self-contained: no external assets).
HTML_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; color: #222;
       max-width: 80em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.no { color: #b00; font-weight: bold; }
p.note { max-width: 60em; }
p.warning { color: #fff; background: #b00; font-weight: bold; padding: 0.5em; }
code { font-size: 90%; }
img { max-width: 100%; display: block; margin: 1em 0; }
"""
