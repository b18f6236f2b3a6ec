"""Every verdict of every experiment has a control, and the controls fail where they must.

Each experiment runs once at ``size="tiny"`` (fast suite): every verdict must carry a
:class:`Control`, and the controls decided at that size must fail. At the quick size (slow
suite) every verdict must hold and every control fail. And the checks can fail: feeding the
noisy layer to the divergence verdict, or the finite-MI input to the exact sigma sweep, makes
the verdict fail.
"""

import math

import pytest

from mibench.experiments import Control
from mibench.experiments.divergence import divergence_verdicts

#: The experiments of this module's owner (others register theirs; the contract is the same).
EXPERIMENTS = ("divergence", "piecewise-constant", "bijection", "information-plane",
               "clustering", "staircase")
#: Controls that hold at the tiny size because it is too small to decide them (documented in
#: the experiment's module): 256 inputs are separated by almost any layer, noisy or ReLU.
UNDECIDED_AT_TINY = {
    "information-plane": ("relu deterministic", "binning 30 bins"),
    # 40 steps of training: no bound gets anywhere near its ceiling or the truth.
    "staircase": ("uncapped", "below log"),
}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_verdict_has_a_control_that_fails(tiny_run, name):
    _, result = tiny_run(name)
    assert result.verdicts
    assert result.settings["size"] == "tiny"
    for verdict in result.verdicts:
        assert isinstance(verdict.control, Control), verdict.name
        assert verdict.control.name and verdict.control.name != verdict.name
        if verdict.control.holds:
            assert any(part in verdict.control.name for part in UNDECIDED_AT_TINY.get(name, ())), (
                f"{name}: the control of {verdict.name!r} holds ({verdict.control})")
        # a control that holds is never a pass
        assert verdict.passes == (verdict.holds and not verdict.control.holds)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_quick_run_every_verdict_holds_and_every_control_fails(quick_run_of, name):
    _, result = quick_run_of(name)
    failing = [(v.name, v.value, v.control) for v in result.verdicts if not v.passes]
    assert not failing, failing
    assert result.holds


def test_the_noisy_layer_fed_to_the_divergence_verdict_fails(tiny_run):
    _, result = tiny_run("divergence")
    truths = {"tanh-1d-noisy": next(r["truth_nats"] for r in result.rows
                                    if r["layer"] == "tanh-1d-noisy" and r.get("sweep") == "n")}
    honest = divergence_verdicts(result.rows, truths, result.settings["resolution_n"])
    broken = divergence_verdicts(result.rows, truths, result.settings["resolution_n"],
                                 layers={"deterministic": "tanh-1d-noisy",
                                         "exact": "tanh-8pt-noisy"})
    by_name = {v.name: v for v in honest}
    for verdict in broken:
        if verdict.name.startswith(("exact I(X; tanh", "ksg k=3: rise per decade of n, det")):
            # the claim broken on purpose: a finite MI where an infinite one is claimed
            assert by_name[verdict.name].holds and not verdict.holds, verdict
            assert not verdict.passes


def test_exact_sigma_slope_approaches_one_and_its_control_zero(tiny_run):
    _, result = tiny_run("divergence")
    (exact,) = [v for v in result.verdicts if v.name.startswith("exact I(X; tanh")]
    # I = h(tanh(2X)) - h(sigma Z) + o(1) as sigma -> 0: slope 1 in ln(1/sigma); the 8-point
    # input saturates at log 8: slope 0.
    assert exact.value == pytest.approx(1.0, abs=0.05)
    assert abs(exact.control.value) < 1e-3
    assert exact.passes


def test_a_nan_never_holds():
    from mibench.experiments._common import checked_verdict

    verdict = checked_verdict("x", math.nan, "<= 1", lambda v: v <= 1, "c", math.nan)
    assert not verdict.holds and not verdict.control.holds and not verdict.passes
