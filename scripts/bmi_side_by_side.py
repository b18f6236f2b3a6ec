"""The neural bounds under bmi's protocol beside mibench's defaults, on the same tasks and seeds.

    python scripts/bmi_side_by_side.py data/bmi-protocol data/beyond-normal

The first store holds ``grids/bmi-protocol.toml``'s runs, the second mibench's published
protocol (``scripts/regenerate-results.sh``). Only the tasks whose every neural bound has all
its seeds in *both* stores are compared (the bmi store may be a grid still running); the table
says how many that is per suite. Per estimator and suite: tasks solved with the 95 % bootstrap
interval over seeds, the median |log(estimate / truth)| with its interval, the converged share of
the runs on that suite (bmi's checks), the failed runs, and the median seconds of a run.
Printed as markdown.

With ``--per-task``, also every compared task: its truth and, per bound, the mean estimate over
the seeds under bmi's protocol and under mibench's defaults, each marked when solved (the
report's definition: within a factor 1.5 of the truth, no failed run), then the (task, bound)
pairs that one protocol solves and the other misses.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

from mibench.core.records import load_records
from mibench.results.scoring import aggregate, record_suite, score_suites
from mibench.results.uncertainty import bootstrap_scores, convergence

#: The neural bounds both grids run: bmi has MINE, InfoNCE, NWJ and DV (no SMILE).
BOUNDS_IN_BOTH_GRIDS = ("mine", "infonce", "nwj", "dv")


def _complete_tasks(records, seeds):
    """(dataset, n) pairs on which every neural bound has a record for every seed."""
    have = defaultdict(set)
    for record in records:
        if record.estimator in BOUNDS_IN_BOTH_GRIDS:
            have[(record.dataset, record.n)].add((record.estimator, record.seed))
    wanted = {(name, seed) for name in BOUNDS_IN_BOTH_GRIDS for seed in seeds}
    return {task for task, runs in have.items() if wanted <= runs}


def _rows(records, label):
    intervals = {(i.estimator, i.suite): i for i in bootstrap_scores(records)}
    by_suite = defaultdict(list)
    for record in records:
        by_suite[record_suite(record)].append(record)
    converged = {
        (share.estimator, suite): share
        for suite, suite_records in by_suite.items()
        for share in convergence(suite_records)
    }
    rows = {}
    for score in score_suites(records):
        if score.estimator not in BOUNDS_IN_BOTH_GRIDS or score.scoring != "solved":
            continue
        interval = intervals.get((score.estimator, score.suite))
        solved_range = "" if interval is None else f" [{interval.solved_low}, {interval.solved_high}]"
        median_range = (
            "" if interval is None else f" [{interval.median_low:.3f}, {interval.median_high:.3f}]"
        )
        share = converged.get((score.estimator, score.suite))
        rows[(score.estimator, score.suite)] = dict(
            label=label,
            tasks=score.scored,
            solved=f"{score.solved}{solved_range}",
            median=f"{score.median_abs_log_ratio:.3f}{median_range}",
            converged="" if share is None else f"{100 * share.fraction:.0f} %",
            failed=f"{score.failed} / {score.runs}",
            seconds=f"{score.median_seconds:.2g}" if math.isfinite(score.median_seconds) else "",
        )
    return rows


def _cells(records):
    """{(dataset, n, estimator): the Cell of its seeds}."""
    return {(cell.dataset, cell.n, cell.estimator): cell for cell in aggregate(records)}


def _estimate(cell) -> str:
    if cell.estimate is None:
        return "failed"
    failed = f" ({cell.failed} failed)" if cell.failed else ""
    return f"{cell.estimate:.3f}{' ✓' if cell.solved else ''}{failed}"


def _print_per_task(bmi, defaults, tasks) -> None:
    theirs, ours = _cells(bmi), _cells(defaults)
    print("\nPer task: the mean estimate over the seeds, bmi's settings / mibench's defaults; "
          "✓ where solved.\n")
    print("| task | n | truth | " + " | ".join(BOUNDS_IN_BOTH_GRIDS) + " |")
    print("|---|---:|---:|" + "---|" * len(BOUNDS_IN_BOTH_GRIDS))
    only = {"bmi's settings": [], "mibench's defaults": []}
    order = {dataset: i for i, (dataset, _, _) in enumerate(ours)}  # the grid's task order
    for dataset, n in sorted(tasks, key=lambda task: (order.get(task[0], len(order)), task)):
        cells = [(theirs[(dataset, n, name)], ours[(dataset, n, name)]) for name in BOUNDS_IN_BOTH_GRIDS]
        truth = cells[0][1].truth
        shown = " | ".join(f"{_estimate(bmi_cell)} / {_estimate(our_cell)}" for bmi_cell, our_cell in cells)
        print(f"| {dataset} | {n} | {truth:.3f} | {shown} |")
        for name, (bmi_cell, our_cell) in zip(BOUNDS_IN_BOTH_GRIDS, cells):
            if bmi_cell.solved != our_cell.solved:
                side = "bmi's settings" if bmi_cell.solved else "mibench's defaults"
                only[side].append(f"{dataset} ({name})")
    for label, pairs in only.items():
        listed = f": {', '.join(pairs)}" if pairs else ""
        print(f"\nSolved by {label} only: {len(pairs)} (task, bound) pairs{listed}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bmi_store")
    parser.add_argument("defaults_store")
    parser.add_argument("--per-task", action="store_true",
                        help="also every task's mean estimates and the pairs one protocol alone solves")
    args = parser.parse_args(argv)
    bmi = [r for r in load_records(args.bmi_store) if r.estimator in BOUNDS_IN_BOTH_GRIDS]
    defaults = [r for r in load_records(args.defaults_store) if r.estimator in BOUNDS_IN_BOTH_GRIDS]
    seeds = sorted({r.seed for r in bmi} | {r.seed for r in defaults})
    if not seeds:
        raise SystemExit("no neural records in either store")
    tasks = _complete_tasks(bmi, seeds) & _complete_tasks(defaults, seeds)
    bmi = [r for r in bmi if (r.dataset, r.n) in tasks]
    defaults = [r for r in defaults if (r.dataset, r.n) in tasks]
    print(f"{len(tasks)} tasks complete in both stores, seeds {seeds[0]}-{seeds[-1]}\n")
    print("| estimator | suite | protocol | tasks | solved [95 % interval] | median \\|log(est/truth)\\| "
          "[95 % interval] | converged | failed runs | median s a run |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    ours, theirs = _rows(defaults, "mibench defaults"), _rows(bmi, "bmi's")
    for key in sorted(set(ours) | set(theirs), key=lambda k: (BOUNDS_IN_BOTH_GRIDS.index(k[0]), k[1] or "")):
        for rows in (theirs, ours):
            row = rows.get(key)
            if row:
                print(f"| {key[0]} | {key[1]} | {row['label']} | {row['tasks']} | {row['solved']} | "
                      f"{row['median']} | {row['converged']} | {row['failed']} | {row['seconds']} |")
    print("\nA run's seconds: bmi's protocol trains each seed alone on one thread; mibench's "
          "defaults train a task's ten seeds together, and a run's time is the batch's over ten.")
    if args.per_task:
        _print_per_task(bmi, defaults, tasks)


if __name__ == "__main__":
    main()
