"""Saving and loading records: one JSON object per line, MI in nats, extras included.

Infinite truths are written as the string "inf" (JSON has no infinity), and read back as
``math.inf``; everything else is plain JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mibench.core.contracts import Record
from mibench.core.validation import InputError

__all__ = [
    "RECORDS_FILENAME",
    "append_record",
    "json_safe",
    "load_records",
    "parse_record_line",
    "save_records",
]

#: The file ``mibench run --out DIR`` writes and ``mibench report DIR`` reads.
RECORDS_FILENAME = "records.jsonl"


def json_safe(value: Any) -> Any:
    """Replace non-finite floats by the strings "inf", "-inf", "nan", recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def _from_json(value: Any) -> Any:
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def parse_record_line(line: str | bytes, where: str) -> Record:
    """One saved record from its JSON line; an InputError naming ``where`` if it is not one."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        data["truth"] = _from_json(data.get("truth"))
        return Record.from_dict(data)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as error:
        raise InputError(f"{where} is not a record: {error}") from None


def append_record(record: Record, path: str | Path) -> None:
    """Append one record to a JSON-lines file (created if missing)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(json_safe(record.to_dict(include_extras=True))) + "\n")


def save_records(records: Iterable[Record], path: str | Path) -> Path:
    """Write records to a JSON-lines file, replacing it."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(json_safe(record.to_dict(include_extras=True))) + "\n")
    return path


def load_records(path: str | Path) -> list[Record]:
    """Read records from a JSON-lines file, or from ``records.jsonl`` (and any other
    ``*.jsonl``) inside a directory."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise InputError(f"no records (*.jsonl) in directory {path}")
    elif path.exists():
        files = [path]
    else:
        raise InputError(f"no such file or directory: {path}")
    records = []
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines()
        if text and not text.endswith("\n") and not _parses(lines[-1]):
            # A run killed mid-write leaves a torn last line; `mibench run` cuts it off when it
            # resumes. Reading must not fail on it meanwhile.
            lines.pop()
        for line_number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            records.append(parse_record_line(line, f"{file}:{line_number}"))
    return records
