"""Ten seeds of a neural estimator trained together, against one seed trained alone.

Skipped by the default test command (``--benchmark-skip``); run with

    PYTHONPATH=$PWD python -m pytest tests/benchmarks/test_bench_neural_batched.py \\
        --benchmark-only -s

The timed code is ``NeuralEstimator.estimate_seeds`` on ten seeds (0-9) of one sample of
multinormal-dense-5-5-0.5 (n = 5,000, true MI 0.593 nats), the batch on all the machine's
cores (``threads``; what ``mibench run`` gives it in one process). Before every round, in the
same process (``setup`` of ``benchmark.pedantic``, untimed by pytest-benchmark but timed here),
each of the ten seeds is estimated alone by ``estimate_with_extras`` on one thread, the
estimators' default: one seed's step is too small to gain from a second core (measured:
seed 0 alone on both cores is printed beside). Issue 22 bounds the cost of ten seeds together
by 3x the cost of one seed: the ratio is taken against the mean time of a seed alone (the
expected cost of one seed; early stopping ends the seeds at different steps, and seed 0 alone
stopped earlier than most), and against seed 0 alone, as measured before. Both are printed
and kept in ``extra_info`` with the steps each run took.

``MIBENCH_BENCH_DEVICE=cuda`` runs every estimator of this file on the GPU (default ``cpu``);
the lone runs' thread count then only sets the host's.

The configurations: each of the five batched bounds with its defaults (batch 256, hidden
(64, 64), early stopping); InfoNCE for a fixed 300 steps without early stopping (the cost of
a step alone, free of the stopping steps); and InfoNCE with a small critic (batch 64, hidden
(32,), embedding 16), where a step is mostly overhead.
"""

import os
import statistics
import time

import numpy as np
import pytest

import mibench
from mibench.core.threads import available_cores, torch_threads
from tests.repository_scripts import load_script

SEED_SPREAD = load_script("seed_spread_floor")

DATASET, N, SEEDS = "multinormal-dense-5-5-0.5", 5000, list(range(10))
#: Where every estimator of this file trains.
DEVICE = os.environ.get("MIBENCH_BENCH_DEVICE", "cpu")

CONFIGURATIONS = {  # name: (estimator, parameters)
    "defaults": ("infonce", {}),
    "defaults, 300 steps, no early stopping": ("infonce", dict(steps=300, early_stopping=False)),
    "small critic": ("infonce", dict(batch_size=64, hidden=(32,), embedding_dim=16)),
    "mine defaults": ("mine", {}),
    "dv defaults": ("dv", {}),
    "nwj defaults": ("nwj", {}),
    "smile defaults": ("smile", {}),
}


@pytest.fixture(scope="module")
def sample():
    return mibench.get_dataset(DATASET).sample(N, seed=0)


