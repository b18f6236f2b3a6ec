"""The per-user disk cache: trained networks and computed truths, kept across processes.

Where: ``$MIBENCH_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/mibench``, else
``~/.cache/mibench`` (``%LOCALAPPDATA%\\mibench\\Cache`` on Windows, ``~/Library/Caches/mibench``
on macOS), the places platformdirs would pick, without the dependency.

Keys: an entry's name is the SHA-256 of everything that determines its content (passed in by
the caller) plus the versions of mibench, numpy and torch, so that a new release, or a library
that computes differently, never reads an old entry. Entries are written to a temporary file in
the same directory and moved into place with ``os.replace`` (atomic), so two processes filling
the cache at once each write a whole file and a reader never sees half of one. A file that
cannot be read is treated as missing and written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import IO, Any

__all__ = [
    "CACHE_DIR_VARIABLE",
    "cache_dir",
    "entry_path",
    "key_digest",
    "library_versions",
    "read_json",
    "read_json_fields",
    "write_atomically",
    "write_json",
]

#: Environment variable naming the cache directory (tests point it at a temporary one).
CACHE_DIR_VARIABLE = "MIBENCH_CACHE_DIR"


def cache_dir() -> Path:
    """The cache directory (not created here); see the module docstring."""
    override = os.environ.get(CACHE_DIR_VARIABLE)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "mibench" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "mibench"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mibench"


@cache
def library_versions() -> dict[str, str]:
    """The versions of mibench, numpy and torch (read without importing torch)."""
    from mibench._version import __version__

    versions = {"mibench": __version__}
    for name in ("numpy", "torch"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def key_digest(key: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``key`` and :func:`library_versions`, as canonical JSON."""
    payload = json.dumps(
        {"key": key, "versions": library_versions()}, sort_keys=True, default=repr
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def entry_path(kind: str, key: dict[str, Any], suffix: str) -> Path:
    """The file of the entry ``key`` of kind ``kind`` (a subdirectory), e.g. ``.json``."""
    return cache_dir() / kind / f"{key_digest(key)}{suffix}"


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it onto ``path``.

    THE atomic write of mibench (cache entries, the result store's rewrites, provenance): the
    file is fsync'd before the rename and the directory after it, so a crash leaves either the
    old file or the new one, whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # The rename itself must reach the disk, or a crash could bring the old file back.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(kind: str, key: dict[str, Any]) -> Any | None:
    """The value stored under ``key``, or None if it is missing or unreadable.

    The caller still checks the value's structure (:func:`read_json` cannot know it) and treats
    a value of the wrong shape as missing too.
    """
    try:
        stored = json.loads(entry_path(kind, key, ".json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    # The digest names the file; the key inside guards against a foreign or damaged file.
    if not isinstance(stored, dict) or stored.get("key") != json.loads(json.dumps(key)):
        return None
    return stored.get("value")


def read_json_fields(kind: str, key: dict[str, Any], fields: dict[str, type]) -> dict | None:
    """The value stored under ``key`` if it is an object holding each of ``fields`` with its
    type (``float`` accepts any JSON number), else None: a structurally wrong entry is missing,
    as an unreadable one is, and is computed and written again.

    Parameters
    ----------
    kind : str
        The entry's kind (a subdirectory of the cache), e.g. ``"truths"``.
    key : dict
        What determines the entry.
    fields : dict of str to type
        The fields the value must have, e.g. ``{"value": float, "stderr": float}``.
    """
    stored = read_json(kind, key)
    if not isinstance(stored, dict):
        return None
    checked = {}
    for name, kind_of in fields.items():
        value = stored.get(name)
        if kind_of is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            value = float(value)
        elif not isinstance(value, kind_of):
            return None
        checked[name] = value
    return checked


def write_json(kind: str, key: dict[str, Any], value: Any) -> None:
    """Store ``value`` (JSON; inf and nan allowed) under ``key``; a failure to write is ignored.

    The cache only saves time: an unwritable cache directory must not stop the work.
    """
    data = json.dumps({"key": key, "value": value}).encode()
    try:
        write_atomically(entry_path(kind, key, ".json"), lambda file: file.write(data))
    except OSError:
        pass
