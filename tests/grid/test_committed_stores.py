"""The result stores committed under data/ are runs of their grids, as the grids are now.

docs/results.md is the report of ``data/beyond-normal`` (the published protocol's two grids),
docs/beyond-normal.md reads ``data/bmi-protocol`` beside it (``grids/bmi-protocol.toml``: a run
of about two hours here; ``mibench run --grid grids/bmi-protocol.toml --jobs 2 --out
data/bmi-protocol`` resumes it). Both stores hold every run of their grids, as the docs' tables
of whole suites need. Their numbers mean what the docs say only while every record is a run of
its grid with the grid's parameters, canonical as the runner keys them (the estimators'
defaults included): a changed setting or default makes the records stale, and this test says
so.
"""

import dataclasses
from pathlib import Path

import pytest

from mibench.core.records import load_records
from mibench.grid.files import load_grid
from mibench.grid.store import record_key, run_key

ROOT = Path(__file__).resolve().parents[2]
#: (grid files, store): docs/results.md reports data/beyond-normal as the whole published
#: protocol, docs/beyond-normal.md data/bmi-protocol as the whole of bmi's.
COMMITTED = [
    (("grids/bmi-protocol.toml",), "data/bmi-protocol"),
    (("grids/beyond-normal-classical.toml", "grids/beyond-normal-neural.toml"), "data/beyond-normal"),
]


def _without_version(key):
    return key[:-1]


def _grid_keys(grid):
    return {
        _without_version(run_key(estimator, dataset, n, seed))
        for estimator in grid.build_estimators()
        for dataset in grid.datasets
        for n in grid.sizes
        for seed in grid.seeds
    }


@pytest.mark.parametrize(("grid_files", "store"), COMMITTED)
def test_every_committed_record_is_a_run_of_its_grid_and_every_run_is_stored(grid_files, store):
    records = load_records(ROOT / store)
    keys = set().union(*(_grid_keys(load_grid(ROOT / grid_file)) for grid_file in grid_files))
    stored = [_without_version(record_key(record)) for record in records]
    assert len(stored) == len(set(stored)), "a run is stored twice"
    stale = [key for key in stored if key not in keys]
    assert not stale, f"{len(stale)} records are not runs of {grid_files} as they are now: {stale[0]}"
    assert all(record.status in ("ok", "failed") for record in records)
    assert set(stored) == keys, f"{len(keys - set(stored))} runs of {grid_files} are missing"
    # Control: the store less its last record is not the whole grid.
    assert set(stored[:-1]) != keys
    # Control: the same record with one setting changed (its k, bins or learning rate) is not
    # a run of the grid.
    settings = ("k", "n_bins", "learning_rate")
    record = next(r for r in records if any(name in r.params for name in settings))
    setting = next(name for name in settings if name in record.params)
    changed = dataclasses.replace(record, params={**record.params, setting: record.params[setting] * 3})
    assert _without_version(record_key(changed)) not in keys