@pytest.mark.benchmark(group="neural seeds batched")
@pytest.mark.parametrize("configuration", list(CONFIGURATIONS))
def test_ten_batched_seeds_against_one_seed_alone(benchmark, sample, configuration):
    x, y = sample
    name, parameters = CONFIGURATIONS[configuration]
    estimator = mibench.get_estimator(name, device=DEVICE, **parameters)
    cores = available_cores()
    alone_times: list[list[float]] = []
    alone_steps: list[int] = []

    def each_seed_alone():
        times = []
        for seed in SEEDS:
            start = time.perf_counter()
            result = estimator.with_params(seed=seed).estimate_with_extras(x, y)
            times.append(time.perf_counter() - start)
            alone_steps.append(result.extras["steps_run"])
        alone_times.append(times)

    def ten_seeds_batched():
        return estimator.estimate_seeds([(x, y)] * len(SEEDS), SEEDS, threads=cores)

    with torch_threads(1):
        ten_seeds_batched()  # warm up: torch's lazy imports, allocator
        estimator.estimate_with_extras(x, y)
        with torch_threads(cores):
            start = time.perf_counter()
            estimator.with_params(num_threads=cores).estimate_with_extras(x, y)
            seed_zero_on_all_cores = time.perf_counter() - start
        results = benchmark.pedantic(ten_seeds_batched, setup=each_seed_alone, rounds=3)

    values = [result.value for result in results]
    assert all(np.isfinite(values)) and all(result.extras["batched"] for result in results)
    steps = [result.extras["steps_run"] for result in results]
    batched_median = benchmark.stats.stats.median
    mean_alone = float(np.median([np.mean(times) for times in alone_times]))
    seed_zero_alone = float(np.median([times[0] for times in alone_times]))
    ratio = batched_median / mean_alone
    benchmark.extra_info.update(
        dataset=DATASET,
        n=N,
        seeds=len(SEEDS),
        estimator=name,
        parameters=parameters,
        batch_threads=cores,
        alone_seconds=alone_times,
        alone_steps=alone_steps[: len(SEEDS)],
        batched_steps=steps,
        seed_zero_on_all_cores=seed_zero_on_all_cores,
        ratio_to_mean_seed=ratio,
        ratio_to_seed_zero=batched_median / seed_zero_alone,
    )
    print(
        f"\n{configuration}: 10 seeds batched on {cores} threads {batched_median:.2f} s "
        f"(steps {min(steps)}-{max(steps)}); a seed alone on 1 thread: mean {mean_alone:.2f} s "
        f"(steps {min(alone_steps)}-{max(alone_steps)}), seed 0 {seed_zero_alone:.2f} s "
        f"({seed_zero_on_all_cores:.2f} s on {cores} threads); ratio {ratio:.2f} to the mean "
        f"seed, {batched_median / seed_zero_alone:.2f} to seed 0 (medians of 3 rounds)"
    )


#: Tasks and sample seeds of the spread measurement: the three tasks of the slow statistical
#: test of batched against unbatched seeds, two samples each, so that no single draw of
#: stopping steps decides the ratio.
SPREAD_TASKS = [
    (task, sample_seed)
    for task in ("multinormal-dense-2-2-0.5", "1v1-normal-0.75", "multinormal-dense-5-5-0.5")
    for sample_seed in (0, 1)
]


#: One sample (seed 0) of each of eight v1 tasks of other shapes and kinds than the six above:
#: one to 50 dimensions a side, additive noise, a sparse, a spiral and a heavy-tailed task, so
#: that the ratio is seen per (task, bound) across the suite, not on one task.
V1_TASKS = [
    (task, 0)
    for task in (
        "1v1-normal-0.75", "1v1-additive-0.1", "multinormal-dense-2-2-0.5",
        "multinormal-dense-25-25-0.5", "multinormal-dense-50-50-0.5",
        "multinormal-sparse-5-5-2-2.0", "spiral-multinormal-sparse-3-3-2-2.0",
        "student-identity-2-2-1",
    )
]  # fmt: skip


