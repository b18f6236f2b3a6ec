"""Every v1 sampler against the quantiles and rank correlations of bmi's own samplers.

``data/bmi-v1-sample-stats.json`` holds, for each of the 40 tasks, the 5 %, 25 %, 50 %, 75 %
and 95 % quantiles of coordinates 0..2 of X and Y and Spearman's rho of (x0, y0), (x0, x1) and
(y0, y1), from 200,000 draws of the reference implementation before its per-sample
standardization (rounded to 4 decimals). Each statistic of a sample from mibench must lie within
Z_LIMIT standard errors of their difference, so a wrong variance, speed, plane or mixture fails
while a correct sampler passes at any seed (about 1e-3 false alarms for the whole file).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from sample_checks import Z_LIMIT, quantile_z_scores, spearman_z_score

import mibench
from mibench.core.preprocessing import standardize
from mibench.datasets import ground_truth

REFERENCE = json.loads((Path(__file__).parent / "data" / "bmi-v1-sample-stats.json").read_text())
REFERENCE_N = REFERENCE["about"]["samples"]
PROBABILITIES = REFERENCE["about"]["quantiles"]
ROUNDING = 1e-4  # the reference values have 4 decimals
SAMPLE_SIZE = 20_000


def worst_z_scores(dataset, seed: int, n: int = SAMPLE_SIZE) -> dict[str, float]:
    """The largest z-score of each statistic of ``dataset``'s raw sample against the reference."""
    reference = REFERENCE["tasks"][dataset.name]
    x, y = dataset.sample(n, seed, standardize=False)
    columns = {"x": x, "y": y}
    scores = {}
    for side in ("x", "y"):
        for coordinate, quantiles in reference[f"{side}_quantiles"].items():
            z = quantile_z_scores(columns[side][:, int(coordinate)], quantiles, PROBABILITIES,
                                  REFERENCE_N, ROUNDING)
            scores[f"{side}{coordinate} quantiles"] = float(z.max())
    pairs = {"x0_y0": (x[:, 0], y[:, 0])}
    if x.shape[1] > 1:
        pairs["x0_x1"] = (x[:, 0], x[:, 1])
    if y.shape[1] > 1:
        pairs["y0_y1"] = (y[:, 0], y[:, 1])
    for pair, (a, b) in pairs.items():
        if f"spearman_{pair}" in reference:
            scores[f"spearman {pair}"] = spearman_z_score(a, b, reference[f"spearman_{pair}"],
                                                          REFERENCE_N, ROUNDING)
    return scores


def test_the_reference_covers_every_v1_task():
    assert set(REFERENCE["tasks"]) == set(ground_truth.BEYOND_NORMAL_TASKS)


@pytest.mark.parametrize("task_id", ground_truth.BEYOND_NORMAL_TASKS)
def test_sampler_matches_the_reference_quantiles_and_rank_correlations(task_id):
    dataset = mibench.get_dataset(task_id)
    scores = worst_z_scores(dataset, seed=len(task_id))
    failed = {name: round(z, 1) for name, z in scores.items() if z > Z_LIMIT}
    assert not failed, f"{task_id}: statistics beyond {Z_LIMIT} standard errors: {failed}"


@pytest.mark.parametrize("task_id", ground_truth.BEYOND_NORMAL_TASKS)
def test_sample_is_standardized_per_coordinate_by_default(task_id):
    dataset = mibench.get_dataset(task_id)
    assert dataset.standardized
    x, y = dataset.sample(500, seed=2)
    raw_x, raw_y = dataset.sample(500, seed=2, standardize=False)
    assert np.allclose(x.mean(axis=0), 0, atol=1e-12) and np.allclose(x.std(axis=0), 1)
    assert np.allclose(y.mean(axis=0), 0, atol=1e-12) and np.allclose(y.std(axis=0), 1)
    assert np.array_equal(x, standardize(raw_x)) and np.array_equal(y, standardize(raw_y))
    # Standardizing is an affine map of each coordinate: the ranks are the raw draw's.
    assert np.array_equal(np.argsort(x, axis=0), np.argsort(raw_x, axis=0))


def test_other_datasets_return_the_raw_draw_unless_asked():
    independent = mibench.get_dataset("independent-uniform-2-2")
    x, _ = independent.sample(1000, seed=0)
    assert not independent.standardized and x.min() >= 0 and x.max() <= 1
    x_std, _ = independent.sample(1000, seed=0, standardize=True)
    assert np.allclose(x_std.std(axis=0), 1)
    assert not ground_truth.make_task("1v1-normal-0.75", standardized=False).standardized
