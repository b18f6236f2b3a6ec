"""Saving and loading records: one JSON object per line, MI in nats, extras included.

Infinite truths are written as the string "inf" (JSON has no infinity), and read back as
``math.inf``; everything else is plain JSON.

This module is the one place a record is turned into a line (:func:`record_line`) and a line
into a record (:func:`parse_record_line`). Reading checks every field against the record schema
(:data:`RECORD_SCHEMA`): a line of valid JSON whose fields have the wrong types (``"n": "abc"``,
``"params": null``) is an :class:`InputError` naming ``file:line`` and the field, never a record
that breaks a report later.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mibench.core.contracts import Record
from mibench.core.validation import InputError

__all__ = [
    "RECORDS_FILENAME",
    "RECORD_SCHEMA",
    "STATUSES",
    "check_record_fields",
    "json_safe",
    "load_records",
    "params_text",
    "parse_record_line",
    "record_line",
    "save_records",
]

#: The file ``mibench run --out DIR`` writes and ``mibench report DIR`` reads.
RECORDS_FILENAME = "records.jsonl"

#: The statuses of a record: ran, raised (or returned a non-finite number), or not run because
#: the estimator's quantity is not one the dataset provides.
STATUSES = ("ok", "failed", "skipped")

_NON_FINITE = ("inf", "-inf", "nan")

#: Each field of a saved record: (what it must be, required). Records written before 0.3 lack
#: the optional ones.
RECORD_SCHEMA: dict[str, tuple[str, bool]] = {
    "estimator": ("str", True),
    "params": ("object", True),
    "dataset": ("non-empty str", True),
    "n": ("int >= 1", True),
    "seed": ("int >= 0", True),
    "estimate": ("number or null", True),
    "truth": ("number, \"inf\" or null", True),
    "seconds": ("number >= 0", True),
    "status": (f"one of {', '.join(STATUSES)}", True),
    "error": ("str or null", False),
    "suite": ("str or null", False),
    "mibench_version": ("str", False),
    "estimator_version": ("str or null", False),
    "scoring": ("str or null", False),
    "tags": ("list of str or null", False),
    "suites": ("list of str or null", False),
    "extras": ("object", False),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number_or_special(value: Any) -> bool:
    return _is_number(value) or value in _NON_FINITE


def _str_list_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


_CHECKS = {
    "estimator": lambda v: isinstance(v, str),
    "params": lambda v: isinstance(v, dict),
    "dataset": lambda v: isinstance(v, str) and bool(v),
    "n": lambda v: _is_int(v) and v >= 1,
    "seed": lambda v: _is_int(v) and v >= 0,
    "estimate": lambda v: v is None or _number_or_special(v),
    "truth": lambda v: v is None or _number_or_special(v),
    "seconds": lambda v: _is_number(v) and v >= 0,
    "status": lambda v: v in STATUSES,
    "error": lambda v: v is None or isinstance(v, str),
    "suite": lambda v: v is None or isinstance(v, str),
    "mibench_version": lambda v: isinstance(v, str),
    "estimator_version": lambda v: v is None or isinstance(v, str),
    "scoring": lambda v: v is None or isinstance(v, str),
    "tags": _str_list_or_null,
    "suites": _str_list_or_null,
    "extras": lambda v: isinstance(v, dict),
}


def check_record_fields(data: dict[str, Any]) -> None:
    """TypeError naming the first field of ``data`` that the schema refuses (or lacks)."""
    for key, (kind, required) in RECORD_SCHEMA.items():
        if key not in data:
            if required:
                raise TypeError(f"the field {key!r} is missing")
            continue
        if not _CHECKS[key](data[key]):
            raise TypeError(f"{key} must be {kind}, got {json.dumps(data[key])[:60]}")
    if data["status"] == "ok" and data["estimate"] is None:
        raise TypeError("status 'ok' without an estimate")


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


def params_text(params: dict[str, Any]) -> str:
    """THE text of an estimator's parameters, to compare and group settings: sorted JSON, as
    the values read back from a saved record give it too (tuples as lists, inf as "inf").
    Canonicalize the values by their declared types first
    (:func:`mibench.core.contracts.canonical_params`); records hold them canonical."""
    return json.dumps(json_safe(params), sort_keys=True, default=str)


def _from_json(value: Any) -> Any:
    if value in _NON_FINITE:
        return float(value)
    return value


def record_line(record: Record) -> str:
    """THE serialized form of a record: one JSON line (with its newline), extras included."""
    return json.dumps(json_safe(record.to_dict(include_extras=True))) + "\n"


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def parse_record_line(line: str | bytes, where: str) -> Record:
    """One saved record from its JSON line; an InputError naming ``where`` (``file:line``) if
    it is not one: not JSON, not an object, or a field of the wrong type
    (:data:`RECORD_SCHEMA`)."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        check_record_fields(data)
        data["truth"] = _from_json(data.get("truth"))
        data["estimate"] = _from_json(data.get("estimate"))
        return Record.from_dict(data)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as error:
        raise InputError(f"{where} is not a record: {error}") from None


def save_records(records: Iterable[Record], path: str | Path) -> Path:
    """Write records to a JSON-lines file, replacing it."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record_line(record))
    return path


def load_records(path: str | Path) -> list[Record]:
    """Read records from a JSON-lines file, or from ``DIR/records.jsonl`` of a directory.

    Only ``records.jsonl`` is read in a directory: any other ``*.jsonl`` there is not a store's
    and is left alone. Each line is checked (:func:`parse_record_line`).
    """
    path = Path(path)
    if path.is_dir():
        file = path / RECORDS_FILENAME
        if not file.is_file():
            raise InputError(f"no records: {path} holds no {RECORDS_FILENAME}")
    elif path.exists():
        file = path
    else:
        raise InputError(f"no such file or directory: {path}")
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputError(f"cannot read {file}: {error.strerror or error}") from None
    lines = text.splitlines()
    if text and not text.endswith("\n") and not _parses(lines[-1]):
        # A run killed mid-write leaves a torn last line; `mibench run` cuts it off when it
        # resumes. Reading must not fail on it meanwhile.
        lines.pop()
    records = []
    for line_number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        records.append(parse_record_line(line, f"{file}:{line_number}"))
    return records
