"""The ``command`` estimator: an external program run on a sample file, with the example
script of the repository, every file format, units, placeholders and each failure named."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import mibench

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = [sys.executable, str(ROOT / "examples" / "gaussian_mi_command.py")]


def gaussian_mutual_information(x, y):
    """The Gaussian MI of the sample covariance, written here from its formula."""
    joint = np.cov(np.hstack([x, y]), rowvar=False)
    d = x.shape[1]
    return 0.5 * (np.linalg.slogdet(joint[:d, :d])[1] + np.linalg.slogdet(joint[d:, d:])[1]
                  - np.linalg.slogdet(joint)[1])


@pytest.fixture(scope="module")
def sample():
    return mibench.get_dataset("multinormal-dense-2-2-0.5").sample(800, seed=1)


def script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "estimator.py"
    path.write_text("import sys, time\n" + body)
    return [sys.executable, str(path)]


@pytest.mark.parametrize("sample_format", ["csv", pytest.param("npy", marks=pytest.mark.slow)])
def test_the_example_script_reads_the_sample_exactly(sample, sample_format):
    x, y = sample
    estimate = mibench.estimate(x, y, "command", command=EXAMPLE, sample_format=sample_format)
    # %.17g and .npy both carry float64 exactly, so the program sees the very same numbers.
    assert estimate == pytest.approx(gaussian_mutual_information(x, y), abs=1e-12)
    # The control: the program does read the sample; with Y shuffled it reads about 0.
    shuffled = np.random.default_rng(0).permutation(y)
    assert abs(mibench.estimate(x, shuffled, "command", command=EXAMPLE)) < 0.02 < estimate


@pytest.mark.slow
def test_the_example_estimates_a_known_mi_as_a_string_command(monkeypatch):
    dataset = mibench.get_dataset("1v1-normal-0.75")
    x, y = dataset.sample(5000, seed=0)
    monkeypatch.chdir(ROOT)  # the documented command line is relative to the repository
    estimator = mibench.get_estimator(
        "command", command=f"{sys.executable} examples/gaussian_mi_command.py"
    )
    assert estimator.estimate(x, y) == pytest.approx(dataset.mutual_information, abs=0.03)


def test_placeholders_and_bits(tmp_path):
    # The program prints 1 bit when it is told dim_x = 1, dim_y = 2 and seed 7 in its own order.
    command = script(tmp_path, (
        "path, seed, dx, dy = sys.argv[1:]\n"
        "assert path.endswith('.csv') and open(path).readline().strip() == 'x1,y1,y2'\n"
        "print('log line')\nprint(1.0 if (seed, dx, dy) == ('7', '1', '2') else 5.0)\n"
    )) + ["{sample}", "{seed}", "{dim_x}", "{dim_y}"]
    x = np.arange(10.0)
    y = np.stack([x, -x], axis=1)
    value = mibench.estimate(x, y, "command", command=command, seed=7, unit="bits")
    assert value == pytest.approx(math.log(2.0), abs=1e-15)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("print('hello')", "the last line the command printed is not a number: 'hello'"),
        ("pass", "the command printed nothing"),
        ("sys.stderr.write('no such estimator'); sys.exit(3)",
         "exited with status 3; its output ends:\nno such estimator"),
        ("print('nan')", "not a finite MI estimate"),
        ("time.sleep(30)", "did not finish within timeout=0.5 s"),
    ],
)
def test_each_failure_is_an_input_error_naming_it(tmp_path, body, message):
    estimator = mibench.get_estimator("command", command=script(tmp_path, body), timeout=0.5)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        estimator.estimate(np.arange(5.0), np.arange(5.0))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "estimator 'command' needs command="),
        ({"command": ""}, "command is empty"),
        ({"command": "no-such-program-for-mibench --k 3"}, "'no-such-program-for-mibench' is not on PATH"),
        ({"command": "./not/a/file.R"}, "is not an executable file"),
        ({"command": "python 'unclosed"}, "cannot be split"),
        ({"command": 42}, "command must be a string or a list of strings"),
        ({"command": "python", "sample_format": "parquet"}, "sample_format must be one of"),
        ({"command": "python", "timeout": 0}, "timeout"),
        ({"command": "python", "unit": "bans"}, "unit must be one of"),
    ],
)
def test_bad_configuration_is_named(params, message):
    with pytest.raises(ValueError, match=message):
        mibench.get_estimator("command", **params)


@pytest.mark.slow  # a worker process and two interpreters: several seconds
def test_runs_in_the_runner_like_any_estimator():
    records = mibench.run(estimators="command", datasets="1v1-normal-0.75", n=500, seeds=[0, 1],
                          params={"command": {"command": EXAMPLE}}, executor="serial")
    assert [r.status for r in records] == ["ok", "ok"]
    assert all(r.seconds > 0 for r in records)
    assert records[0].estimate != records[1].estimate  # two seeds, two samples
