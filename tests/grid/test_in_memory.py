"""A sample held in memory runs through the grid's run path: the same number as the estimator
called directly, a failed record (never a traceback) for a run that raises, returns NaN, times
out or kills its process, and the record's truth, seed and columns as the caller gave them."""

import math

import numpy as np
import pytest
from _faulty_estimators import Correlation, ExitsProcess, Raises, ReturnsNaN, Sleeps

from mibench.core.errors import InputError
from mibench.core.records import load_records, save_records
from mibench.estimators import get_estimator
from mibench.grid.in_memory import IN_MEMORY_TAG, SampleRunner, run_on_sample, sample_dataset

TIMEOUT = 0.5


def correlated(n=200, seed=0, rho=0.6):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)


def test_inline_gives_the_direct_number_and_the_callers_truth_seed_and_columns():
    x, y = correlated()
    for estimator in (Correlation(), get_estimator("ksg", k=3), get_estimator("binning", n_bins=8)):
        record = run_on_sample(estimator, x, y, truth=0.2231, seed=7, name="test:sample",
                               columns={"w": np.float64(0.5), "layer": "tanh"})
        assert record.status == "ok", record.error
        assert record.estimate == pytest.approx(estimator.estimate(x, y), rel=1e-12, abs=1e-12)
        assert (record.truth, record.seed, record.n, record.dataset) == (0.2231, 7, 200,
                                                                         "test:sample")
        assert record.tags == [IN_MEMORY_TAG] and record.suite is None
        assert record.extras["columns"] == {"w": 0.5, "layer": "tanh"}
    # The control: the same comparison tells a different estimator apart.
    shifted = run_on_sample(Correlation(shift=1e-6), x, y)
    assert shifted.estimate != pytest.approx(Correlation().estimate(x, y), rel=1e-12, abs=1e-12)


def test_infinite_and_unknown_truths_and_the_records_round_trip(tmp_path):
    x, y = correlated(n=50)
    runner = SampleRunner(name="test:round-trip")
    runner.run(Correlation(), x, y, truth=math.inf)
    runner.run(Correlation(), x, y)
    runner.run(Raises(), x, y, truth=0.1)
    assert [r.truth for r in runner.records] == [math.inf, None, 0.1]
    loaded = load_records(save_records(runner.records, tmp_path / "records.jsonl"))
    assert [(r.status, r.truth, r.estimate) for r in loaded] == [
        (r.status, r.truth, r.estimate) for r in runner.records]


def test_a_run_that_raises_or_returns_nan_is_a_failed_record_inline():
    x, y = correlated(n=50)
    raised = run_on_sample(Raises(), x, y, truth=0.1)
    assert raised.status == "failed" and raised.estimate is None and raised.truth == 0.1
    assert "RuntimeError: this estimator always fails" in raised.error
    nan = run_on_sample(ReturnsNaN(), x, y)
    assert nan.status == "failed" and "returned nan" in nan.error
    too_few = run_on_sample(get_estimator("ksg", k=60), x, y)
    assert too_few.status == "failed" and "too few samples" in too_few.error


def test_with_a_timeout_runs_are_isolated_and_each_sample_is_its_own():
    x, y = correlated(n=100)
    other_x, other_y = correlated(n=100, seed=1, rho=0.9)  # same n and seed: a new sample all the same
    with SampleRunner(timeout=TIMEOUT, name="test:isolated") as runner:
        assert (runner.executor, runner.describe()) == ("serial", f"serial, timeout={TIMEOUT}")
        first = runner.run(Correlation(), x, y)
        slow = runner.run(Sleeps(seconds=30), x, y, truth=0.3, columns={"w": 1})
        died = runner.run(ExitsProcess(), x, y)
        unsendable = Correlation()
        unsendable.hook = lambda: None  # a local function: cannot be pickled to the worker
        refused = runner.run(unsendable, x, y)
        second = runner.run(Correlation(), other_x, other_y)
    assert first.estimate == pytest.approx(Correlation().estimate(x, y), rel=1e-12)
    assert slow.status == "failed" and f"timed out after {TIMEOUT:g} s" in slow.error
    assert (slow.truth, slow.extras["columns"]) == (0.3, {"w": 1})
    assert died.status == "failed" and "process died" in died.error
    assert refused.status == "failed" and "cannot be sent to a worker process" in refused.error
    # ... and the worker goes on: the next run on it succeeds (checked just below)
    assert second.estimate == pytest.approx(Correlation().estimate(other_x, other_y), rel=1e-12)
    assert second.estimate != pytest.approx(first.estimate, rel=1e-3)  # not the cached sample


def test_bad_samples_and_settings_are_input_errors():
    x, y = correlated(n=20)
    with pytest.raises(InputError, match="same number of rows"):
        sample_dataset(x, y[:10])
    with pytest.raises(InputError, match="no samples"):
        sample_dataset(x[:0], y[:0])
    with pytest.raises(InputError, match="must be an array"):
        sample_dataset(3.0, y)
    with pytest.raises(InputError, match="seed"):
        run_on_sample(Correlation(), x, y, seed=-1)
    with pytest.raises(InputError, match="timeout"):
        SampleRunner(timeout=-1)
    with pytest.raises(InputError, match="cannot enforce a timeout"):
        SampleRunner(timeout=1, executor="inline")
    with pytest.raises(InputError, match="inline or serial"):
        SampleRunner(executor="processes")


def test_the_sample_is_drawn_as_every_sample_is():
    x, y = correlated(n=30)
    dataset = sample_dataset(x, np.column_stack([y, y]), truth=None)
    drawn_x, drawn_y = dataset.sample(30, seed=5)
    assert drawn_x.shape == (30, 1) and drawn_y.shape == (30, 2)
    assert np.array_equal(drawn_x[:, 0], x) and not dataset.truth_is_known
    with pytest.raises(InputError, match="30 rows"):
        dataset.sample(10)
