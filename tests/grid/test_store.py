"""The result store: durable appends, one record per run, torn tails tolerated."""

import json
import math

import pytest

from mibench.core.contracts import Record
from mibench.core.records import RECORDS_FILENAME, load_records
from mibench.grid.store import ResultStore, record_key, run_key


def make_record(seed, status="ok", estimator="ksg", params=None, truth=0.5):
    return Record(
        estimator=estimator, params=params or {"k": 3}, dataset="1v1-normal-0.75", n=100,
        seed=seed, estimate=0.4 if status == "ok" else None, truth=truth, seconds=0.01,
        status=status, error=None if status == "ok" else "RuntimeError: boom",
        extras={"curve": [1.0, 2.0]},
    )


def test_appended_records_read_back_equal_and_in_order(tmp_path):
    records = [make_record(seed) for seed in range(5)] + [make_record(9, truth=math.inf)]
    with ResultStore(tmp_path) as store:
        for record in records:
            store.append(record)
    reopened = ResultStore(tmp_path)
    assert reopened.records() == records
    # The file is the plain records format every other tool reads.
    assert load_records(tmp_path) == records


def test_the_run_key_of_a_live_estimator_matches_its_stored_record(tmp_path):
    import mibench

    estimator = mibench.get_estimator("ksg", k=5)
    record = make_record(2, params=estimator.get_params())
    with ResultStore(tmp_path) as store:
        store.append(record)
    stored = ResultStore(tmp_path)
    assert run_key(estimator, "1v1-normal-0.75", 100, 2) in stored
    assert run_key(estimator, "1v1-normal-0.75", 100, 3) not in stored
    assert run_key(mibench.get_estimator("ksg", k=6), "1v1-normal-0.75", 100, 2) not in stored
    assert run_key(estimator, "1v1-normal-0.75", 100, 2, version="0.0.0-other") not in stored


def test_a_torn_last_line_is_dropped_with_a_warning_and_the_rest_kept(tmp_path):
    with ResultStore(tmp_path) as store:
        for seed in range(3):
            store.append(make_record(seed))
    path = tmp_path / RECORDS_FILENAME
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"estimator": "ksg", "params": {"k"')  # a kill mid-write
    assert [r.seed for r in load_records(tmp_path)] == [0, 1, 2]  # readers skip it meanwhile
    with pytest.warns(RuntimeWarning, match="torn last line"):
        store = ResultStore(tmp_path)
    assert [r.seed for r in store.records()] == [0, 1, 2]
    assert path.read_bytes() == whole  # repaired before anything is appended
    store.append(make_record(3))
    store.close()
    assert [r.seed for r in load_records(tmp_path)] == [0, 1, 2, 3]


def test_a_corrupt_line_in_the_middle_is_an_error_that_names_it(tmp_path):
    (tmp_path / RECORDS_FILENAME).write_text(json.dumps(make_record(0).to_dict()) + "\nnot json\n"
                                             + json.dumps(make_record(1).to_dict()) + "\n")
    with pytest.raises(ValueError, match=r"records.jsonl:2 is not a record"):
        ResultStore(tmp_path)


def test_rerunning_failed_records_keeps_each_run_once(tmp_path):
    with ResultStore(tmp_path) as store:
        store.append(make_record(0))
        store.append(make_record(1, status="failed"))
        failed_key = record_key(make_record(1))
        assert store.is_done(failed_key) and not store.is_done(failed_key, rerun_failed=True)
        assert store.forget_failed() == 1
        assert failed_key not in store
        store.append(make_record(1))
        # Appending a run already stored replaces it rather than duplicating it.
        store.append(make_record(0, params={"k": 3}))
    records = load_records(tmp_path)
    assert sorted(r.seed for r in records) == [0, 1]
    assert all(r.status == "ok" for r in records)


def test_out_must_be_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        ResultStore(tmp_path / "file")


def test_two_processes_cannot_write_one_store_at_once(tmp_path):
    first = ResultStore(tmp_path)
    with pytest.raises(ValueError, match="another mibench process is running into"):
        ResultStore(tmp_path)
    first.close()
    ResultStore(tmp_path).close()  # free again once the first is closed


def test_a_line_that_is_not_a_record_object_is_a_clear_error_and_releases_the_lock(tmp_path):
    from mibench.core.records import load_records
    from mibench.core.validation import InputError
    from mibench.grid.store import ResultStore

    (tmp_path / "records.jsonl").write_text("3\n")
    with pytest.raises(InputError, match=r"records.jsonl:1 is not a record"):
        load_records(tmp_path)
    with pytest.raises(InputError, match=r"records.jsonl:1 is not a record"):
        ResultStore(tmp_path)
    (tmp_path / "records.jsonl").write_text("")
    ResultStore(tmp_path).close()  # the failed open above left no lock behind
