"""A result store makes a grid resumable: killed part way and started again, it ends with every
record exactly once; --rerun-failed redoes the failures and nothing else."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _faulty_estimators import Correlation, FailsUntilFileExists, Sleeps

import mibench
from mibench.grid.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ["1v1-normal-0.75", "multinormal-dense-2-2-0.5"]

# The grid of the kill test, run by a separate Python process on two worker processes. The
# sleeping estimator makes each run last long enough for the kill to land part way.
DRIVER = """
import sys
import mibench
from _faulty_estimators import Correlation, Sleeps
mibench.run([Correlation(), Sleeps(seconds=0.05)], {datasets!r}, n=300, seeds=range(8),
            out=sys.argv[1], workers=2)
"""


def stored_lines(directory):
    path = directory / "records.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


# Slow: a real SIGKILL mid-grid; tests/grid/test_store.py checks the torn tail and the resume fast.
@pytest.mark.slow
def test_a_grid_killed_part_way_and_run_again_has_every_record_exactly_once(tmp_path):
    out = tmp_path / "store"
    command = [sys.executable, "-c", DRIVER.format(datasets=DATASETS), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), *sys.path])}
    total = 2 * 8 * 2
    process = subprocess.Popen(command, env=env, start_new_session=True,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while stored_lines(out) < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its worker processes, all at once
    process.wait()
    kept = stored_lines(out)
    assert 4 <= kept < total, f"the kill came too late to test anything ({kept} of {total})"

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    records = ResultStore(out).records()
    lines = (out / "records.jsonl").read_text().splitlines()
    assert len(lines) == len(records) == total  # every run once: none lost, none twice
    assert all(r.status == "ok" for r in records)
    # And they are those of an uninterrupted run in this process.
    reference = mibench.run([Correlation(), Sleeps(seconds=0.0)], DATASETS, n=300, seeds=range(8))
    assert {(r.estimator, r.dataset, r.seed): r.estimate for r in records} == {
        (r.estimator, r.dataset, r.seed): r.estimate for r in reference}


def test_running_again_skips_stored_runs_and_rerun_failed_redoes_only_failures(tmp_path):
    flag = tmp_path / "flag"
    estimators = [Correlation(), FailsUntilFileExists(path=str(flag))]
    out = tmp_path / "store"
    first = mibench.run(estimators, DATASETS, n=200, seeds=[0, 1], out=out)
    assert [r.status for r in first] == ["ok", "failed"] * 4

    seen = []
    again = mibench.run(estimators, DATASETS, n=200, seeds=[0, 1], out=out, on_record=seen.append)
    assert seen == [] and again == first  # nothing run: everything came from the store

    flag.touch()
    retried = mibench.run(estimators, DATASETS, n=200, seeds=[0, 1], out=out, rerun_failed=True,
                          on_record=seen.append)
    assert [r.estimator for r in seen] == ["test-fails-until-file-exists"] * 4
    assert all(r.status == "ok" for r in retried)
    assert retried[0::2] == first[0::2]  # the successful runs were kept, not redone
    stored = ResultStore(out).records()
    assert len(stored) == 8 and all(r.status == "ok" for r in stored)


def test_the_store_records_its_provenance_once(tmp_path):
    from mibench.grid.provenance import read_provenance

    out = tmp_path / "store"
    for _ in range(2):
        mibench.run("gaussian", DATASETS[:1], n=100, out=out)
    sessions = read_provenance(out)
    assert len(sessions) == 1
    assert sessions[0]["mibench"] == mibench.__version__
    assert sessions[0]["grid"]["datasets"] == DATASETS[:1]
    assert sessions[0]["cores"] == os.cpu_count()
