"""How many CPU threads torch's kernels run on: the one guard every part of mibench uses.

A grid run in parallel (the runner's worker processes) must not let each worker start one
intra-op thread per core: the workers would fight over the cores and torch's idle OpenMP
threads spin-wait for one, which made a small network's training step up to 20 times slower
on a busy machine. The runner's workers therefore set the environment variable
:data:`THREADS_VARIABLE` (``MIBENCH_THREADS=1``); code that is not told a thread count reads it,
so that inside a grid every estimator uses one thread unless told otherwise, and alone it uses
the cores it is given (torch's own setting, which follows ``OMP_NUM_THREADS``).

torch is imported only when a guard is entered, so importing this module stays light.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from mibench.core.validation import InputError

__all__ = [
    "THREADS_VARIABLE",
    "available_cores",
    "process_threads",
    "threads_from_environment",
    "torch_threads",
]

#: The environment variable that caps the threads of code not told a count (a positive integer).
THREADS_VARIABLE = "MIBENCH_THREADS"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; the CPU count off Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_from_environment() -> int | None:
    """The thread count set by :data:`THREADS_VARIABLE`, or None where it is unset or empty.

    Raises
    ------
    InputError
        If the variable is set to anything but a positive integer.
    """
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if not text:
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise InputError(f"{THREADS_VARIABLE} must be a positive integer, got {text!r}")
    return count


def process_threads() -> int:
    """The threads this process is given: :data:`THREADS_VARIABLE` if set, else its cores."""
    return threads_from_environment() or available_cores()


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the enclosed torch code on ``count`` intra-op threads; restore the caller's after.

    Parameters
    ----------
    count : int or None
        Threads for torch's CPU kernels inside the block. None: the count in
        :data:`THREADS_VARIABLE` where it is set, otherwise torch's setting is left unchanged.
    """
    if count is None:
        count = threads_from_environment()
    if count is None:
        yield
        return
    import torch  # here, so that importing mibench does not import torch

    previous = torch.get_num_threads()
    if previous == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
