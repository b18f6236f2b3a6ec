"""The ``mibench`` command line: argument parsing only; the work is done by the public API."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import sys
import time
from pathlib import Path

__all__ = ["main"]

#: A grid of at least this many runs announces its size on standard error even when piped.
ANNOUNCE_PIPED_FROM = 1000


#: TOML's and JSON's spellings of the booleans, as grid files write them (``squash = false``).
_BOOLEAN_WORDS = {"true": True, "false": False}


def _parse_param(text: str) -> tuple[str, object]:
    """'k=5' -> ('k', 5); values are Python literals where they parse (and ``true`` / ``false``
    as in a grid file), else strings."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--param takes NAME=VALUE, got {text!r}")
    if raw.strip() in _BOOLEAN_WORDS:
        return name.strip(), _BOOLEAN_WORDS[raw.strip()]
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name.strip(), value


def _build_parser() -> argparse.ArgumentParser:
    from mibench import __version__

    parser = argparse.ArgumentParser(
        prog="mibench",
        description="Benchmark mutual-information estimators on distributions with known MI "
        "and on the layers of neural networks. MI is computed in nats.",
    )
    parser.add_argument("--version", action="version", version=f"mibench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list estimators, datasets or experiments")
    listing.add_argument("what", choices=["estimators", "datasets", "suites", "experiments"])
    listing.add_argument("--tag", help="only datasets with this tag (e.g. beyond-normal)")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.add_argument("--unit", choices=["nats", "bits"], default="nats")

    run = commands.add_parser(
        "run",
        help="run estimators on datasets and compare with the true MI",
        description="Run estimators on every dataset of the built-in suite (or those named, or "
        "a grid file's) and print each estimate beside the true MI. With --out DIR every "
        "record is stored the moment it is finished, and the same command run again does only "
        "what is missing.",
    )
    run.add_argument("--grid", type=Path, metavar="FILE",
                     help="a TOML grid file (estimators, datasets, sizes, seeds; see "
                     "docs/grid.md), instead of --estimator/--dataset/--n/--seed/--param")
    run.add_argument("--estimator", "-e", action="append", metavar="NAME",
                     help="estimator name (repeatable); `mibench list estimators` shows them")
    run.add_argument("--dataset", "-d", action="append", metavar="NAME",
                     help="dataset name (repeatable); default: the built-in suite")
    run.add_argument("--suite", metavar="SUITE",
                     help="run this suite (e.g. beyond-normal-v2) instead of the default one; "
                     "`mibench list suites` shows them")
    run.add_argument("--tag", help="run every dataset with this tag instead of the default suite")
    run.add_argument("--n", type=int, action="append", metavar="N",
                     help="sample size (repeatable; default 5000)")
    run.add_argument("--seed", type=int, action="append", metavar="SEED",
                     help="sample seed (repeatable; default 0)")
    run.add_argument("--param", "-p", type=_parse_param, action="append", metavar="NAME=VALUE",
                     help="estimator parameter (repeatable): ksg.k=5 for one estimator, k=5 for "
                     "every named estimator that takes k; values as in Python or a grid file "
                     "(5, 0.1, [16,8], True or true), else text")
    run.add_argument("--unit", choices=["nats", "bits"], default="nats")
    run.add_argument("--format", choices=["table", "json", "csv"], default="table")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="result store: every record is appended to DIR/records.jsonl as it "
                     "finishes; runs already there are not run again")
    run.add_argument("--rerun-failed", action="store_true",
                     help="with --out: run again the runs stored as failed")
    run.add_argument("--executor", choices=["serial", "processes", "dask", "inline"],
                     default=None,
                     help="inline: in this process, without isolation or timeout; serial: one "
                     "run at a time in a worker process; processes: --jobs worker processes; "
                     "dask: a Dask LocalCluster of --jobs workers, or the scheduler at "
                     "--address. Default (as from Python): dask with --address, processes "
                     "with --jobs > 1, serial with --timeout, else inline (docs/grid.md)")
    run.add_argument("--jobs", "-j", "--workers", dest="jobs", type=int, default=1, metavar="N",
                     help="runs side by side (default 1); more than 1 means --executor processes "
                     "unless another is named")
    run.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="the longest a run may take; a longer run is killed and recorded as "
                     "failed (default: no limit)")
    run.add_argument("--address", metavar="tcp://HOST:PORT",
                     help="the Dask scheduler to run on (implies --executor dask)")
    run.add_argument("--no-batch-seeds", dest="batch_seeds", action="store_false",
                     help="train a neural estimator's seeds one run at a time; by default up "
                     "to 10 seeds of one setting, dataset and n train together as one batched "
                     "model, each with the record it would get alone (docs/grid.md)")
    run.add_argument("--yes", "-y", action="store_true",
                     help="run a grid of more than 100,000 runs (refused without it, to catch "
                     "a typo in sizes or seeds before it starts)")

    experiment = commands.add_parser("experiment", help="run one of the talk's experiments")
    experiment.add_argument("name", help="experiment name (`mibench list experiments`), or "
                            "`all` to run every one into DIR/NAME/ with DIR/index.md and .html")
    experiment.add_argument("--out", type=Path, default=None, metavar="DIR",
                            help="where records.csv, summary.md and the figures go "
                            "(default: mibench-results/NAME, or mibench-results for all)")
    experiment.add_argument("--quick", action="store_true", help="a small, fast version")
    experiment.add_argument("--timeout", type=float, metavar="SECONDS",
                            help="seconds one estimate may take: each estimate then runs in an "
                            "isolated process, killed past it, and becomes a failed record that "
                            "the experiment's summary names (default: no limit, in this process)")
    experiment.add_argument("--format", choices=["table", "json"], default="table")

    report = commands.add_parser("report", help="leaderboard and heatmap from saved records")
    report.add_argument("directory", type=Path, metavar="DIR",
                        help="a directory holding records.jsonl (from `mibench run --out`); the "
                        "report is written there")
    report.add_argument("--all-versions", action="store_true",
                        help="report the records of every mibench version in the store, each "
                        "version on its own (default: the latest version's only)")
    return parser


