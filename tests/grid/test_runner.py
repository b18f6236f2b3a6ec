"""The grid runner: records as DESIGN.md defines them, failures recorded, nothing lost."""

import math

import numpy as np
import pytest

import mibench
from mibench.core.contracts import RECORD_KEYS, Dataset, Estimator
from mibench.grid.runner import run_one


class FailsOnWideData(Estimator):
    """Raises on data of more than one dimension; otherwise the Gaussian baseline."""

    name = "test-fails-on-wide-data"

    def __init__(self):
        pass

    def _estimate(self, x, y):
        if x.shape[1] > 1:
            raise RuntimeError("cannot handle wide data")
        return mibench.get_estimator("gaussian").estimate(x, y)


class ReturnsNaN(Estimator):
    name = "test-returns-nan"

    def __init__(self):
        pass

    def _estimate(self, x, y):
        return math.nan


DATASETS = ["1v1-normal-0.75", "multinormal-dense-2-2-0.5", "independent-normal-1-1"]


def test_records_have_the_design_fields_in_grid_order():
    records = mibench.run("ksg", DATASETS[:2], n=[200, 400], seeds=[0, 1], params={"k": 4})
    assert [(r.dataset, r.n, r.seed) for r in records] == [
        (d, n, s) for d in DATASETS[:2] for n in (200, 400) for s in (0, 1)
    ]
    for record in records:
        assert set(record.to_dict()) == set(RECORD_KEYS)
        assert record.status == "ok" and record.error is None
        assert record.params["k"] == 4
        assert record.truth == mibench.get_dataset(record.dataset).mutual_information
        assert record.seconds >= 0
        x, y = mibench.get_dataset(record.dataset).sample(record.n, record.seed)
        assert record.estimate == mibench.estimate(x, y, "ksg", k=4)


def test_a_failing_run_becomes_a_failed_record_and_the_grid_goes_on():
    seen = []
    records = mibench.run([FailsOnWideData(), "ksg"], DATASETS, n=300, on_record=seen.append)
    assert seen == records and len(records) == 6
    failed = [r for r in records if r.status == "failed"]
    assert [(r.estimator, r.dataset) for r in failed] == [
        ("test-fails-on-wide-data", "multinormal-dense-2-2-0.5")
    ]
    assert "RuntimeError: cannot handle wide data" in failed[0].error
    assert failed[0].estimate is None and failed[0].truth == pytest.approx(0.2939, abs=1e-4)
    assert all(r.status == "ok" for r in records if r is not failed[0])


def test_a_non_finite_estimate_is_a_failure_not_a_number():
    record = run_one(ReturnsNaN(), "1v1-normal-0.75", 100, 0)
    assert record.status == "failed" and "nan" in record.error


def test_bad_grid_arguments_fail_before_any_work():
    with pytest.raises(ValueError, match="unknown dataset"):
        mibench.run("ksg", ["1v1-normal-0.75", "no-such-task"])
    with pytest.raises(ValueError, match="n must be at least 1"):
        mibench.run("ksg", "1v1-normal-0.75", n=0)
    with pytest.raises(ValueError, match="unknown estimator"):
        mibench.run("nope", "1v1-normal-0.75")


def test_default_datasets_are_the_default_suite():
    records = mibench.run("gaussian", n=100)
    assert [r.dataset for r in records] == mibench.list_datasets("default")


def test_custom_dataset_objects_run_too():
    def sample(n, rng):
        x = rng.normal(size=(n, 1))
        return x, x + rng.normal(size=(n, 1))

    dataset = Dataset("custom-additive", 1, 1, 0.5 * math.log(2.0), sample)
    (record,) = mibench.run("ksg", dataset, n=5000)
    assert record.dataset == "custom-additive"
    assert record.estimate == pytest.approx(0.5 * math.log(2.0), abs=0.05)


def test_process_workers_give_the_same_records_as_one_process():
    serial = mibench.run("ksg", DATASETS, n=500)
    parallel = mibench.run("ksg", DATASETS, n=500, workers=2)
    assert [r.estimate for r in parallel] == [r.estimate for r in serial]
    assert np.all([r.status == "ok" for r in parallel])
