"""How the samples are divided between training, early stopping and the read-out (no torch)."""

from __future__ import annotations

import math

__all__ = ["split_sizes"]


def split_sizes(n: int, test_fraction: float, validation_fraction: float) -> tuple[int, int, int]:
    """Sizes (n_train, n_validation, n_test) of the three disjoint parts of n samples.

    The test part, ``ceil(test_fraction * n)`` samples, is only used to read the estimate off;
    the validation part, ``ceil(validation_fraction * n)`` samples (0 when the fraction is 0),
    only to decide when to stop early; the rest trains the critic.
    """
    n_test = math.ceil(test_fraction * n)
    n_validation = math.ceil(validation_fraction * n) if validation_fraction > 0 else 0
    return n - n_test - n_validation, n_validation, n_test
