"""Every command the README shows runs and exits 0: documentation that cannot rot.

The commands are read from the README's ```bash blocks (lines starting with ``mibench``, a
comment after ``#`` dropped) and run in order through the CLI's entry point, in a scratch
directory holding a copy of the repository's grid files (the commands are written to be run
from the repository's root), so that a command that reads what an earlier one wrote
(``mibench report``) finds it.
"""

import shlex
import shutil
from pathlib import Path

import pytest

from mibench.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    commands, in_bash = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_bash = line.strip() in ("```bash", "```sh", "```console")
            continue
        text = line.split(" #")[0].strip()
        if in_bash and text.startswith("mibench "):
            commands.append(text)
    return commands


def test_the_readme_shows_the_main_job_and_the_test_command():
    text = README.read_text(encoding="utf-8")
    assert "mibench run --estimator ksg" in readme_commands()
    assert 'python -m pytest -m "not slow"' in text
    assert (ROOT / ".ci" / "run").read_text().count(
        'python -m pytest -m "not slow"'
    ) == 1


def test_every_readme_command_exits_0(tmp_path, monkeypatch, capsys):
    commands = readme_commands()
    assert len(commands) >= 8
    shutil.copytree(ROOT / "grids", tmp_path / "grids")
    monkeypatch.chdir(tmp_path)
    for command in commands:
        code = main(shlex.split(command)[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{command!r} exited {code}: {err[-2000:]}"
        assert out.strip(), f"{command!r} printed nothing"


def test_a_second_run_of_a_grid_into_its_store_runs_nothing(tmp_path, capsys):
    """The README says so: the second command finds every record stored."""
    store = tmp_path / "store"
    argv = ["run", "--grid", str(ROOT / "grids" / "smoke.toml"), "--jobs", "2", "--out", str(store),
            "--format", "json"]
    assert main(argv) == 0
    import json

    first = json.loads(capsys.readouterr().out)
    lines = (store / "records.jsonl").read_text().splitlines()
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert (store / "records.jsonl").read_text().splitlines() == lines
    assert [r["estimate"] for r in second] == [r["estimate"] for r in first]


@pytest.mark.parametrize("command", ["list", "run", "experiment", "report"])
def test_each_subcommand_appears_in_the_readme(command):
    assert any(c.split()[1] == command for c in readme_commands())