def _ten_seeds_against_the_mean_seed(benchmark, name, tasks, label, seed_sets=(SEEDS,)):
    # Each bound's defaults on the samples ``tasks`` ((task, sample seed) pairs), n = 5,000:
    # the time of ten seeds batched (both cores) summed over the samples and seed sets, over the
    # time of the lone runs (one thread, one per seed) summed and divided by ten, that is ten
    # seeds together against one seed alone, both totalled over the same samples and seeds, and
    # the same ratio sample by sample. One round: the lone runs are ten estimates per sample and
    # seed set.
    estimator = mibench.get_estimator(name, device=DEVICE)
    cores = available_cores()
    samples = [mibench.get_dataset(task).sample(N, seed=seed) for task, seed in tasks]
    runs = [(i, seeds) for i in range(len(samples)) for seeds in seed_sets]
    alone_seconds, alone_steps, batched_seconds, batched_steps = [], [], [], []

    def each_seed_alone():
        for i, seeds in runs:
            for seed in seeds:
                start = time.perf_counter()
                result = estimator.with_params(seed=seed).estimate_with_extras(*samples[i])
                alone_seconds.append(time.perf_counter() - start)
                alone_steps.append(result.extras["steps_run"])

    def ten_seeds_batched():
        for i, seeds in runs:
            start = time.perf_counter()
            results = estimator.estimate_seeds([samples[i]] * len(seeds), seeds, threads=cores)
            batched_seconds.append(time.perf_counter() - start)
            batched_steps.append([result.extras["steps_run"] for result in results])

    with torch_threads(1):
        estimator.estimate_seeds([samples[0]] * 2, SEEDS[:2], threads=cores)  # warm up
        benchmark.pedantic(ten_seeds_batched, setup=each_seed_alone, rounds=1)

    ten = len(SEEDS)
    assert all(len(seeds) == ten for seeds in seed_sets)
    assert len(batched_steps) == len(runs) and len(alone_steps) == ten * len(runs)
    ratio = sum(batched_seconds) / (sum(alone_seconds) / ten)

    def per_sample(values, i):  # the entries of sample i, over its seed sets
        return [value for (j, _), value in zip(runs, values) if j == i]

    alone_by_run = [alone_seconds[r * ten : (r + 1) * ten] for r in range(len(runs))]
    per_sample_ratio = [
        sum(per_sample(batched_seconds, i)) / (sum(map(sum, per_sample(alone_by_run, i))) / ten)
        for i in range(len(samples))
    ]
    # How far the batch's last seed ran beyond its mean seed: a batch of ten costs at least that
    # many mean seeds' steps, whatever its per-step cost.
    longest_over_mean = [max(steps) / np.mean(steps) for steps in batched_steps]
    # The per-seed cost r this run implies: the r at which the model of
    # scripts/seed_spread_floor.py, x + r (10 - x) mean seeds alone (x the batch's longest seed's
    # steps over the mean lone seed's), gives the measured ratio; run by run.
    # docs/benchmarks-neural.md compares it with r measured at a fixed step count.
    per_seed_cost = []
    for run, steps in enumerate(batched_steps):
        x = max(steps) / np.mean(alone_steps[run * ten : (run + 1) * ten])
        run_ratio = batched_seconds[run] / (sum(alone_by_run[run]) / ten)
        per_seed_cost.append(SEED_SPREAD.allowed_per_seed_cost(x, ten, limit=run_ratio))
    benchmark.extra_info.update(
        samples=tasks, seed_sets=[list(seeds) for seeds in seed_sets], n=N, estimator=name,
        batch_threads=cores, alone_seconds=alone_seconds, batched_seconds=batched_seconds,
        alone_steps=alone_steps, batched_steps=batched_steps,
        alone_seed_steps=sum(alone_steps), batched_seed_steps=sum(map(sum, batched_steps)),
        ratio_to_mean_seed=ratio, ratio_per_sample=per_sample_ratio,
        longest_over_mean_seed_steps=longest_over_mean, per_seed_cost_implied=per_seed_cost,
    )  # fmt: skip
    print(
        f"\n{name}, {label}: 10 seeds batched {sum(batched_seconds):.2f} s in all "
        f"({sum(map(sum, batched_steps))} seed-steps), one seed alone "
        f"{sum(alone_seconds) / ten:.2f} s in all (the {len(alone_seconds)} lone runs / 10; "
        f"{sum(alone_steps)} seed-steps); ratio {ratio:.2f}; per sample "
        + ", ".join(f"{task} {value:.2f}" for (task, _), value in zip(tasks, per_sample_ratio))
        + "; the batch's longest seed over its mean seed, in steps: "
        + ", ".join(f"{value:.2f}" for value in longest_over_mean)
        + "; the per-seed cost these imply, run by run: "
        + ", ".join(f"{value:.3f}" for value in per_seed_cost)
    )


@pytest.mark.benchmark(group="neural seeds batched, six samples")
@pytest.mark.parametrize("name", ["infonce", "mine", "dv", "nwj", "smile"])
def test_ten_batched_seeds_against_the_mean_seed_over_six_samples(benchmark, name):
    _ten_seeds_against_the_mean_seed(benchmark, name, SPREAD_TASKS, "six samples")


@pytest.mark.benchmark(group="neural seeds batched, eight v1 tasks")
@pytest.mark.parametrize("name", ["infonce", "mine", "dv", "nwj", "smile"])
def test_ten_batched_seeds_against_the_mean_seed_on_eight_v1_tasks(benchmark, name):
    _ten_seeds_against_the_mean_seed(benchmark, name, V1_TASKS, "eight v1 tasks")


