"""ksg-lnc: KSG with the local non-uniformity correction (Gao, Ver Steeg & Galstyan 2015).

The truth of the strongly dependent task is exact: X ~ U[0, 1]^d, Y = X + a U[0, 1]^d per
coordinate has I = d (a/2 - log a) (h(X + aU) = a/2 for a <= 1, h(aU) = log a), and I is
unchanged by the increasing maps sin(1.5 x) and exp(3 y), which curve the relation.
"""

import math

import numpy as np
import pytest

import mibench
from mibench.estimators.ksg_lnc import lnc_alpha, log_volume_ratios

# The stated margin: on 3 + 3 dimensions with I = 5 nats at n = 5,000, LNC's error is smaller
# than KSG's (k = 3, the default) by at least this many nats (measured: 0.36 to 0.40).
MARGIN = 0.25


def strongly_dependent(d: int, mi: float, n: int, seed: int):
    """The curved uniform-noise task with I(X; Y) = ``mi`` nats in d + d dimensions."""
    per_coordinate = mi / d
    a = math.exp(-per_coordinate)
    for _ in range(60):  # a / 2 - log a = per_coordinate, by fixed-point iteration
        a = math.exp(a / 2 - per_coordinate)
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = x + a * rng.random((n, d))
    return np.sin(1.5 * x), np.exp(3 * y), d * (a / 2 - math.log(a))


def gain_over_ksg(x, y, truth, seed=0):
    """|KSG error| - |LNC error|, nats: how much closer to the truth LNC is."""
    lnc = mibench.get_estimator("ksg-lnc", seed=seed).estimate(x, y)
    ksg = mibench.get_estimator("ksg", seed=seed).estimate(x, y)
    return abs(ksg - truth) - abs(lnc - truth)


def test_registered_with_validated_parameters():
    estimator = mibench.get_estimator("ksg-lnc", k=8, alpha=0.2, seed=3)
    assert estimator.get_params() == {
        "k": 8, "variant": 2, "alpha": 0.2, "standardize": True, "noise": 1e-10, "seed": 3,
        "workers": None,
    }  # fmt: skip
    for bad, message in [({"k": 0}, "k must be at least 1"), ({"alpha": 1.5}, "alpha must be"),
                         ({"variant": 3}, "variant")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            mibench.get_estimator("ksg-lnc", **bad)
    x = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ValueError, match="k >= dim_x \\+ dim_y = 4"):
        mibench.get_estimator("ksg-lnc", k=3).estimate(x[:, :2], x[:, 2:])


def test_volume_ratio_is_small_on_a_line_and_near_one_on_a_uniform_square():
    rng = np.random.default_rng(1)
    t = rng.random(400)
    line = np.column_stack([t, t + 1e-4 * rng.random(400)])
    square = rng.random((400, 2))
    on_line = np.exp(np.median(log_volume_ratios(line, 5)))
    uniform = np.exp(np.median(log_volume_ratios(square, 5)))
    # Neighbours on a diagonal band of width 1e-4 fill a sliver of their axis-aligned box.
    assert on_line < 0.05
    # Control: uniform neighbours fill a good part of it.
    assert uniform > 0.4


def test_alpha_is_a_low_quantile_of_the_uniform_ratio_and_reproducible():
    alpha = lnc_alpha(5, 2)
    assert 0 < alpha < 1 and lnc_alpha(5, 2) == alpha
    # About 5% of uniformly scattered samples fall below it (a fresh draw, not the torus).
    ratios = np.exp(log_volume_ratios(np.random.default_rng(7).random((3000, 2)), 5))
    assert 0.02 < np.mean(ratios < alpha) < 0.12


def test_correction_is_never_negative_and_the_estimate_is_seeded():
    x, y, truth = strongly_dependent(1, 5.0, 1000, seed=0)
    result = mibench.get_estimator("ksg-lnc", seed=2).estimate_with_extras(x, y)
    extras = result.extras
    assert extras["correction"] >= 0 and result.value == pytest.approx(
        extras["ksg"] + extras["correction"]
    )
    # The strongly dependent sample gets a real correction, towards the truth.
    assert extras["correction"] > 0.05 and extras["ksg"] < result.value < truth + 0.1
    assert mibench.get_estimator("ksg-lnc", seed=2).estimate(x, y) == result.value
    # The KSG part is ksg's own estimate with the same k and variant.
    assert extras["ksg"] == pytest.approx(
        mibench.get_estimator("ksg", k=extras["k"], variant=2, seed=2).estimate(x, y), abs=1e-12
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_lnc_beats_ksg_on_a_strongly_dependent_task_by_the_margin(seed):
    x, y, truth = strongly_dependent(3, 5.0, 5000, seed)
    assert truth == pytest.approx(5.0)
    assert gain_over_ksg(x, y, truth, seed) > MARGIN


@pytest.mark.slow
def test_the_margin_check_fails_where_there_is_nothing_to_correct():
    # Negative control: on a 0.5-nat Gaussian pair, KSG is already accurate; LNC cannot gain.
    rng = np.random.default_rng(0)
    rho = math.sqrt(1 - math.exp(-1.0))
    x = rng.standard_normal((5000, 1))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((5000, 1))
    assert not gain_over_ksg(x, y, 0.5) > MARGIN
