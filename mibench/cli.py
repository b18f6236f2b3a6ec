"""The ``mibench`` command line: argument parsing only; the work is done by the public API."""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _parse_param(text: str) -> tuple[str, object]:
    """'k=5' -> ('k', 5); values are Python literals where they parse, else strings."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--param takes NAME=VALUE, got {text!r}")
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
    listing.add_argument("what", choices=["estimators", "datasets", "experiments"])
    listing.add_argument("--tag", help="only datasets with this tag (e.g. beyond-normal)")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.add_argument("--unit", choices=["nats", "bits"], default="nats")

    run = commands.add_parser(
        "run",
        help="run estimators on datasets and compare with the true MI",
        description="Run an estimator on every dataset of the built-in suite (or those named) "
        "and print its estimate beside the true MI.",
    )
    run.add_argument("--estimator", "-e", action="append", required=True, metavar="NAME",
                     help="estimator name (repeatable); `mibench list estimators` shows them")
    run.add_argument("--dataset", "-d", action="append", metavar="NAME",
                     help="dataset name (repeatable); default: the built-in suite")
    run.add_argument("--tag", help="run every dataset with this tag instead of the default suite")
    run.add_argument("--n", type=int, action="append", metavar="N",
                     help="sample size (repeatable; default 5000)")
    run.add_argument("--seed", type=int, action="append", metavar="SEED",
                     help="sample seed (repeatable; default 0)")
    run.add_argument("--param", "-p", type=_parse_param, action="append", metavar="NAME=VALUE",
                     help="estimator parameter, e.g. k=5 (repeatable)")
    run.add_argument("--unit", choices=["nats", "bits"], default="nats")
    run.add_argument("--format", choices=["table", "json", "csv"], default="table")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="append every record, as it finishes, to DIR/records.jsonl")
    run.add_argument("--workers", type=int, default=1,
                     help="processes running the grid in parallel (default 1)")

    experiment = commands.add_parser("experiment", help="run one of the talk's experiments")
    experiment.add_argument("name", help="experiment name (`mibench list experiments`), or "
                            "`all` to run every one into DIR/NAME/ with DIR/index.md and .html")
    experiment.add_argument("--out", type=Path, default=None, metavar="DIR",
                            help="where records.csv, summary.md and the figures go "
                            "(default: mibench-results/NAME, or mibench-results for all)")
    experiment.add_argument("--quick", action="store_true", help="a small, fast version")
    experiment.add_argument("--format", choices=["table", "json"], default="table")

    report = commands.add_parser("report", help="leaderboard and heatmap from saved records")
    report.add_argument("directory", type=Path, metavar="DIR",
                        help="a directory holding records.jsonl (from `mibench run --out`)")
    return parser


def _list(args) -> int:
    import mibench
    from mibench.datasets import dataset_tags
    from mibench.scoring import to_unit
    from mibench.tables import format_number

    if args.what == "estimators":
        rows = []
        for name in mibench.list_estimators():
            cls = mibench.estimators.get_estimator_class(name)
            summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            rows.append({"name": name, "params": cls.default_params(), "summary": summary})
        if args.format == "json":
            print(json.dumps(rows, indent=2, default=str))
        else:
            width = max(len(row["name"]) for row in rows)
            for row in rows:
                print(f"{row['name'].ljust(width)}  {row['summary']}")
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
    rows = []
    names = mibench.list_datasets(args.tag)
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        # Network-layer datasets train their network on first use: show the wait.
        names = tqdm(names, unit="dataset", leave=False)
    for name in names:
        dataset = mibench.get_dataset(name)
        rows.append({
            "name": name,
            "dim_x": dataset.dim_x,
            "dim_y": dataset.dim_y,
            "mutual_information": to_unit(dataset.mutual_information, args.unit),
            "mutual_information_stderr": to_unit(dataset.mutual_information_stderr, args.unit),
            "tags": sorted(dataset_tags(name) | dataset.tags),
        })
    if args.format == "json":
        from mibench.records_io import json_safe

        print(json.dumps(json_safe(rows), indent=2))
        return 0
    width = max((len(row["name"]) for row in rows), default=4)
    print(f"{'dataset'.ljust(width)}  dim_x  dim_y  true MI [{args.unit}]")
    for row in rows:
        truth = format_number(row["mutual_information"])
        if row["mutual_information_stderr"]:
            truth += f" ± {format_number(row['mutual_information_stderr'], 3)}"
        print(f"{row['name'].ljust(width)}  {row['dim_x']:5d}  {row['dim_y']:5d}  {truth}")
    return 0


def _run(args) -> int:
    import mibench
    from mibench.records_io import RECORDS_FILENAME, append_record
    from mibench.tables import records_csv, records_json, records_summary, records_table

    if args.dataset and args.tag:
        raise ValueError("give either --dataset or --tag, not both")
    datasets = args.dataset or (mibench.list_datasets(args.tag) if args.tag else None)
    if args.tag and not datasets:
        raise ValueError(f"no dataset has the tag {args.tag!r}")
    params = dict(args.param or [])
    estimators = [mibench.get_estimator(name, **params) for name in args.estimator]

    on_record = None
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        records_path = args.out / RECORDS_FILENAME

        def on_record(record):
            append_record(record, records_path)

    started = time.perf_counter()
    records = mibench.run(
        estimators,
        datasets,
        n=args.n or [5000],
        seeds=args.seed or [0],
        workers=args.workers,
        progress=sys.stderr.isatty(),
        on_record=on_record,
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
            print(f"records appended to {args.out / RECORDS_FILENAME}")
    return 0 if all(record.ok for record in records) else 1


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
    from mibench.experiments import get_experiment, list_experiments, run_experiment
    from mibench.experiments.output import write_index
    from mibench.records_io import json_safe

    if args.name == "all":
        names = list_experiments()
        output_dir = args.out or Path("mibench-results")
    else:
        get_experiment(args.name)  # an unknown name fails here, before any directory is made
        names = [args.name]
        output_dir = args.out or Path("mibench-results") / args.name
    results, errors = {}, {}
    for name in names:
        directory = output_dir / name if args.name == "all" else output_dir
        started = time.perf_counter()
        try:
            results[name] = run_experiment(name, directory, args.quick)
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
                "verdicts": [vars(v) for v in result.verdicts],
                "figures": [str(path) for path in result.figures],
                "settings": result.settings,
                "summary": result.summary,
            }
            for name, result in results.items()
        }), indent=2, default=str))
    failed = errors or any(not v.holds for r in results.values() for v in r.verdicts)
    return 1 if failed else 0


def _report(args) -> int:
    from mibench.records_io import load_records
    from mibench.report import write_report

    written = write_report(load_records(args.directory), args.directory)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    handlers = {"list": _list, "run": _run, "experiment": _experiment, "report": _report}
    try:
        return handlers[args.command](args)
    except ValueError as error:
        # Bad input from the user: a clear message, no stack trace.
        print(f"mibench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mibench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
