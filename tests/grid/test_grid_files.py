"""Grid files: what they select, and a clear error for each kind of mistake."""

from pathlib import Path

import pytest

import mibench
from mibench.grid.files import load_grid, parse_grid

GRIDS = Path(__file__).resolve().parents[2] / "grids"

MINIMAL = {"estimators": [{"name": "ksg"}], "datasets": ["1v1-normal-0.75"], "n": 100}


def test_a_grid_file_selects_estimator_settings_datasets_sizes_and_seeds(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        'name = "small"\n'
        'suites = ["staircase-v1"]\n'
        'tags = ["independent"]\n'
        'datasets = ["1v1-normal-0.75", "independent-normal-1-1"]\n'
        "n = [100, 200]\n"
        "seeds = { first = 2, last = 4 }\n"
        '[[estimators]]\nname = "ksg"\nparams = { k = 3 }\n'
        '[[estimators]]\nname = "ksg"\nparams = { k = 7 }\n'
        '[[estimators]]\nname = "gaussian"\n'
    )
    grid = load_grid(path)
    staircase, tagged = mibench.list_datasets("staircase"), mibench.list_datasets("independent")
    # Suites, then tags (registry order), then names; a dataset selected twice counts once.
    assert grid.datasets == staircase + tagged + ["1v1-normal-0.75"]
    assert grid.suite_of == dict.fromkeys(staircase, "staircase-v1")
    assert grid.sizes == [100, 200] and grid.seeds == [2, 3, 4]
    estimators = grid.build_estimators()
    assert [(e.name, e.get_params().get("k")) for e in estimators] == [
        ("ksg", 3), ("ksg", 7), ("gaussian", None)]
    assert grid.runs == 3 * len(grid.datasets) * 2 * 3
    assert grid.name == "small"


@pytest.mark.parametrize("path", sorted(GRIDS.glob("*.toml")), ids=lambda p: p.name)
def test_the_published_grids_load(path):
    grid = load_grid(path)
    assert grid.estimators and grid.datasets and grid.runs > 0


def test_the_beyond_normal_grid_is_the_published_protocol():
    grid = load_grid(GRIDS / "beyond-normal-v1.toml")
    assert grid.sizes == [5000] and grid.seeds == list(range(10))
    assert len(grid.datasets) == 40
    assert set(grid.datasets) == set(mibench.list_datasets("beyond-normal-v1"))
    assert set(grid.suite_of.values()) == {"beyond-normal-v1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"estimator": []}, "unknown key 'estimator'"),
        ({"estimators": []}, "no estimators"),
        ({"estimators": [{"name": "ksgg"}]}, "unknown estimator 'ksgg'"),
        ({"estimators": [{"name": "ksg", "params": {"kk": 3}}]}, "unknown parameter 'kk'"),
        ({"estimators": [{"name": "ksg", "param": {}}]}, "unknown key 'param'"),
        ({"estimators": [{"name": "ksg"}, {"name": "ksg", "params": {"k": 3}}]}, "repeats entry 1"),
        ({"datasets": []}, "no datasets"),
        ({"datasets": "1v1-normal-0.75"}, "must be a list of strings"),
        ({"datasets": ["no-such-dataset"]}, "unknown dataset 'no-such-dataset'"),
        ({"tags": ["no-such-tag"]}, "no dataset has the tag 'no-such-tag'"),
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": [100, 100]}, "lists a value twice"),
        ({"n": None}, "n is missing"),
        ({"seeds": -1}, "seeds must be an integer >= 0"),
        ({"seeds": {"first": 3, "last": 1}}, "runs backwards"),
        ({"seeds": {"from": 0, "to": 9}}, "a seed range is"),
        ({"name": 3}, "name must be a string"),
        ({"suites": ["beyond-normal-v9"]}, "unknown suite 'beyond-normal-v9'"),
    ],
)
def test_each_mistake_is_a_value_error_that_names_it(change, message):
    data = {**MINIMAL, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        parse_grid(data, where="test.toml")


def test_a_file_that_is_not_toml_or_missing_is_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("n = [100\n")
    with pytest.raises(ValueError, match="bad.toml is not valid TOML"):
        load_grid(bad)
    with pytest.raises(ValueError, match="no such grid file"):
        load_grid(tmp_path / "missing.toml")
