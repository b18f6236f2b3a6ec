"""Bad input to `mibench run` is one line on standard error and exit status 2, never a traceback."""

import json

import pytest

from mibench.cli import main
from mibench.core.records import RECORDS_FILENAME

RUN = ["run", "-e", "gaussian", "-d", "1v1-normal-0.75", "--n", "50", "--format", "json"]


def one_line_error(capsys, argv) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("mibench: error: ") and err.count("\n") == 1, err
    return err


def test_a_bogus_dask_address(capsys):
    pytest.importorskip("distributed")
    err = one_line_error(capsys, RUN + ["--address", "bogus"])
    assert "bogus" in err


def test_an_unreachable_dask_scheduler(capsys, monkeypatch):
    pytest.importorskip("distributed")
    from mibench.grid.executors import DaskExecutor

    monkeypatch.setattr(DaskExecutor, "connect_timeout", 0.5)
    err = one_line_error(capsys, RUN + ["--address", "tcp://127.0.0.1:1"])
    assert "tcp://127.0.0.1:1" in err


def test_a_grid_file_that_is_not_utf8(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    err = one_line_error(capsys, ["run", "--grid", str(grid)])
    assert "not UTF-8" in err
    # The control: the same grid in UTF-8 gets past reading (to the next complaint).
    grid.write_text('name = "caf\u00e9"\n', encoding="utf-8")
    assert "not UTF-8" not in one_line_error(capsys, ["run", "--grid", str(grid)])


def test_resuming_a_store_with_a_wrong_typed_record_names_its_line(tmp_path, capsys):
    assert main(RUN + ["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    path = tmp_path / RECORDS_FILENAME
    record = json.loads(path.read_text())
    record["estimate"] = "abc"
    path.write_text(json.dumps(record) + "\n")
    err = one_line_error(capsys, RUN + ["--out", str(tmp_path)])
    assert f"{RECORDS_FILENAME}:1" in err and "estimate" in err


DRIVER = '''
import sys

if __name__ == "__main__":
    from _faulty_estimators import Sleeps

    import mibench.grid.runner as runner
    from mibench.cli import main

    runner._resolve_estimators = lambda estimators, params: [Sleeps(seconds=60.0)]
    sys.exit(main(["run", "-e", "ksg", "-d", "1v1-normal-0.75", "--n", "50", "--seed", "0",
                   "--seed", "1", "--executor", "dask", "--jobs", "2", "--format", "json"]))
'''


@pytest.mark.slow
def test_ctrl_c_under_dask_is_one_line(tmp_path):
    """Ctrl-C reaches the whole foreground process group (the Dask workers too): one line."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    pytest.importorskip("distributed")
    root = Path(__file__).resolve().parents[2]
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(root), str(root / "tests")])}
    process = subprocess.Popen([sys.executable, str(driver)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(15)  # the cluster is up and both runs are sleeping
    os.killpg(process.pid, signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert err.splitlines() == ["mibench: interrupted"]  # the issue counted 129 lines