def _list(args) -> int:
    import mibench
    from mibench.core.formatting import format_number
    from mibench.results.scoring import to_unit

    if args.what == "estimators":
        rows = []
        for name in mibench.list_estimators():
            cls = mibench.estimators.get_estimator_class(name)
            summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            rows.append({"name": name, "params": cls.default_params(), "summary": summary,
                         "bound": cls.bound_kind})
        if args.format == "json":
            print(json.dumps(rows, indent=2, default=str))
        else:
            width = max(len(row["name"]) for row in rows)
            print(f"{'name'.ljust(width)}  bound  summary")
            for row in rows:
                print(f"{row['name'].ljust(width)}  {row['bound']:<5}  {row['summary']}")
        return 0
    if args.what == "suites":
        from mibench.datasets.suites import SUITES

        rows = [{"name": suite.name, "tag": suite.tag, "scoring": suite.scoring,
                 "datasets": len(suite.datasets()), "description": suite.description}
                for suite in SUITES]
        if args.format == "json":
            print(json.dumps(rows, indent=2))
        else:
            width = max(len(row["name"]) for row in rows)
            for row in rows:
                print(f"{row['name'].ljust(width)}  {row['datasets']:4d} datasets  "
                      f"scored by {row['scoring']:<7}  {row['description']}")
        return 0
    if args.what == "experiments":
        from mibench.experiments import experiment_claim, list_experiments

        rows = [{"name": name, "claim": experiment_claim(name)} for name in list_experiments()]
        if args.format == "json":
            print(json.dumps(rows, indent=2))
        else:
            width = max((len(row["name"]) for row in rows), default=4)
            for row in rows:
                print(f"{row['name'].ljust(width)}  {row['claim']}")
        return 0
    from mibench.datasets.registry import dataset_summary

    rows = []
    # Listing builds nothing costly: a network layer shows its truth from the disk cache, or
    # is marked as computed on first use.
    names = mibench.list_datasets(args.tag)
    if args.tag and not names:
        from mibench.core.validation import InputError

        raise InputError(f"no dataset has the tag {args.tag!r}")
    for name in names:
        summary = dataset_summary(name)
        rows.append({
            "name": name,
            "dim_x": summary.dim_x,
            "dim_y": summary.dim_y,
            "mutual_information": to_unit(summary.mutual_information, args.unit),
            "mutual_information_stderr": to_unit(summary.mutual_information_stderr, args.unit),
            "tags": sorted(summary.tags),
        })
    if args.format == "json":
        from mibench.core.records import json_safe

        print(json.dumps(json_safe(rows), indent=2))
        return 0
    width = max((len(row["name"]) for row in rows), default=4)
    print(f"{'dataset'.ljust(width)}  dim_x  dim_y  true MI [{args.unit}]")
    for row in rows:
        if row["mutual_information"] is None:
            truth = "(computed on first use)"
        else:
            truth = format_number(row["mutual_information"])
            if row["mutual_information_stderr"]:
                truth += f" ± {format_number(row['mutual_information_stderr'], 3)}"
        print(f"{row['name'].ljust(width)}  {row['dim_x']:5d}  {row['dim_y']:5d}  {truth}")
    return 0


