"""The record schema: every saved line is checked on read, and a wrong type names file:line."""

import json
import math

import pytest

from mibench.core.contracts import Record
from mibench.core.records import (
    RECORD_SCHEMA,
    RECORDS_FILENAME,
    load_records,
    parse_record_line,
    record_line,
)
from mibench.core.validation import InputError


def good_record(**changes) -> dict:
    record = Record(estimator="ksg", params={"k": 3}, dataset="1v1-normal-0.75", n=100, seed=0,
                    estimate=0.4, truth=0.41, seconds=0.01, status="ok", suite="beyond-normal-v1",
                    mibench_version="0.3.0", scoring="solved", tags=["beyond-normal-v1"],
                    suites=["beyond-normal-v1"])
    data = json.loads(record_line(record))
    data.update(changes)
    return data


#: Valid JSON, wrong types: each must be refused on read (the issue's cases and their kin).
WRONG = [
    ("n", "abc"), ("n", 1.5), ("n", True), ("n", 0),
    ("seed", "0"), ("seed", -1),
    ("estimate", "abc"), ("estimate", True),
    ("truth", "abc"),
    ("params", None), ("params", [1, 2]),
    ("seconds", "fast"),
    ("status", "done"),
    ("estimator", 5),
    ("dataset", None),
    ("error", 3),
    ("suite", 7),
    ("mibench_version", 2),
    ("tags", "beyond-normal"),
    ("suites", [1]),
    ("extras", "x"),
]


@pytest.mark.parametrize(("field", "value"), WRONG)
def test_a_wrong_type_is_one_error_naming_the_file_line_and_the_field(tmp_path, field, value):
    lines = [json.dumps(good_record()), json.dumps(good_record(**{field: value}))]
    (tmp_path / RECORDS_FILENAME).write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        load_records(tmp_path)
    message = str(caught.value)
    assert f"{RECORDS_FILENAME}:2" in message and field in message and "\n" not in message


def test_the_negative_control_a_well_typed_record_is_read_back_equal(tmp_path):
    data = good_record(truth="inf", error=None)
    record = parse_record_line(json.dumps(data), "here")
    assert record.truth == math.inf and record.tags == ["beyond-normal-v1"]
    assert parse_record_line(record_line(record), "again") == record


def test_a_missing_required_field_and_an_ok_run_without_estimate_are_refused():
    data = good_record()
    del data["seed"]
    with pytest.raises(InputError, match="'seed' is missing"):
        parse_record_line(json.dumps(data), "f:1")
    with pytest.raises(InputError, match="without an estimate"):
        parse_record_line(json.dumps(good_record(estimate=None)), "f:1")


def test_old_records_without_the_new_fields_still_read():
    data = good_record()
    for key in ("estimator_version", "scoring", "tags", "suites", "mibench_version", "extras"):
        data.pop(key)
    record = parse_record_line(json.dumps(data), "old")
    assert record.scoring is None and record.tags is None and record.mibench_version == ""
    assert all(required for key, (_, required) in RECORD_SCHEMA.items() if key in
               ("estimator", "params", "dataset", "n", "seed", "estimate", "truth", "status"))


def test_a_directory_is_read_through_records_jsonl_only(tmp_path):
    (tmp_path / RECORDS_FILENAME).write_text(json.dumps(good_record()) + "\n")
    (tmp_path / "notes.jsonl").write_text('{"n": "abc"}\n')  # not the store's: left alone
    assert len(load_records(tmp_path)) == 1
    # The control: the same line inside records.jsonl is refused.
    (tmp_path / RECORDS_FILENAME).write_text('{"n": "abc"}\n')
    with pytest.raises(InputError, match="records.jsonl:1"):
        load_records(tmp_path)
