"""The ``command`` estimator: an MI estimator that is an external program.

Estimators written in another language (R, Julia), or in Python with dependencies that cannot
live in mibench's environment (a JAX estimator pinned to old versions), are scored like any
other: mibench writes the sample to a file, runs the program, and reads one number from the
last line it prints. The run happens inside the runner's worker process (with ``--jobs``, the
timeout of ``--timeout`` and the timing of every other run) and the program gets its own
``timeout`` on top. As in the Beyond-Normal reference's ``ExternalEstimator``, the program is
given the path of the sample and the dimensions of X and Y.

The sample file
---------------
``sample_format="csv"``: a header ``x1,...,x{d_x},y1,...,y{d_y}``, then one row per sample,
every value written with 17 significant digits (``%.17g``: float64 read back exactly).
``sample_format="npy"``: one float64 array of shape (n, d_x + d_y), X's columns first
(``numpy.load``).

A working example, tested in ``tests/estimators/test_command.py``:
``examples/gaussian_mi_command.py``.
"""

from __future__ import annotations

import inspect
import math
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mibench.core.contracts import Estimate, Estimator
from mibench.core.validation import InputError, check_choice, check_integer, check_positive
from mibench.estimators.registry import register

__all__ = ["Command", "PLACEHOLDERS", "read_last_number", "write_sample"]

#: What may appear in the command's arguments; each is replaced for every run.
PLACEHOLDERS = ("{sample}", "{dim_x}", "{dim_y}", "{seed}")

_FORMATS = ("csv", "npy")
_UNITS = ("nats", "bits")
#: How much of the program's error output an error message quotes.
_QUOTED_CHARACTERS = 2000


def write_sample(path: Path, x: np.ndarray, y: np.ndarray, sample_format: str) -> None:
    """Write paired samples (n, d_x), (n, d_y) as one table, X's columns first."""
    table = np.hstack([x, y])
    if sample_format == "npy":
        np.save(path, table, allow_pickle=False)
        return
    header = ",".join([f"x{i + 1}" for i in range(x.shape[1])] + [f"y{i + 1}" for i in range(y.shape[1])])
    np.savetxt(path, table, fmt="%.17g", delimiter=",", header=header, comments="")


def read_last_number(output: str) -> float:
    """The number on the last non-empty line of ``output``; InputError if it is not one."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        raise InputError("the command printed nothing; it must print the MI estimate as its last line")
    try:
        return float(lines[-1])
    except ValueError:
        raise InputError(
            f"the last line the command printed is not a number: {lines[-1][:200]!r}; it must "
            "print the MI estimate alone on its last line"
        ) from None


def _argv(command) -> list[str]:
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as error:
            raise InputError(f"command {command!r} cannot be split into arguments: {error}") from None
    elif isinstance(command, Sequence) and all(isinstance(part, str) for part in command):
        argv = list(command)
    else:
        raise InputError(
            f"command must be a string or a list of strings (the program and its arguments), "
            f"got {command!r}"
        )
    if not argv or not argv[0]:
        raise InputError("command is empty: give the program to run, e.g. command='Rscript ksg.R'")
    return argv


def _find_program(program: str) -> None:
    """InputError when ``program`` is neither on PATH nor an executable file."""
    if os.sep in program or (os.altsep and os.altsep in program):
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise InputError(f"the command's program {program!r} is not an executable file")
    elif shutil.which(program) is None:
        raise InputError(f"the command's program {program!r} is not on PATH")


@register("command")
class Command(Estimator):
    """MI estimated by an external program: mibench writes the sample to a file, runs the
    program and reads the estimate it prints.

    The program is run without a shell, in the current working directory, with mibench's
    environment. Its arguments may contain the placeholders ``{sample}`` (the path of the
    sample file), ``{dim_x}``, ``{dim_y}`` and ``{seed}``; if none of them appears, the
    path, d_x and d_y are appended, as bmi's ``ExternalEstimator`` passes them. The program
    must print the estimate alone on the last non-empty line of its standard output (lines
    before it are ignored) and exit with status 0; anything else fails the run with an
    InputError that quotes its error output. The file is deleted afterwards.

    Parameters
    ----------
    command : str or list of str, required
        The program and its arguments, e.g. ``"Rscript ksg.R --k 5"`` (split like a POSIX
        shell would, without running one) or ``["julia", "hist.jl", "{sample}"]``.
    sample_format : {"csv", "npy"}, default "csv"
        How the sample is written (see the module's documentation).
    timeout : float or None, default 600.0
        Seconds the program may run; a program still running then is killed and the run
        fails. None: no limit of its own (the runner's ``--timeout`` still applies).
    unit : {"nats", "bits"}, default "nats"
        The unit of the number the program prints; bits are converted to nats.
    seed : int, default 0
        Passed to the program through ``{seed}``, for programs that draw random numbers.
    """

    def __init__(
        self,
        *,
        # No real default: a signature default of Parameter.empty reads as "required" to
        # inspect (listings, the asv suite), while a call without it gets an InputError.
        command: str | list[str] = inspect.Parameter.empty,
        sample_format: str = "csv",
        timeout: float | None = 600.0,
        unit: str = "nats",
        seed: int = 0,
    ):
        if command is inspect.Parameter.empty:
            raise InputError(
                "estimator 'command' needs command=, the program to run and its arguments, e.g. "
                "command='python examples/gaussian_mi_command.py'"
            )
        argv = _argv(command)
        _find_program(argv[0])
        self.command = command if isinstance(command, str) else list(command)
        self.sample_format = check_choice(sample_format, "sample_format", _FORMATS)
        self.timeout = None if timeout is None else check_positive(timeout, "timeout")
        self.unit = check_choice(unit, "unit", _UNITS)
        self.seed = check_integer(seed, "seed", minimum=0)

    def _arguments(self, sample: Path, dim_x: int, dim_y: int) -> list[str]:
        argv = _argv(self.command)
        values = {"{sample}": str(sample), "{dim_x}": str(dim_x), "{dim_y}": str(dim_y),
                  "{seed}": str(self.seed)}
        if not any(placeholder in part for part in argv[1:] for placeholder in PLACEHOLDERS):
            return [*argv, str(sample), str(dim_x), str(dim_y)]
        filled = []
        for part in argv:
            for placeholder, value in values.items():
                part = part.replace(placeholder, value)
            filled.append(part)
        return filled

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        with tempfile.TemporaryDirectory(prefix="mibench-command-") as folder:
            sample = Path(folder) / f"sample.{self.sample_format}"
            write_sample(sample, x, y, self.sample_format)
            argv = self._arguments(sample, x.shape[1], y.shape[1])
            try:
                finished = subprocess.run(
                    argv, capture_output=True, text=True, timeout=self.timeout, check=False,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                raise InputError(
                    f"the command {shlex.join(argv[:1])} did not finish within timeout="
                    f"{self.timeout:g} s and was stopped"
                ) from None
            except OSError as error:
                raise InputError(f"the command {shlex.join(argv[:1])} could not be run: {error}") from None
        if finished.returncode != 0:
            quoted = (finished.stderr or finished.stdout).strip()[-_QUOTED_CHARACTERS:]
            raise InputError(
                f"the command {shlex.join(argv[:1])} exited with status {finished.returncode}"
                + (f"; its output ends:\n{quoted}" if quoted else " and printed nothing")
            )
        value = read_last_number(finished.stdout)
        if not math.isfinite(value):
            raise InputError(f"the command printed {value!r}, not a finite MI estimate")
        if self.unit == "bits":
            value *= math.log(2.0)
        return Estimate(value, {"command": shlex.join(argv[:1] + ["..."])})
