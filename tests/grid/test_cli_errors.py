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
