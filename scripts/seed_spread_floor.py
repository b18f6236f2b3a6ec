"""How far the spread of early-stopping steps lets ten seeds trained together fall below ten.

    python scripts/seed_spread_floor.py data/beyond-normal [--limit 3] [--per-seed-cost R ...]
        [--batch-time-factor F]

Issue 22 asks that ten seeds of a neural bound trained as one batch cost at most 3x one seed
on the same task, each seed keeping its own early stopping. A batch runs until its longest seed
stops, so it steps that seed as many times as that seed alone would. Count a step of a seed
alone as 1 and let each seed in a batch add a fraction r of that to every step it is in (a
step of k seeds costs 1 - r + k r); summed over the steps, a batch of S seeds costs, in mean
seeds alone,

    x + r (S - x),    x = (the longest seed's steps) / (the mean seed's steps).

So the limit L holds on a task only where r <= (L - x) / (S - x). The model takes a step of a
batch's last seed to cost what a step of a seed alone costs (a seed alone gains up to 8 % from
a second core on this project's CPUs, docs/benchmarks-neural.md; ``--batch-time-factor 0.92``
grants the batch that on all of its time) and a step to cost the same on every task, which
the fixed-step timings bear out within about a fifth.

This script reads the steps each seed ran (``extras["steps_run"]``) in a result store whose
neural bounds trained their seeds in batches (``scripts/regenerate-results.sh`` writes one,
``data/beyond-normal``). A batch is the records of one estimator setting, task and n whose
seeds all finished in the batch; the others are left out and named (a seed failed, or
diverged and was retrained alone, or only one seed). It prints, per estimator and suite (a task
in two suites counts in both), as markdown: the batches, x over them (median and largest), the
batches where x alone exceeds the limit, those within it at a per-seed cost of 0.1 and 0.2,
the largest per-seed cost under which every batch is within it, and the same for the suite in
all (x of the sums: the longest seeds' steps over the mean seeds'). With ``--per-seed-cost R``,
also the batches above the limit at that cost, each with its x. The per-seed cost of a machine
is measured at fixed steps, r = (ten seeds / one seed - 1) / 9 (``-k per_seed_cost`` of
tests/benchmarks/test_bench_neural_batched.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass

from mibench.core.records import load_records
from mibench.results.scoring import record_suites

#: Per-seed costs (fractions of a lone step) at which the table counts the batches within the limit.
PER_SEED_COSTS = (0.1, 0.2)

#: ``--per-seed-cost`` lists at most this many batches above the limit, the largest x first.
LISTED = 12


@dataclass(frozen=True)
class Spread:
    """One batch: its estimator, suites and task, how many seeds, the longest seed's steps
    and the mean seed's."""

    estimator: str
    suites: tuple[str, ...]
    task: tuple[str, int]
    seeds: int
    longest: int
    mean: float

    @property
    def longest_over_mean(self) -> float:
        return self.longest / self.mean


def predicted_ratio(longest_over_mean: float, seeds: float, per_seed_cost: float) -> float:
    """A batch's cost over the mean seed alone: x + r (seeds - x)."""
    return longest_over_mean + per_seed_cost * (seeds - longest_over_mean)


def modelled_ratio(spread: Spread, per_seed_cost: float, time_factor: float = 1.0) -> float:
    """``spread``'s batch over its mean seed alone at this per-seed cost, its time times
    ``time_factor``: what the table and the lists hold against the limit."""
    return time_factor * predicted_ratio(spread.longest_over_mean, spread.seeds, per_seed_cost)


def allowed_per_seed_cost(longest_over_mean: float, seeds: float, limit: float) -> float:
    """The largest per-seed cost r with x + r (seeds - x) <= limit: negative where x > limit,
    and unbounded (inf) where the longest seed is all the steps (x = seeds) within the limit."""
    if longest_over_mean >= seeds:
        return float("inf") if longest_over_mean <= limit else -float("inf")
    return (limit - longest_over_mean) / (seeds - longest_over_mean)