def _run(args) -> int:
    import mibench
    from mibench.core.records import RECORDS_FILENAME
    from mibench.core.validation import InputError
    from mibench.results.tables import records_csv, records_json, records_summary, records_table


    if args.rerun_failed and args.out is None:
        raise InputError("--rerun-failed needs --out DIR (the store whose failed runs to redo)")
    if args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")

    def announce(runs: int, stored: int) -> None:
        # Before anything starts, so that a grid far larger than meant is seen at once: on a
        # terminal always; piped only for a grid that is not small (piped output stays quiet).
        if sys.stderr.isatty() or runs >= ANNOUNCE_PIPED_FROM:
            done = f" ({stored:,} already stored)" if stored else ""
            print(f"mibench: {runs:,} run{'s' if runs != 1 else ''}{done}", file=sys.stderr)

    # The executor is the runner's choice unless named (mibench.grid.runner.default_executor).
    options = dict(
        workers=args.jobs,
        executor=args.executor,
        timeout=args.timeout,
        address=args.address,
        out=args.out,
        rerun_failed=args.rerun_failed,
        progress=sys.stderr.isatty(),
        on_start=announce,
        allow_large=args.yes,
        batch_seeds=args.batch_seeds,
    )
    started = time.perf_counter()
    if args.grid is not None:
        given = [f"--{name}" for name in ("estimator", "dataset", "suite", "tag", "n", "seed",
                                          "param") if getattr(args, name)]
        if given:
            raise InputError(f"--grid names the estimators, datasets, sizes and seeds; "
                             f"drop {', '.join(given)} (or edit the grid file)")
        from mibench.grid.runner import run_grid

        records = run_grid(args.grid, **options)
    else:
        if not args.estimator:
            raise InputError("name at least one --estimator (or give a --grid file)")
        if sum(bool(choice) for choice in (args.dataset, args.tag, args.suite)) > 1:
            raise InputError("give at most one of --dataset, --tag and --suite")
        datasets = args.dataset or (mibench.list_datasets(args.tag) if args.tag else None)
        if args.tag and not datasets:
            raise InputError(f"no dataset has the tag {args.tag!r}")
        records = mibench.run(
            args.estimator,
            datasets,
            n=args.n or [5000],
            seeds=args.seed or [0],
            params=dict(args.param or []),
            suite=args.suite,
            **options,
        )
    elapsed = time.perf_counter() - started
    if args.format == "json":
        print(records_json(records, args.unit))
    elif args.format == "csv":
        print(records_csv(records, args.unit), end="")
    else:
        print(records_table(records, args.unit))
        print()
        print(records_summary(records, args.unit))
        print(f"total time {elapsed:.1f} s (sampling and estimation)")
        if args.out is not None:
            print(f"records stored in {args.out / RECORDS_FILENAME}")
    return 1 if any(record.status == "failed" for record in records) else 0


def _print_verdicts(name: str, result) -> None:
    from mibench.experiments.output import verdict_table_markdown

    print(f"## {name}: {result.claim}")
    print(verdict_table_markdown(result.verdicts))
    if result.summary:
        print(result.summary)


