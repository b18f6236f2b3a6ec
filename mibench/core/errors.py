"""The errors mibench raises for the user, and the one line a failed run records.

This module imports nothing from the rest of mibench, so every layer can use it.
"""

from __future__ import annotations

import traceback

__all__ = ["InputError", "error_text"]


class InputError(ValueError):
    """Invalid input from the user: a bad argument, sample, name or path.

    A subclass of ``ValueError``, so callers that catch ValueError keep working; raise it only
    for problems the user can fix by changing the input, never for an internal failure.
    """


def error_text(error: BaseException) -> str:
    """One line naming the error, with the last frames where it is not a plain ValueError."""
    text = f"{type(error).__name__}: {error}"
    if not isinstance(error, ValueError):
        text += "\n" + "".join(traceback.format_exception(error)[-3:]).rstrip()
    return text
