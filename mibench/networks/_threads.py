"""A context manager that runs torch on one thread and then restores the caller's setting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["one_torch_thread"]


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the enclosed torch code on one intra-op thread; restore the previous count after.

    The networks are tiny and the mixture kernels are blocked into modest products: threads
    gain them little, while on a busy machine (or under the runner's worker processes) idle
    OpenMP threads spinning for a core made a training step 20 times slower.
    """
    import torch  # here, so that importing mibench does not import torch

    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
