"""The package shows its layers (DESIGN.md, Layout), and the checks of that can fail.

Two checks: import-linter's layers contract (pyproject.toml, ``[tool.importlinter]``), which
counts lazy imports inside functions too; and a plain AST walk for what the contract cannot say:
no module below the public API imports the package root (``from mibench import ...``) or one of
the 0.2 import paths kept as aliases (:mod:`mibench._moved`). Each check is also run on a copy of
the package with one violation planted, where it must fail.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mibench._moved import MOVED

ROOT = Path(__file__).resolve().parents[1]
#: Modules that may import the package root: the API itself and its command line.
API_MODULES = {"mibench/__init__.py", "mibench/__main__.py", "mibench/cli.py"}


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess:
    """Run import-linter with this project's contract on the ``mibench`` under ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=package_parent, env=env, capture_output=True, text=True)


def upward_imports(package: Path) -> list[str]:
    """Imports of the package root or of a 0.2 alias, by modules below the API."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).as_posix()
        dotted = relative[:-3].replace("/", ".")
        if relative in API_MODULES or dotted in MOVED or relative == "mibench/_moved.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                if node.module == "mibench" and any(a.name != "_version" for a in node.names):
                    problems.append(f"{relative}:{node.lineno} imports the package root")
                if node.module in MOVED:
                    problems.append(f"{relative}:{node.lineno} imports the 0.2 path {node.module}")
            elif isinstance(node, ast.Import):
                for name in node.names:
                    if name.name == "mibench" or name.name in MOVED:
                        problems.append(f"{relative}:{node.lineno} imports {name.name}")
    return problems


def planted_copy(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package with ``line`` (an import inside a function) added to ``module``."""
    shutil.copytree(ROOT / "mibench", tmp_path / "mibench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n\ndef _planted():\n    {line}\n")
    return tmp_path


def test_the_layers_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_layers_contract_catches_a_lazy_upward_import(tmp_path):
    copy = planted_copy(tmp_path, "mibench/core/cache.py", "from mibench.grid import runner")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "mibench.core.cache -> mibench.grid" in result.stdout


def test_no_module_below_the_api_imports_the_root_or_an_old_path():
    assert upward_imports(ROOT / "mibench") == []


@pytest.mark.parametrize("line, problem", [
    ("from mibench import get_estimator", "imports the package root"),
    ("from mibench.interface import Record", "imports the 0.2 path mibench.interface"),
])
def test_the_root_import_check_catches_a_planted_import(tmp_path, line, problem):
    copy = planted_copy(tmp_path, "mibench/datasets/staircase.py", line)
    problems = upward_imports(copy / "mibench")
    assert len(problems) == 1 and problem in problems[0]


def test_every_old_path_is_the_new_module_and_warns():
    import importlib

    for old, new in MOVED.items():
        sys.modules.pop(old, None)
        with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
            module = importlib.import_module(old)
        assert module is importlib.import_module(new)