def _experiment(args) -> int:
    """Run one experiment (or ``all``) into DIR; print its verdicts (or JSON).

    Exit status 1 when an experiment failed or one of its verdicts does not hold.
    """
    from mibench.core.records import json_safe
    from mibench.experiments import get_experiment, list_experiments, run_experiment
    from mibench.experiments.output import write_index

    if args.name == "all":
        names = list_experiments()
        output_dir = args.out or Path("mibench-results")
    else:
        get_experiment(args.name)  # an unknown name fails here, before any directory is made
        names = [args.name]
        output_dir = args.out or Path("mibench-results") / args.name
    if args.timeout is not None:  # a bad timeout is one line and exit 2, before any work
        from mibench.grid.in_memory import SampleRunner

        SampleRunner(timeout=args.timeout).close()
    results, errors = {}, {}
    for name in names:
        directory = output_dir / name if args.name == "all" else output_dir
        started = time.perf_counter()
        try:
            results[name] = run_experiment(name, directory, args.quick, timeout=args.timeout)
        except Exception as error:  # noqa: BLE001 -- one failed experiment must not lose the rest
            if args.name != "all":
                raise
            errors[name] = f"{type(error).__name__}: {error}"
            print(f"mibench: experiment {name} failed: {errors[name]}", file=sys.stderr)
            continue
        results[name].settings.setdefault("seconds", round(time.perf_counter() - started, 1))
        if args.format != "json":
            _print_verdicts(name, results[name])
            print(f"written to {directory} ({time.perf_counter() - started:.1f} s)")
            print()
    if args.name == "all":
        written = write_index(results, output_dir, {"quick": args.quick}, errors)
        if args.format != "json":
            print(f"index: {written['index_md']} and {written['index_html']}")
    if args.format == "json":
        print(json.dumps(json_safe({
            name: {
                "claim": result.claim,
                "verdicts": [dataclasses.asdict(v) for v in result.verdicts],
                "figures": [str(path) for path in result.figures],
                "settings": result.settings,
                "summary": result.summary,
            }
            for name, result in results.items()
        }), indent=2, default=str))
    failed = errors or any(not v.passes for r in results.values() for v in r.verdicts)
    return 1 if failed else 0


def _report(args) -> int:
    from mibench.core.records import RECORDS_FILENAME, load_records
    from mibench.core.validation import InputError
    from mibench.results.report import write_report

    directory = args.directory
    if directory.is_file():
        raise InputError(f"{directory} is a file; `mibench report` takes the store's directory "
                         f"(the one holding {RECORDS_FILENAME}): mibench report {directory.parent}")
    if not directory.is_dir():
        raise InputError(f"no such file or directory: {directory}")
    records = load_records(directory)
    _check_output_directory(directory, "the report's directory")
    written = write_report(records, directory, all_versions=args.all_versions)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def _check_output_directory(path: Path, what: str = "--out") -> None:
    """Create ``path`` if needed and make sure files can be written in it (else InputError)."""
    import os
    import tempfile

    from mibench.core.validation import InputError

    try:
        path.mkdir(parents=True, exist_ok=True)
        # A temporary file proves little for root (it may write anywhere); ask for access too.
        if not os.access(path, os.W_OK):
            raise PermissionError(13, "Permission denied")
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError(f"{what} {str(path)!r} is not a writable directory: {reason}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit code is 0 on success, 2 for bad input, 1 for a failure.

    An :class:`mibench.core.validation.InputError` (bad input: a name, a parameter, a path) is
    reported as one line; any other exception is a bug or an environment failure and is shown
    with its traceback.
    """
    from mibench.core.validation import InputError

    parser = _build_parser()
    args = parser.parse_args(argv)
    handlers = {"list": _list, "run": _run, "experiment": _experiment, "report": _report}
    try:
        if getattr(args, "out", None) is not None:
            _check_output_directory(args.out)
        return handlers[args.command](args)
    except InputError as error:
        print(f"mibench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mibench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:
        import traceback

        traceback.print_exc()
        print("mibench: internal error (the traceback above); please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
