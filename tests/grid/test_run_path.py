"""One run path: one pairing and one dataset resolution per grid, one default executor, run keys
that tell estimators apart, duplicates that collapse, and a size limit."""

import json

import pytest

import mibench
import mibench.grid.runner as runner
from mibench.cli import main
from mibench.core.contracts import Estimator
from mibench.core.validation import InputError
from mibench.grid.store import ResultStore, record_key, run_key

DATASETS = ["1v1-normal-0.75", "independent-normal-1-1"]


class _Plain(Estimator):
    """Unregistered (``name`` is empty): its identity is module:qualname."""

    def __init__(self, *, value: float = 0.25):
        self.value = value

    def _estimate(self, x, y):
        return self.value


class _Another(Estimator):
    """Unregistered as well, with the same (empty) name and the same params."""

    def __init__(self, *, value: float = 0.25):
        self.value = value

    def _estimate(self, x, y):
        return 2 * self.value


def test_two_unregistered_estimators_keep_their_own_records_on_resume(tmp_path):
    assert _Plain.name == _Another.name == ""
    first = mibench.run([_Plain(), _Another()], DATASETS[0], n=50, out=tmp_path)
    assert [r.estimate for r in first] == [0.25, 0.5]
    again = mibench.run([_Plain(), _Another()], DATASETS[0], n=50, out=tmp_path)
    assert [r.estimate for r in again] == [0.25, 0.5]  # the old key made both 0.25
    assert len(ResultStore(tmp_path).records()) == 2
    assert run_key(_Plain(), DATASETS[0], 50, 0) != run_key(_Another(), DATASETS[0], 50, 0)
    # The control: the same setting of one class is one run, whatever the spelling.
    assert run_key(_Plain(value=1), DATASETS[0], 50, 0) == run_key(_Plain(value=1.0), DATASETS[0], 50, 0)


def test_a_stored_records_key_is_its_live_estimators(tmp_path):
    estimator = mibench.get_estimator("ksg", variant=True)
    (record,) = mibench.run(estimator, DATASETS[0], n=100, out=tmp_path)
    assert record.params["variant"] == 1  # canonical, not True
    (stored,) = ResultStore(tmp_path).records()
    assert record_key(stored) == run_key(mibench.get_estimator("ksg", variant=1.0), DATASETS[0],
                                         100, 0)


def test_duplicates_collapse_in_the_api():
    records = mibench.run(["ksg", "ksg"], [DATASETS[0], DATASETS[0]], n=[60, 60], seeds=[0, 0])
    assert len(records) == 1
    settings = [mibench.get_estimator("ksg", variant=v) for v in (1, 1.0, True)]
    assert len(mibench.run(settings, DATASETS[0], n=60)) == 1
    # The control: distinct settings stay distinct.
    assert len(mibench.run(["ksg"], DATASETS[0], n=60, seeds=[0, 1], params={"k": 2})) == 2


def test_duplicates_collapse_on_the_command_line(capsys):
    code = main(["run", "-e", "ksg", "-e", "ksg", "-d", DATASETS[0], "--n", "60", "--n", "60",
                 "--seed", "0", "--seed", "0", "--format", "json"])
    assert code == 0 and len(json.loads(capsys.readouterr().out)) == 1
    code = main(["run", "-e", "ksg", "-d", DATASETS[0], "--n", "60", "--seed", "0", "--seed", "1",
                 "--format", "json"])
    assert code == 0 and len(json.loads(capsys.readouterr().out)) == 2  # the control


@pytest.mark.parametrize("executor", ["inline", pytest.param("serial", marks=pytest.mark.slow)])
def test_each_dataset_is_resolved_once_and_each_pair_prepared_once(monkeypatch, executor):
    resolved, prepared = [], []
    real_get, real_prepare = runner.get_dataset, runner.prepare
    monkeypatch.setattr(runner, "get_dataset", lambda name: resolved.append(name) or real_get(name))
    monkeypatch.setattr(runner, "prepare",
                        lambda e, d: prepared.append((e.name, d.name)) or real_prepare(e, d))
    records = mibench.run(["ksg", "gaussian"], DATASETS, n=[50, 60], seeds=[0, 1],
                          executor=executor)
    assert len(records) == 16 and all(r.status == "ok" for r in records)
    assert sorted(resolved) == sorted(DATASETS)  # not once per run (16), nor three times
    assert len(prepared) == 4  # (estimator, dataset) pairs


def test_one_default_executor_for_the_api_and_the_cli(monkeypatch, capsys):
    assert runner.default_executor() == "inline"
    assert runner.default_executor(workers=2) == "processes"
    assert runner.default_executor(timeout=5.0) == "serial"
    assert runner.default_executor(workers=2, address="tcp://h:1") == "dask"
    made = []
    real = runner.make_executor
    # Note the executor chosen, and run inline anyway (the choice is what is tested here).
    monkeypatch.setattr(runner, "make_executor", lambda name, **kw: made.append(name) or real("inline"))
    mibench.run("gaussian", DATASETS[0], n=50)
    assert main(["run", "-e", "gaussian", "-d", DATASETS[0], "--n", "50", "--format", "json"]) == 0
    mibench.run("gaussian", DATASETS[0], n=50, timeout=30)
    assert main(["run", "-e", "gaussian", "-d", DATASETS[0], "--n", "50", "--timeout", "30",
                 "--format", "json"]) == 0
    capsys.readouterr()
    assert made == ["inline", "inline", "serial", "serial"]


def test_a_grid_over_the_limit_is_refused_before_anything_is_built(monkeypatch):
    built = []
    monkeypatch.setattr(runner, "get_estimator", lambda *a, **k: built.append(a))
    with pytest.raises(InputError, match=r"200,000 runs.*--yes"):
        mibench.run(mibench.get_estimator("gaussian"), DATASETS[0], n=50, seeds=range(200_000))
    assert runner.check_grid_size(runner.MAX_RUNS) == runner.MAX_RUNS  # the control: at the limit
    assert runner.check_grid_size(10**9, allow_large=True) == 10**9


def test_the_limit_and_yes_on_the_command_line(monkeypatch, capsys):
    monkeypatch.setattr(runner, "MAX_RUNS", 3)
    argv = ["run", "-e", "gaussian", "-d", DATASETS[0], "--n", "50", "--seed", "0", "--seed", "1",
            "--seed", "2", "--seed", "3", "--format", "json"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "4 runs" in err and "--yes" in err
    assert main(argv + ["--yes"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_a_seed_typo_in_a_grid_file_is_refused_at_once(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text('datasets = ["1v1-normal-0.75"]\nn = 100\nseeds = { first = 0, last = 99999999 }\n'
                    '[[estimators]]\nname = "gaussian"\n')
    assert main(["run", "--grid", str(grid)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "100,000,000 runs" in err
