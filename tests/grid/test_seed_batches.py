"""The runner trains the seeds of a neural estimator together (issue 22): seed groups."""

import dataclasses
import math

import pytest
from _faulty_estimators import BatchesSeeds, Correlation

from mibench.grid.executors import InlineExecutor
from mibench.grid.runner import MAX_SEEDS_PER_BATCH, batches_seeds, run

DATASET = "1v1-normal-0.75"


def comparable(record):
    return (record.estimator, record.dataset, record.n, record.seed, record.status,
            record.estimate)


def test_a_seed_group_gives_each_seed_the_record_it_gets_alone():
    seeds = list(range(4))
    together = run(BatchesSeeds(), DATASET, n=300, seeds=seeds)
    alone = run(BatchesSeeds(), DATASET, n=300, seeds=seeds, batch_seeds=False)
    assert [comparable(r) for r in together] == [comparable(r) for r in alone]
    assert all(r.extras["seeds_in_batch"] == 4 for r in together)
    assert all("seeds_in_batch" not in r.extras for r in alone)
    # The estimator's own seed trains every run, as it does one run at a time.
    assert {r.extras["training_seed"] for r in together} == {0}
    # Negative control: the seeds' estimates differ, so a group that handed one seed's record
    # to another would be caught by the comparison above.
    assert len({r.estimate for r in alone}) == len(seeds)


def test_groups_hold_at_most_the_batch_size_and_only_one_setting_dataset_and_n():
    seeds = list(range(MAX_SEEDS_PER_BATCH + 2))
    records = run([BatchesSeeds(), Correlation()], DATASET, n=[200, 300], seeds=seeds)
    batched = [r for r in records if r.estimator == "test-batches-seeds"]
    sizes = sorted(r.extras["seeds_in_batch"] for r in batched)
    # per n: one batch of the maximum size and one of the rest
    assert sizes == sorted([MAX_SEEDS_PER_BATCH] * MAX_SEEDS_PER_BATCH * 2 + [2] * 4)
    assert all(r.status == "ok" for r in records)
    assert not batches_seeds(Correlation()) and batches_seeds(BatchesSeeds())


class LosesBatches(InlineExecutor):
    """Inline, but every task of several runs is lost, as a batch that timed out would be."""

    def map(self, tasks, work, on_record):
        for task in tasks:
            if task.runs > 1:
                on_record(task.index, work.failed(task, "timed out (simulated)"))
        super().map([task for task in tasks if task.runs == 1], work, on_record)


def test_a_lost_batch_is_run_again_seed_by_seed():
    records = run(BatchesSeeds(), DATASET, n=300, seeds=[0, 1, 2], executor=LosesBatches())
    assert [r.status for r in records] == ["ok"] * 3
    assert all("seeds_in_batch" not in r.extras for r in records)
    expected = run(Correlation(), DATASET, n=300, seeds=[0, 1, 2])
    assert [r.estimate for r in records] == pytest.approx([r.estimate for r in expected])


@pytest.mark.slow  # a process started, killed and started again; test_a_lost_batch_... is fast
def test_a_batch_that_times_out_is_run_again_seed_by_seed():
    # A batch may take timeout x seeds (1 s here); this one sleeps far longer, single runs don't.
    records = run(BatchesSeeds(batch_sleep=60), DATASET, n=300, seeds=[0, 1], timeout=0.5,
                  executor="serial")
    assert [r.status for r in records] == ["ok", "ok"]
    assert all("seeds_in_batch" not in r.extras for r in records)
    expected = run(Correlation(), DATASET, n=300, seeds=[0, 1])
    assert [r.estimate for r in records] == pytest.approx([r.estimate for r in expected])


@pytest.mark.slow  # starts a worker process and waits 2 s
def test_a_batch_may_take_the_timeout_times_its_seeds():
    # 4 seeds, 1 s each: the batch sleeps 2 s, past one run's limit but within the batch's 4 s.
    records = run(BatchesSeeds(batch_sleep=2.0), DATASET, n=300, seeds=range(4), timeout=1.0,
                  executor="serial")
    assert [r.extras.get("seeds_in_batch") for r in records] == [4] * 4
    assert all(math.isfinite(r.estimate) for r in records)


@pytest.mark.slow  # trains 3 + 3 small critics; the plumbing is tested fast above
def test_infonce_seeds_trained_together_match_seed_after_seed():
    params = {"infonce": {"steps": 200, "eval_every": 50}}
    together = run("infonce", DATASET, n=1500, seeds=[0, 1, 2], params=params)
    alone = run("infonce", DATASET, n=1500, seeds=[0, 1, 2], params=params, batch_seeds=False)
    assert all(r.extras["batched"] and r.extras["seeds_in_batch"] == 3 for r in together)
    # float32 rounding differs between the batched and the single model, and can move an early
    # stop by an evaluation: agreement to 5e-3 nats, far inside the seeds' spread.
    expected = [r.estimate for r in alone]
    assert [r.estimate for r in together] == pytest.approx(expected, abs=5e-3)
    # Negative control: each seed's record against another seed's fails the same check.
    assert [r.estimate for r in together] != pytest.approx(expected[1:] + expected[:1], abs=5e-3)


def test_a_lone_batch_is_split_so_that_every_worker_has_seeds_to_train():
    from mibench.grid.runner import _seed_groups

    tasks = [dataclasses.replace(task, index=i) for i, task in enumerate(_tasks(seeds=range(10)))]
    alone, _ = _seed_groups(tasks, workers=1)
    assert [task.runs for task in alone] == [10]
    split, members = _seed_groups(tasks, workers=2)
    assert sorted(task.runs for task in split) == [5, 5]
    # every seed once, in one of the two batches
    assert sorted(t.sample.seed for m in members.values() for t in m) == list(range(10))
    assert len(_seed_groups(tasks[:1], workers=4)[0]) == 1  # one seed cannot be split


def _tasks(seeds):
    from mibench.core.contracts import MUTUAL_INFORMATION
    from mibench.grid.executors import SampleKey, Task

    estimator = BatchesSeeds()
    return [Task(0, estimator, SampleKey(DATASET, 300, seed, MUTUAL_INFORMATION)) for seed in seeds]