#: The (task, bound) pairs of the eight v1 tasks whose ten seeds cost over 3x one seed on
#: 2026-12-04 (seeds 0-9, against a seed alone before it had AdamW's fused kernel): each over
#: three seed sets, 30 seeds, so that the ratio is the expected one and not one draw of where
#: early stopping ends the seeds.
OVER_THREE_ON_ONE_SEED_SET = [
    ("multinormal-sparse-5-5-2-2.0", "dv"), ("multinormal-sparse-5-5-2-2.0", "mine"),
    ("multinormal-sparse-5-5-2-2.0", "smile"), ("student-identity-2-2-1", "smile"),
    ("1v1-normal-0.75", "nwj"), ("1v1-additive-0.1", "nwj"),
    ("student-identity-2-2-1", "infonce"), ("multinormal-dense-50-50-0.5", "dv"),
]  # fmt: skip
THREE_SEED_SETS = [list(range(start, start + 10)) for start in (0, 10, 20)]


@pytest.mark.benchmark(group="neural seeds batched, three seed sets")
@pytest.mark.parametrize("task, name", OVER_THREE_ON_ONE_SEED_SET)
def test_ten_batched_seeds_against_the_mean_seed_over_three_seed_sets(benchmark, task, name):
    _ten_seeds_against_the_mean_seed(
        benchmark, name, [(task, 0)], "three seed sets", seed_sets=THREE_SEED_SETS
    )


#: The tasks of the per-seed cost at a fixed step count: 5 + 5, 1 + 1 with additive noise, 50 + 50.
FIXED_STEP_TASKS = ["multinormal-dense-5-5-0.5", "1v1-additive-0.1", "multinormal-dense-50-50-0.5"]


@pytest.mark.benchmark(group="neural seeds batched, per-seed cost")
@pytest.mark.parametrize("name", ["infonce", "mine", "dv", "nwj", "smile"])
def test_per_seed_cost_at_a_fixed_step_count(benchmark, name):
    # r = (ten seeds batched / one seed alone - 1) / 9 at 300 steps without early stopping, so
    # without the spread of stopping steps: the share of a lone step that each further seed
    # adds to a step of the batch (scripts/seed_spread_floor.py turns it into the ratio with
    # early stopping, x + r (10 - x)). Per task: seed 0 alone on one thread and seeds 0-9
    # batched on every core, interleaved, three rounds each, medians.
    estimator = mibench.get_estimator(name, device=DEVICE, steps=300, early_stopping=False)
    cores = available_cores()
    samples = {task: mibench.get_dataset(task).sample(N, seed=0) for task in FIXED_STEP_TASKS}
    alone: dict[str, list[float]] = {task: [] for task in FIXED_STEP_TASKS}
    batched: dict[str, list[float]] = {task: [] for task in FIXED_STEP_TASKS}

    def one_round():
        for task, (x, y) in samples.items():
            start = time.perf_counter()
            estimator.estimate_with_extras(x, y)
            alone[task].append(time.perf_counter() - start)
            start = time.perf_counter()
            estimator.estimate_seeds([(x, y)] * len(SEEDS), SEEDS, threads=cores)
            batched[task].append(time.perf_counter() - start)

    with torch_threads(1):
        x, y = samples[FIXED_STEP_TASKS[0]]
        estimator.estimate_seeds([(x, y)] * 2, SEEDS[:2], threads=cores)  # warm up
        estimator.estimate_with_extras(x, y)
        benchmark.pedantic(one_round, rounds=3)
    ratios = {task: statistics.median(batched[task]) / statistics.median(alone[task]) for task in alone}
    costs = {task: (ratio - 1) / (len(SEEDS) - 1) for task, ratio in ratios.items()}
    assert all(np.isfinite(list(costs.values())))
    benchmark.extra_info.update(
        estimator=name, n=N, steps=300, device=DEVICE, batch_threads=cores, alone_seconds=alone,
        batched_seconds=batched, ratio_ten_over_one=ratios, per_seed_cost=costs,
    )  # fmt: skip
    print(f"\n{name}, 300 fixed steps:")
    for task in FIXED_STEP_TASKS:
        print(f"| {task} | {name} | {statistics.median(alone[task]):.3f} s | "
              f"{statistics.median(batched[task]):.3f} s | {ratios[task]:.2f} | {costs[task]:.3f} |")
