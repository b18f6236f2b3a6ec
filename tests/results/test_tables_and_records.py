"""Scoring, the text summary, and records saved and loaded back."""

import json
import math

import pytest

from mibench.core.contracts import Record
from mibench.core.records import load_records, save_records
from mibench.results.scoring import is_scorable, is_solved, log_ratio, to_unit
from mibench.results.tables import records_json, records_summary, records_table


def make_record(dataset, estimate, truth, status="ok", suite="beyond-normal-v1", **extras):
    return Record(
        estimator="ksg", params={"k": 3}, dataset=dataset, n=100, seed=0, estimate=estimate,
        truth=truth, seconds=0.5, status=status,
        error=None if status == "ok" else "ValueError: broken", suite=suite, extras=extras,
    )


@pytest.mark.parametrize(
    ("estimate", "truth", "solved"),
    [(1.0, 1.0, True), (1.49, 1.0, True), (1.51, 1.0, False), (0.67, 1.0, True),
     (0.66, 1.0, False), (-0.1, 1.0, False), (0.0, 1.0, False), (None, 1.0, False),
     (0.1, 0.0, False), (3.0, math.inf, False), (1.0, None, False)],
)
def test_beyond_normal_criterion(estimate, truth, solved):
    assert is_solved(estimate, truth) is solved


def test_log_ratio_and_scorability():
    assert log_ratio(2.0, 1.0) == pytest.approx(math.log(2))
    assert math.isnan(log_ratio(1.0, 0.0)) and math.isnan(log_ratio(-1.0, 1.0))
    assert not is_scorable(math.inf) and not is_scorable(None) and is_scorable(0.1)


def test_bits_conversion():
    assert to_unit(math.log(2), "bits") == pytest.approx(1.0)
    assert to_unit(math.inf, "bits") == math.inf and to_unit(None, "bits") is None
    with pytest.raises(ValueError, match="unit"):
        to_unit(1.0, "bans")


def test_summary_counts_solved_bias_infinite_and_failed():
    records = [
        make_record("a", 1.4, 1.0), make_record("b", 1.6, 1.0), make_record("c", 0.12, 0.1),
        make_record("zero", -0.02, 0.0, suite="independent-v1"),
        make_record("layer", 5.0, math.inf, suite="network-layers-v1"),
        make_record("d", None, 1.0, status="failed"),
    ]
    summary = records_summary(records)
    line = {text.split()[0]: text for text in summary.splitlines() if text.startswith("  ")}
    assert "n=100, 1 seed: solved 2 of 4 tasks" in line["beyond-normal-v1"]
    assert "1 pairs with true MI 0: mean estimate -0.0200 nats" in line["independent-v1"]
    assert "\n      1 deterministic with an infinite truth: estimate 5.0000 nats" in summary
    assert "6 runs, 1 failed" in summary
    table = records_table(records)
    assert "FAILED" in table and "ValueError: broken" in table and "inf" in table


def test_records_round_trip_with_infinite_truth_and_extras(tmp_path):
    records = [make_record("layer", 5.0, math.inf, truth_stderr=0.01),
               make_record("d", None, None, status="failed")]
    path = save_records(records, tmp_path / "records.jsonl")
    assert '"truth": "inf"' in path.read_text()
    loaded = load_records(tmp_path)
    assert loaded == records
    rows = json.loads(records_json(records))
    assert rows[0]["truth"] == "inf" and "extras" not in rows[0]


def test_a_corrupt_records_file_names_the_line(tmp_path):
    (tmp_path / "records.jsonl").write_text('{"estimator": "ksg"}\nnot json\n')
    with pytest.raises(ValueError, match=r"records.jsonl:1 is not a record"):
        load_records(tmp_path)
