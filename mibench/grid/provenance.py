"""Provenance: which software, on which machine, ran which grid into a result store.

``mibench run --out DIR`` writes ``DIR/provenance.json`` once; a later run into the same store
adds an entry only if something in it changed (another machine, other versions, another grid),
so the file says how every record of the store came about. ``mibench report DIR`` shows it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from mibench.core.cache import write_atomically
from mibench.core.validation import InputError

__all__ = ["PROVENANCE_FILENAME", "collect", "environment_lines", "read_provenance",
           "record_provenance"]

PROVENANCE_FILENAME = "provenance.json"

_PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "numba", "dask", "distributed")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    # torch takes seconds to import: ask it only if something already did, else nvidia-smi.
    torch = sys.modules.get("torch")
    if torch is not None:
        if not torch.cuda.is_available():
            return []
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listing.splitlines() if line.strip()]


def collect(grid: dict[str, Any] | None = None, executor: str | None = None) -> dict[str, Any]:
    """The provenance of a run starting now.

    Parameters
    ----------
    grid : dict, optional
        The grid as given (a grid file's contents, or the CLI's estimators, datasets, sizes and
        seeds).
    executor : str, optional
        How the runs were executed (e.g. ``"processes, jobs=2"``).
    """
    from mibench._version import __version__

    return {
        "mibench": __version__,
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in _PACKAGES if _version(name)},
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "gpus": _gpus(),
        "executor": executor,
        "grid": grid,
        "command": " ".join(sys.argv),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _fingerprint(entry: dict[str, Any]) -> str:
    # What makes two sessions different: everything but when and how they were started.
    kept = {k: v for k, v in entry.items() if k not in ("started", "command")}
    return json.dumps(kept, sort_keys=True, default=str)


def read_provenance(directory: str | Path) -> list[dict[str, Any]]:
    """The provenance entries of a store, oldest first; empty if it has none."""
    path = Path(directory) / PROVENANCE_FILENAME
    if not path.exists():
        return []
    try:
        return list(json.loads(path.read_text(encoding="utf-8"))["sessions"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise InputError(f"{path} is not a provenance file: {error}") from None


def record_provenance(directory: str | Path, entry: dict[str, Any]) -> bool:
    """Add ``entry`` to the store's provenance unless the last entry already says the same.

    Written atomically (temporary file, rename). Returns whether anything was written.
    """
    directory = Path(directory)
    sessions = read_provenance(directory)
    if sessions and _fingerprint(sessions[-1]) == _fingerprint(entry):
        return False
    sessions.append(entry)
    text = (json.dumps({"sessions": sessions}, indent=2, default=str) + "\n").encode("utf-8")
    write_atomically(directory / PROVENANCE_FILENAME, lambda handle: handle.write(text))
    return True


def environment_lines(directory: str | Path) -> list[str]:
    """Lines for a report's header: the software, machine and executor behind a store's
    records (the latest session, and how many differing sessions there were); empty if the
    store has no provenance."""
    sessions = read_provenance(directory)
    if not sessions:
        return []
    latest = sessions[-1]
    packages = ", ".join(f"{k} {v}" for k, v in (latest.get("packages") or {}).items())
    gpus = ", ".join(latest.get("gpus") or []) or "none"
    lines = [
        f"software: mibench {latest.get('mibench')}, Python {latest.get('python')}, {packages}",
        f"machine: {latest.get('cpu')}, {latest.get('cores')} cores, GPU: {gpus} "
        f"({latest.get('platform')})",
        f"executor: {latest.get('executor') or 'not recorded'}; started {latest.get('started')}",
    ]
    grid = latest.get("grid") or {}
    if grid.get("name"):
        lines.append(f"grid: {grid['name']}" + (f" ({grid['description']})"
                                                 if grid.get("description") else ""))
    if len(sessions) > 1:
        lines.append(f"the records come from {len(sessions)} sessions that differ in software, "
                     f"machine or grid ({PROVENANCE_FILENAME} lists them); the latest is shown")
    return lines
