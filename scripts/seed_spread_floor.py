"""How far the spread of early-stopping steps lets ten seeds trained together fall below ten.

    python scripts/seed_spread_floor.py data/beyond-normal [--limit 3] [--per-seed-cost R ...]

Issue 22 asks that ten seeds of a neural bound trained as one batch cost at most 3x one seed
on the same task, each seed keeping its own early stopping. A batch runs until its longest seed
stops, so whatever its code, it steps that seed as many times as that seed alone would, and a
step of a batch with that seed in it costs at least a step of a seed alone (on this project's
CPUs a seed alone gains nothing from a second core: docs/benchmarks-neural.md). Against the
mean seed alone, a batch of S seeds therefore costs at least

    x = (the longest seed's steps) / (the mean seed's steps)

and, if each seed in the batch adds a fraction r of a lone step to every step it is in,

    x + r (S - x)                                   (a step alone costs 1, a batch of k 1 - r + k r)

So the limit L holds on a task only where r <= (L - x) / (S - x), and on no code at all where
x > L. This script reads the steps each seed ran (``extras["steps_run"]``) in a result store
whose neural bounds trained their seeds in batches (``scripts/regenerate-results.sh`` writes
one, ``data/beyond-normal``), and prints per estimator and suite, as markdown: the tasks
(those whose every seed has a finished, batched run), x over them (median and largest), the
tasks where x alone exceeds the limit, the tasks within the limit at a per-seed cost of 0.1
and 0.2, the largest per-seed cost under which every task is within it, and the same for
the suite in all (x summed: the longest seeds' steps over the mean seeds'). With
``--per-seed-cost R``, also the tasks above the limit at that cost, each with its x. The
per-seed cost of a machine is measured at fixed steps, r = (ten seeds / one seed - 1) / 9
(docs/benchmarks-neural.md).
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from dataclasses import dataclass

from mibench.core.records import load_records
from mibench.results.scoring import record_suite

#: Per-seed costs (fractions of a lone step) at which the table counts the tasks within the limit.
PER_SEED_COSTS = (0.1, 0.2)

#: ``--per-seed-cost`` lists at most this many tasks above the limit, the largest x first.
LISTED = 12


@dataclass(frozen=True)
class Spread:
    """One (estimator, suite, task)'s seeds: how many, the longest seed's and the mean seed's steps."""

    estimator: str
    suite: str
    task: tuple[str, int]
    seeds: int
    longest: int
    mean: float

    @property
    def longest_over_mean(self) -> float:
        return self.longest / self.mean


def allowed_per_seed_cost(longest_over_mean: float, seeds: int, limit: float) -> float:
    """The largest per-seed cost r with x + r (seeds - x) <= limit (negative where x > limit)."""
    return (limit - longest_over_mean) / (seeds - longest_over_mean)


def predicted_ratio(longest_over_mean: float, seeds: int, per_seed_cost: float) -> float:
    """A batch's cost over the mean seed alone: x + r (seeds - x)."""
    return longest_over_mean + per_seed_cost * (seeds - longest_over_mean)


def spreads(records) -> tuple[list[Spread], int]:
    """The spreads of every (estimator, suite, task) whose seeds all finished in a batch, and
    how many such groups were left out (a failed seed, or one retrained alone)."""
    groups = defaultdict(list)
    for record in records:
        groups[(record.estimator, record_suite(record) or "", (record.dataset, record.n))].append(record)
    kept, left_out = [], 0
    for (estimator, suite, task), runs in groups.items():
        if not any(run.extras and "seeds_in_batch" in run.extras for run in runs):
            continue  # not a batched estimator's group
        finished = all(
            run.status == "ok" and run.extras.get("batched") and "steps_run" in run.extras for run in runs
        )
        if not finished or len(runs) < 2:
            left_out += 1
            continue
        steps = [run.extras["steps_run"] for run in runs]
        kept.append(Spread(estimator, suite, task, len(steps), max(steps), statistics.fmean(steps)))
    return kept, left_out


def rows(kept: list[Spread], limit: float) -> list[str]:
    by_group = defaultdict(list)
    for spread in kept:
        by_group[(spread.estimator, spread.suite)].append(spread)
    lines = []
    for (estimator, suite), group in sorted(by_group.items()):
        seeds = sorted({spread.seeds for spread in group})
        ratios = [spread.longest_over_mean for spread in group]
        within = [
            sum(predicted_ratio(s.longest_over_mean, s.seeds, cost) <= limit for s in group)
            for cost in PER_SEED_COSTS
        ]
        every = min(allowed_per_seed_cost(s.longest_over_mean, s.seeds, limit) for s in group)
        in_all = sum(s.longest for s in group) / sum(s.mean for s in group)
        in_all_allowed = allowed_per_seed_cost(in_all, max(seeds), limit)
        lines.append(
            f"| {estimator} | {suite} | {len(group)} | {'/'.join(map(str, seeds))} | "
            f"{statistics.median(ratios):.2f} | {max(ratios):.2f} | "
            f"{sum(x > limit for x in ratios)} | {within[0]} | {within[1]} | "
            f"{max(every, 0.0):.3f} | {in_all:.2f} | {max(in_all_allowed, 0.0):.3f} |"
        )
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="a result store (a directory with records.jsonl, or the file)")
    parser.add_argument("--limit", type=float, default=3.0,
                        help="the cost of the batch allowed, in mean seeds alone (default 3)")
    parser.add_argument("--per-seed-cost", type=float, nargs="+", default=[], metavar="R",
                        help="also list the tasks above the limit at each of these per-seed costs")
    args = parser.parse_args(argv)
    kept, left_out = spreads(load_records(args.store))
    if not kept:
        raise SystemExit(f"no batched neural seeds with their steps in {args.store}")
    print(f"{len(kept)} (task, estimator) batches; {left_out} left out (a seed failed or "
          f"was retrained alone); limit {args.limit:g}x the mean seed alone\n")
    costs = " | ".join(f"within at r = {cost:g}" for cost in PER_SEED_COSTS)
    print("| estimator | suite | tasks | seeds | x median | x largest | above the limit at any r | "
          f"{costs} | largest r, every task | x in all | largest r, in all |")
    print("|---|---|---:|---:|---:|---:|---:|" + "---:|" * (len(PER_SEED_COSTS) + 3))
    for line in rows(kept, args.limit):
        print(line)
    for cost in args.per_seed_cost:
        above = sorted(
            (s for s in kept if predicted_ratio(s.longest_over_mean, s.seeds, cost) > args.limit),
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
