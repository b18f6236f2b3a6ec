"""The computability experiment: estimates on deterministic layers grow with n; on a noisy
layer the consistent estimators approach the exact MI."""

import math

import pytest

from mibench.experiments import get_experiment


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return get_experiment("computability")(tmp_path_factory.mktemp("computability"), True)


def estimate(result, dataset, label, n):
    (row,) = [r for r in result.tables["estimates"]
              if r["dataset"] == dataset and r["estimator"] == label and r["n"] == n]
    return row["mean estimate"]


def test_knn_estimates_rise_with_n_on_deterministic_layers_only(result):
    for label in ("ksg k=3", "ksg k=20"):
        deterministic_rise = (estimate(result, "linear-gaussian-channel-3-3-0", label, 2000)
                              - estimate(result, "linear-gaussian-channel-3-3-0", label, 500))
        noisy_rise = (estimate(result, "linear-gaussian-channel-3-3-0.5", label, 2000)
                      - estimate(result, "linear-gaussian-channel-3-3-0.5", label, 500))
        # Infinite MI: the estimate climbs like (d/2) log n; finite MI: it settles.
        assert deterministic_rise > 0.4
        assert deterministic_rise > noisy_rise + 0.2


def test_consistent_estimators_approach_the_exact_mi_of_the_noisy_channel(result):
    truth = result.tables["disagreement"][1]["truth"]
    assert truth == pytest.approx(2.0342, abs=1e-4)
    assert abs(estimate(result, "linear-gaussian-channel-3-3-0.5", "gaussian", 2000) - truth) < 0.1
    assert abs(estimate(result, "linear-gaussian-channel-3-3-0.5", "ksg k=3", 2000) - truth) < 0.3


def test_the_figure_and_tables_are_written(result):
    (figure,) = result.figures
    assert figure.exists() and figure.stat().st_size > 10_000
    assert all(math.isinf(row["truth"]) for row in result.tables["disagreement"][::2])