def spreads(records) -> tuple[list[Spread], list[str]]:
    """The batches whose seeds all finished in them, and why each other group was left out."""
    groups = defaultdict(list)
    for record in records:
        setting = json.dumps(record.params, sort_keys=True, default=str)
        groups[(record.estimator, setting, record.dataset, record.n)].append(record)
    kept, left_out = [], []
    for (estimator, _, dataset, n), runs in groups.items():
        extras = [run.extras or {} for run in runs]
        if not any("seeds_in_batch" in each for each in extras):
            continue  # not a batched estimator's group
        name = f"{dataset} ({estimator})"
        seeds = [run.seed for run in runs]
        if len(set(seeds)) != len(seeds):
            left_out.append(f"{name}: seeds recorded twice")
        elif any(run.status != "ok" for run in runs):
            left_out.append(f"{name}: a seed failed")
        elif not all(each.get("batched") and "steps_run" in each for each in extras):
            left_out.append(f"{name}: a seed was retrained alone")
        elif min(each["steps_run"] for each in extras) < 1:
            left_out.append(f"{name}: a seed ran no steps")
        elif len(runs) < 2:
            left_out.append(f"{name}: one seed")
        else:
            steps = [each["steps_run"] for each in extras]
            kept.append(Spread(estimator, record_suites(runs[0]) or ("",), (dataset, n), len(steps),
                               max(steps), statistics.fmean(steps)))  # fmt: skip
    return kept, left_out


def rows(kept: list[Spread], limit: float, time_factor: float = 1.0) -> list[str]:
    by_group = defaultdict(list)
    for spread in kept:
        for suite in spread.suites:
            by_group[(spread.estimator, suite)].append(spread)
    lines = []
    for (estimator, suite), group in sorted(by_group.items()):
        seeds = sorted({spread.seeds for spread in group})
        xs = [spread.longest_over_mean for spread in group]
        within = [
            sum(modelled_ratio(s, cost, time_factor) <= limit for s in group) for cost in PER_SEED_COSTS
        ]
        # With the time factor f, f (x + r (S - x)) <= L is x + r (S - x) <= L / f.
        bound = limit / time_factor
        every = min(allowed_per_seed_cost(s.longest_over_mean, s.seeds, bound) for s in group)
        mean_steps = sum(s.mean for s in group)
        in_all = sum(s.longest for s in group) / mean_steps
        seeds_in_all = sum(s.seeds * s.mean for s in group) / mean_steps  # S, where all equal
        in_all_allowed = allowed_per_seed_cost(in_all, seeds_in_all, bound)
        lines.append(
            f"| {estimator} | {suite} | {len(group)} | {'/'.join(map(str, seeds))} | "
            f"{statistics.median(xs):.2f} | {max(xs):.2f} | "
            f"{sum(x > bound for x in xs)} | {within[0]} | {within[1]} | "
            f"{max(every, 0.0):.3f} | {in_all:.2f} | {max(in_all_allowed, 0.0):.3f} |"
        )
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="a result store (a directory with records.jsonl, or the file)")
    parser.add_argument("--limit", type=float, default=3.0,
                        help="the cost of the batch allowed, in mean seeds alone (default 3)")
    parser.add_argument("--per-seed-cost", type=float, nargs="+", default=[], metavar="R",
                        help="also list the batches above the limit at each of these per-seed costs")
    parser.add_argument("--batch-time-factor", type=float, default=1.0, metavar="F",
                        help="multiply every batch's modelled time by F (default 1; 0.92 grants "
                             "it a second core's 8 %% on all of its time)")
    args = parser.parse_args(argv)
    if not 0 < args.batch_time_factor <= 1:
        parser.error(f"--batch-time-factor must be in (0, 1], got {args.batch_time_factor}")
    kept, left_out = spreads(load_records(args.store))
    if not kept:
        raise SystemExit(f"no batched neural seeds with their steps in {args.store}")
    factor = "" if args.batch_time_factor == 1 else f", batch time x {args.batch_time_factor:g}"
    print(f"{len(kept)} batches (estimator, task), limit {args.limit:g}x the mean seed alone"
          f"{factor}; {len(left_out)} left out" + (f": {'; '.join(left_out)}" if left_out else ""))
    print()
    costs = " | ".join(f"within at r = {cost:g}" for cost in PER_SEED_COSTS)
    print("| estimator | suite | tasks | seeds | x median | x largest | above the limit at any r | "
          f"{costs} | largest r, every task | x in all | largest r, in all |")
    print("|---|---|---:|---:|---:|---:|---:|" + "---:|" * (len(PER_SEED_COSTS) + 3))
    for line in rows(kept, args.limit, args.batch_time_factor):
        print(line)
    for cost in args.per_seed_cost:
        above = sorted(
            (s for s in kept if modelled_ratio(s, cost, args.batch_time_factor) > args.limit),
            key=lambda s: -s.longest_over_mean,
        )
        listed = ", ".join(
            f"{s.task[0]} ({s.estimator}, {s.longest_over_mean:.2f})" for s in above[:LISTED]
        )
        more = f" and {len(above) - LISTED} more" if len(above) > LISTED else ""
        print(f"\nAbove {args.limit:g}x at r = {cost:g}: {len(above)} of {len(kept)}"
              + (f" (task, estimator, x): {listed}{more}" if above else ""))


if __name__ == "__main__":
    main()
