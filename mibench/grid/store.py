"""The result store: a directory whose ``records.jsonl`` grows by one fsync'd line per finished run.

``mibench run --out DIR`` appends every record the moment it exists, so a grid that is killed
keeps everything it finished; run again, it skips what is stored and does the rest. A run is
identified by its :func:`run_key` (the estimator's identity and, for a plugin, its distribution's
version; its params, canonical by their declared types; dataset, n, seed, mibench version), and the
file holds each key at most once: re-running failed runs (``--rerun-failed``) first rewrites the
file without them, atomically.

A kill can tear the last line (a write cut short). Opening the store cuts such a tail off, with
a warning; everything before it is whole, because each record is a single ``write`` of one line
to a file opened for appending, followed by ``fsync``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from mibench.core.cache import write_atomically
from mibench.core.contracts import (
    Estimator,
    Record,
    canonical_params,
    estimator_identity,
    estimator_version,
)
from mibench.core.records import RECORDS_FILENAME, params_text, parse_record_line, record_line
from mibench.core.validation import InputError

__all__ = ["ResultStore", "RunKey", "run_key", "record_key"]

#: (estimator identity, plugin version, params, dataset, n, seed, mibench version)
RunKey = tuple[str, str, str, str, int, int, str]


def _current_version() -> str:
    from mibench._version import __version__

    return __version__


def run_key(estimator: Estimator, dataset: str, n: int, seed: int,
            version: str | None = None) -> RunKey:
    """The identity of one run.

    (estimator identity, plugin version, params, dataset, n, seed, mibench version): the
    identity is the registry name, or ``module:qualname`` of an unregistered class
    (:func:`mibench.core.contracts.estimator_identity`), so two unregistered estimators never
    share a key; a plugin's distribution version is part of it, so a new release of the plugin
    is a new run; params are canonical by their declared types
    (:func:`mibench.core.contracts.canonical_params`), so ``variant=1``, ``1.0`` and ``True``
    are one run.
    """
    return (estimator_identity(estimator), estimator_version(estimator) or "",
            params_text(canonical_params(estimator)), dataset, int(n), int(seed),
            version or _current_version())


def record_key(record: Record) -> RunKey:
    """The :func:`run_key` of the run a record came from (its params were stored canonical)."""
    version = getattr(record, "mibench_version", None) or _current_version()
    return (record.estimator, record.estimator_version or "", params_text(record.params),
            record.dataset, int(record.n), int(record.seed), version)


def _record_line(record: Record) -> bytes:
    return record_line(record).encode("utf-8")


class ResultStore:
    """The records of one output directory, loaded once and appended to as runs finish.

    Parameters
    ----------
    directory : str or Path
        Created if missing. Records live in ``directory/records.jsonl``.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise InputError(f"--out must be a directory, and {self.directory} is a file")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / RECORDS_FILENAME
        self._records: dict[RunKey, Record] = {}
        self._fd: int | None = None
        self._lock = _lock_directory(self.directory)
        try:
            self._load()
        except BaseException:
            self.close()  # a store that could not be read must not keep the directory locked
            raise

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good_end = data.rfind(b"\n") + 1
        if good_end < len(data):
            # A kill cut the last write short: that run is not finished, so it is not stored.
            warnings.warn(
                f"{self.path}: dropping a torn last line ({len(data) - good_end} bytes) "
                "left by an interrupted run; that run will be done again",
                RuntimeWarning,
                stacklevel=3,
            )
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
                os.fsync(handle.fileno())
        for number, line in enumerate(data[:good_end].splitlines(), 1):
            if not line.strip():
                continue
            record = parse_record_line(line, f"{self.path}:{number}")
            self._records[record_key(record)] = record

    # --- reading ---

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: RunKey) -> bool:
        return key in self._records

    def get(self, key: RunKey) -> Record | None:
        """The stored record of a run, or None."""
        return self._records.get(key)

    def records(self) -> list[Record]:
        """Every stored record, one per run, in the order they were stored."""
        return list(self._records.values())

    def is_done(self, key: RunKey, rerun_failed: bool = False) -> bool:
        """Whether the run needs no doing: stored, and not a failure that is to be retried."""
        record = self._records.get(key)
        if record is None:
            return False
        return not (rerun_failed and record.status == "failed")

    # --- writing ---

    def append(self, record: Record) -> None:
        """Store one record durably: one line, one ``write``, then ``fsync``.

        A record of a run that is already stored replaces it (the file is rewritten once).
        """
        key = record_key(record)
        if key in self._records:
            self._rewrite([r for k, r in self._records.items() if k != key])
            self._records.pop(key)
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        line = _record_line(record)
        written = os.write(self._fd, line)
        if written != len(line):  # a short write on a regular file: disk full
            raise OSError(f"could not write a whole record to {self.path} (disk full?)")
        os.fsync(self._fd)
        self._records[key] = record

    def forget_failed(self, keys: Iterable[RunKey] | None = None) -> int:
        """Remove failed records (only those of ``keys`` if given) before they are re-run.

        The file is rewritten atomically (a temporary file, fsync, rename). Returns how many
        records were removed.
        """
        wanted = None if keys is None else set(keys)
        drop = [k for k, r in self._records.items()
                if r.status == "failed" and (wanted is None or k in wanted)]
        if drop:
            for key in drop:
                del self._records[key]
            self._rewrite(self._records.values())
        return len(drop)

    def _rewrite(self, records: Iterable[Record]) -> None:
        self._close_file()
        lines = b"".join(_record_line(record) for record in records)
        write_atomically(self.path, lambda handle: handle.write(lines))

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Close the file and let another mibench process use the store."""
        self._close_file()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _lock_directory(directory: Path):
    """An exclusive lock on the store, held until the returned file is closed, so that two
    mibench processes never write one store at the same time (each would run what the other
    is running). None where file locks do not exist (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    handle = open(directory / ".lock", "a")  # held open for the store's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise InputError(
            f"another mibench process is running into {directory}; wait for it to finish, or "
            "give another --out"
        ) from None
    return handle
