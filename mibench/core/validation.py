"""Turn user input into the float64 sample matrices every estimator expects.

This module imports nothing from the rest of mibench, so every sub-package can use it.
Every check raises an :class:`InputError` (a ``ValueError``) whose message names the argument
and the problem, so that a user never sees a stack trace from deep inside scipy or torch, nor a
silently wrong number. The command line reports an InputError as one line (exit code 2) and
any other exception, a bug, with its traceback (exit code 1).
"""

from __future__ import annotations

import numbers
import re

import numpy as np

from mibench.core.errors import InputError

__all__ = [
    "InputError",
    "as_sample_matrix",
    "check_choice",
    "check_device",
    "check_device_name",
    "check_integer",
    "check_paired_samples",
    "check_positive",
    "check_workers",
]


def _to_numpy(values, name: str) -> np.ndarray:
    # torch is optional at this layer: recognise a tensor without importing torch.
    if type(values).__module__.startswith("torch") and hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as error:  # ragged lists and the like
        raise InputError(f"{name} could not be read as an array: {error}") from None
    return array


def as_sample_matrix(values, name: str = "x") -> np.ndarray:
    """Return ``values`` as a float64 array of shape (n, d).

    Parameters
    ----------
    values : array-like of shape (n,) or (n, d)
        Numbers: a numpy array, a (nested) list, or a torch tensor. A 1-D input is one column.
    name : str
        The argument's name, used in error messages.

    Raises
    ------
    InputError
        If the input is empty, not numeric, of more than two dimensions, or holds NaN or inf.
    """
    array = _to_numpy(values, name)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise InputError(f"{name} must hold numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 0:
        raise InputError(f"{name} must be an array of samples, got a scalar")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"{name} must have shape (n,) or (n, d), got shape {array.shape}")
    if array.shape[0] == 0:
        raise InputError(f"{name} is empty: it has no samples")
    if array.shape[1] == 0:
        raise InputError(f"{name} has zero dimensions (shape {array.shape})")
    array = np.ascontiguousarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        kind = "NaN" if np.isnan(array).any() else "inf"
        raise InputError(
            f"{name} contains {kind} (in {bad_rows.size} of {array.shape[0]} samples, first at "
            f"row {bad_rows[0]}); remove or impute those samples before estimating MI"
        )
    return array


def check_paired_samples(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate paired samples and return them as float64 arrays of shape (n, d_x), (n, d_y)."""
    x = as_sample_matrix(x, "x")
    y = as_sample_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise InputError(
            f"x and y must hold the same number of samples (paired rows), "
            f"got {x.shape[0]} and {y.shape[0]}"
        )
    return x, y


def check_integer(value, name: str, minimum: int | None = None) -> int:
    """Return ``value`` as an int; raise if it is not an integer or is below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_positive(value, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a float; raise unless it is a finite number > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def check_choice(value, name: str, choices):
    """Return ``value`` if it is one of ``choices``; raise with the list of valid choices."""
    if value not in choices:
        raise InputError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return value


def check_workers(value, name: str = "workers") -> int | None:
    """Return a thread count: None (the threads the process is given), -1 (every core) or >= 1."""
    if value is None:
        return None
    value = check_integer(value, name)
    if value == 0 or value < -1:
        raise InputError(
            f"{name} must be a positive number of threads, -1 (every core) or None (the threads "
            f"the process is given), got {value}"
        )
    return value


def check_device_name(device) -> str:
    """Return ``device`` if it is a device name mibench knows; raise otherwise.

    Valid forms are ``"cpu"``, ``"cuda"`` (the current CUDA device) and ``"cuda:N"`` (device
    number N). There is deliberately no ``"auto"``: the same parameters must give the same
    number, and the device is one of the parameters a record keeps. Only the form is checked,
    without importing torch, so that an estimator configured for a GPU can be built, listed and
    put in a grid on a machine without one; :func:`check_device` checks the machine when the
    estimator runs.

    Raises
    ------
    InputError
        If ``device`` is not one of those forms.
    """
    if not isinstance(device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise InputError(f"device must be 'cpu', 'cuda' or 'cuda:N' (N a number), got {device!r}")
    return device


def check_device(device) -> str:
    """Return ``device`` if it names a torch device this machine has; raise otherwise.

    Raises
    ------
    InputError
        If ``device`` is not one of the forms :func:`check_device_name` accepts, or names a
        CUDA device that this machine (or its torch) does not have.
    """
    if check_device_name(device) == "cpu":
        return device
    try:
        import torch  # only a CUDA request pays for importing torch here
    except ImportError:
        raise InputError(f"device={device!r} needs torch, which is not installed") from None
    if not torch.cuda.is_available():
        raise InputError(
            f"device={device!r} was asked for, but torch {torch.__version__} finds no CUDA "
            "device (torch.cuda.is_available() is False); use device='cpu'"
        )
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise InputError(
            f"device={device!r} was asked for, but torch finds only "
            f"{torch.cuda.device_count()} CUDA device(s), numbered from 0"
        )
    return device
