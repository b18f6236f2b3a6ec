"""Every command the README shows is a command mibench understands: documentation that cannot rot.

The commands are read from the README's ```bash blocks (lines starting with ``mibench``, a
comment after ``#`` dropped). The fast tests parse each one with the CLI's own parser and resolve
every name it gives (estimators and their parameters, datasets, tags, suites, experiments, grid
files, the directory a report reads), so a renamed estimator or a dropped option fails here in
a second. The slow test runs them all for real, in order, in a scratch directory holding a copy
of the grid files and examples, so that ``mibench report`` finds what an earlier command
wrote.
"""

import json
import shlex
import shutil
from pathlib import Path

import pytest

from mibench.cli import _build_parser, main
from mibench.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: The fast suite on every core; CI runs exactly this.
TEST_COMMAND = 'python -m pytest -n auto -m "not slow"'


def readme_commands(text: str | None = None) -> list[str]:
    commands, in_bash = [], False
    for line in (text if text is not None else README.read_text(encoding="utf-8")).splitlines():
        if line.startswith("```"):
            in_bash = line.strip() in ("```bash", "```sh", "```console")
            continue
        command = line.split(" #")[0].strip()
        if in_bash and command.startswith("mibench "):
            commands.append(command)
    return commands


def resolve_command(command: str, outputs: set[Path]) -> None:
    """Parse ``command`` as the CLI does and resolve every name in it; raise on the first that
    does not exist. ``outputs`` collects the ``--out`` directories, which a later ``report``
    may read."""
    import mibench
    from mibench.datasets.suites import get_suite
    from mibench.experiments import get_experiment
    from mibench.grid.files import load_grid
    from mibench.grid.runner import resolve_params

    try:
        args = _build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as exit_:  # argparse's way of saying the command does not parse
        raise InputError(f"{command!r} does not parse (exit {exit_.code})") from None
    if args.command == "list" and args.tag and not mibench.list_datasets(args.tag):
        raise InputError(f"no dataset has the tag {args.tag!r}")
    if args.command == "run":
        if args.grid is not None:
            load_grid(ROOT / args.grid).build_estimators()
        names = args.estimator or []
        for name, params in resolve_params(names, dict(args.param or [])).items():
            mibench.get_estimator(name, **params)
        known = set(mibench.list_datasets())
        for dataset in args.dataset or []:
            if dataset not in known:
                raise InputError(f"unknown dataset {dataset!r}")
        if args.tag and not mibench.list_datasets(args.tag):
            raise InputError(f"no dataset has the tag {args.tag!r}")
        if args.suite:
            get_suite(args.suite)
        if args.out is not None:
            outputs.add(Path(args.out))
    if args.command == "experiment" and args.name != "all":
        get_experiment(args.name)
    if args.command == "report" and Path(args.directory) not in outputs:
        raise InputError(f"{command!r} reads {args.directory}, which no command before it writes")


def test_the_readme_shows_the_main_job_and_the_test_command():
    text = README.read_text(encoding="utf-8")
    assert "mibench run --estimator ksg" in readme_commands()
    assert TEST_COMMAND in text
    assert (ROOT / ".ci" / "run").read_text().count(TEST_COMMAND) == 1


def test_every_readme_command_parses_and_its_names_resolve():
    commands = readme_commands()
    assert len(commands) >= 8
    outputs: set[Path] = set()
    for command in commands:
        resolve_command(command, outputs)


@pytest.mark.parametrize("broken", [
    "mibench run --estimator no-such-estimator",
    "mibench run -e ksg --dataset no-such-dataset",
    "mibench run -e ksg --param no_such_parameter=3",
    "mibench run -e ksg --suite no-such-suite",
    "mibench run --grid grids/no-such-grid.toml",
    "mibench run -e ksg --no-such-option",
    "mibench experiment no-such-experiment",
    "mibench list datasets --tag no-such-tag",
    "mibench report never-written/",
])
def test_the_resolution_check_fails_on_a_broken_command(broken):
    """The negative control: each of these would have to fail the README check."""
    text = f"```bash\n{broken}\n```\n"
    (command,) = readme_commands(text)
    with pytest.raises(InputError):
        resolve_command(command, set())


@pytest.mark.parametrize("command", ["list", "run", "experiment", "report"])
def test_each_subcommand_appears_in_the_readme(command):
    assert any(c.split()[1] == command for c in readme_commands())


@pytest.mark.slow
def test_every_readme_command_exits_0(tmp_path, monkeypatch, capsys):
    commands = readme_commands()
    for folder in ("grids", "examples"):  # what the commands name, relative to the root
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        code = main(shlex.split(command)[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{command!r} exited {code}: {err[-2000:]}"
        assert out.strip(), f"{command!r} printed nothing"


@pytest.mark.slow
def test_a_second_run_of_a_grid_into_its_store_runs_nothing(tmp_path, capsys):
    """The README says so: the second command finds every record stored."""
    store = tmp_path / "store"
    argv = ["run", "--grid", str(ROOT / "grids" / "smoke.toml"), "--jobs", "2", "--out", str(store),
            "--format", "json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    lines = (store / "records.jsonl").read_text().splitlines()
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert (store / "records.jsonl").read_text().splitlines() == lines
    assert [r["estimate"] for r in second] == [r["estimate"] for r in first]
