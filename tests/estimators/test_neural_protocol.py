"""What the neural estimators add for the Beyond-Normal reference's protocol (issue 21):
selection on the test part, the convergence diagnostics of bmi, the standard error of the
held-out average, and the split-first-layer scores of the concatenated critic."""

import json
import math

import numpy as np
import pytest
import torch

import mibench
from mibench.estimators.neural import critics, training
from mibench.estimators.neural.training import convergence_diagnostics

# Short runs: these tests check mechanics, not accuracy.
FAST = dict(hidden=(16,), embedding_dim=8, batch_size=32, eval_every=10, seed=3)


@pytest.fixture(scope="module")
def independent():
    """X and Y independent (MI 0): the validation bound cannot keep improving."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(600, 1)), rng.normal(size=(600, 1))


@pytest.fixture(scope="module")
def dependent():
    return mibench.get_dataset("1v1-normal-0.75").sample(600, seed=2)


def test_a_run_made_to_stop_early_says_so(independent):
    estimator = mibench.get_estimator("dv", **FAST, steps=3000, patience=1)
    result = estimator.estimate_with_extras(*independent)
    diagnostics = result.extras["diagnostics"]
    assert diagnostics["early_stopping"] and diagnostics["stopped_early"]
    assert diagnostics["steps_run"] == result.extras["steps_run"] < diagnostics["max_steps"] == 3000
    assert diagnostics["restarts"] == 0
    json.dumps(result.extras)  # saved with the records


def test_a_run_made_to_run_out_of_steps_is_not_converged(dependent):
    # Negative control of the one above: patience beyond the run, so early stopping never
    # triggers, which bmi counts as not converged.
    estimator = mibench.get_estimator("dv", **FAST, steps=60, patience=50)
    diagnostics = estimator.estimate_with_extras(*dependent).extras["diagnostics"]
    assert diagnostics["steps_run"] == diagnostics["max_steps"] == 60
    assert diagnostics["early_stopping"] and not diagnostics["stopped_early"]
    assert not diagnostics["converged"]


def test_without_early_stopping_running_out_of_steps_is_expected(dependent):
    estimator = mibench.get_estimator("nwj", **FAST, steps=40, early_stopping=False)
    diagnostics = estimator.estimate_with_extras(*dependent).extras["diagnostics"]
    assert diagnostics["steps_run"] == 40 and not diagnostics["stopped_early"]
    assert not diagnostics["early_stopping"]


def test_smoothed_training_checks_are_bmis():
    steps = np.arange(1, 1001, dtype=float)
    plateau = 1.0 - np.exp(-steps / 50)  # rose early, flat for the last 800 steps
    rising = steps / 1000  # still climbing at the end
    fallen = np.where(steps < 500, steps / 500, 1.0 - (steps - 500) / 600)  # peak at 1, ends at 1/6

    def check(curve, **kwargs):
        return convergence_diagnostics(curve, max_steps=1000, early_stopping=True,
                                       stopped_early=True, held_out=[0.1, 0.2], **kwargs)

    flat = check(plateau)
    assert flat["converged"] and not flat["training_still_rising"] and not flat["training_dropped"]
    # w = 100 steps: the smoothed end (0.95) is 1.11 times its value 100 steps before (0.85).
    assert check(rising)["training_still_rising"] and not check(rising)["converged"]
    assert check(fallen)["training_dropped"] and not check(fallen)["converged"]
    # Under ten steps the window is empty: bmi reports "too short" and checks nothing.
    short = check(plateau[:9])
    assert short["too_short"] and short["training_still_rising"] is None and not short["converged"]


def test_held_out_drop_is_measured_against_the_best_check():
    def dropped(held_out):
        return convergence_diagnostics(np.ones(100), max_steps=100, early_stopping=False,
                                       stopped_early=False, held_out=held_out)["held_out_dropped"]

    assert dropped([0.2, 1.0, 0.9])  # 10 % below the best
    assert not dropped([0.2, 1.0, 0.97])  # within bmi's 5 %
    assert not dropped([0.2, 0.5, 1.0])


def test_test_selection_keeps_the_best_test_bound_and_needs_no_validation_part(dependent):
    estimator = mibench.get_estimator("infonce", **FAST, steps=200, selection="test",
                                      test_fraction=0.5, patience=2)
    result = estimator.estimate_with_extras(*dependent)
    extras = result.extras
    assert extras["n_validation"] == 0 and extras["n_test"] == 300
    assert "validation" not in extras["curve"]
    assert result.value == max(extras["curve"]["test"])
    assert extras["best_step"] == extras["curve"]["step"][int(np.argmax(extras["curve"]["test"]))]
    if extras["stopped_early"]:  # two checks without a better test bound end training
        tail = extras["curve"]["test"][-2:]
        assert max(tail) <= result.value


def test_validation_selection_reads_the_estimate_off_the_test_part(dependent):
    # The default: the estimate is the test bound at the best validation check, which need
    # not be the best test bound (the control for the test above).
    result = mibench.get_estimator("infonce", **FAST, steps=200).estimate_with_extras(*dependent)
    curve = result.extras["curve"]
    assert result.value == curve["test"][int(np.argmax(curve["validation"]))]
    assert result.extras["n_validation"] > 0


def test_batch_mean_stderr_matches_a_known_spread():
    rng = np.random.default_rng(4)
    # 3 partitions of 50 batches with bound values of standard deviation 0.2.
    values = rng.normal(1.0, 0.2, size=150)
    stderr = training._batch_mean_stderr(values, partitions=3)
    assert stderr == pytest.approx(0.2 / math.sqrt(50), rel=0.15)
    assert training._batch_mean_stderr(rng.normal(size=3), partitions=3) is None


def test_the_neural_estimate_carries_its_stderr(dependent):
    # 300 test samples in batches of 32: 9 batches per partition.
    estimator = mibench.get_estimator("dv", **FAST, steps=60, test_fraction=0.5)
    extras = estimator.estimate_with_extras(*dependent).extras
    assert extras["eval_batches"] >= 9 and 0 < extras["stderr"] < 0.5
    # One batch holding the whole test part (bmi's read-out): no spread, no stderr.
    whole = mibench.get_estimator("dv", **FAST, steps=60, test_fraction=0.5, eval_batch_size=10**6)
    extras = whole.estimate_with_extras(*dependent).extras
    assert extras["eval_batches"] == 1 and "stderr" not in extras


def test_concat_scores_equal_the_network_on_concatenated_pairs():
    torch.manual_seed(0)
    network = critics.mlp(5, (16, 8), 1).double()
    x, y = torch.randn(7, 2, dtype=torch.float64), torch.randn(7, 3, dtype=torch.float64)
    pairs = torch.cat([x[:, None, :].expand(7, 7, 2), y[None, :, :].expand(7, 7, 3)], dim=2)
    reference = network(pairs).squeeze(-1)
    scores = critics.pairwise_concat_scores(network, x, y)
    assert torch.allclose(scores, reference, atol=1e-12)
    # Pair (i, j) is scored on [x_i, y_j], not [x_j, y_i] (the transpose would fail).
    assert not torch.allclose(scores.T, reference, atol=1e-3)


@pytest.mark.parametrize("block_rows", [1, 2, 3, 7])
def test_concat_scores_in_row_blocks_equal_the_whole_matrix(monkeypatch, block_rows):
    # Blocks of 1, 2 or 3 rows of the 7 x 7 matrix (the last block short) and one block of all 7:
    # the same scores and the same gradients as the network on the concatenated pairs.
    torch.manual_seed(0)
    network = critics.mlp(5, (16, 8), 1).double()
    x = torch.randn(7, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(7, 3, dtype=torch.float64)
    pairs = torch.cat([x[:, None, :].expand(7, 7, 2), y[None, :, :].expand(7, 7, 3)], dim=2)
    weights = torch.randn(7, 7, dtype=torch.float64)
    reference = network(pairs).squeeze(-1)
    reference_grads = torch.autograd.grad((weights * reference).sum(), [x, *network.parameters()])
    monkeypatch.setattr(critics, "_PAIR_BLOCK_VALUES", block_rows * 7 * 16)
    block_shapes = []
    hook = network[1].register_forward_hook(lambda module, args, out: block_shapes.append(out.shape))
    scores = critics.pairwise_concat_scores(network, x, y)
    hook.remove()
    grads = torch.autograd.grad((weights * scores).sum(), [x, *network.parameters()])
    # The MLP ran on ceil(7 / block_rows) blocks of block_rows rows (the last one shorter),
    # never on the whole matrix unless one block holds it.
    expected_rows = [min(block_rows, 7 - start) for start in range(0, 7, block_rows)]
    assert [shape[0] for shape in block_shapes] == expected_rows
    assert torch.allclose(scores, reference, atol=1e-12)
    assert all(torch.allclose(g, r, atol=1e-12) for g, r in zip(grads, reference_grads))
    # Control: the blocks put together in the wrong order would not be the matrix.
    assert not torch.allclose(scores.flip(0), reference, atol=1e-3)
    # No pairs: an empty matrix, not a division by zero.
    assert critics.pairwise_concat_scores(network, x[:0], y[:0]).shape == (0, 0)


@pytest.mark.parametrize("bad", ["best", "", None])
def test_bad_selection_is_named(bad):
    with pytest.raises(ValueError, match="selection must be one of 'validation', 'test'"):
        mibench.get_estimator("dv", selection=bad)


def test_the_bmi_protocol_grid_sets_bmis_training(dependent):
    # The settings of grids/bmi-protocol.toml, cut to a few steps: half held out, the whole
    # test half scored as one batch (InfoNCE's ceiling log 300), no validation part, the best
    # test bound kept.
    from pathlib import Path

    from mibench.grid.files import load_grid

    grid = load_grid(Path(__file__).resolve().parents[2] / "grids" / "bmi-protocol.toml")
    infonce = next(e for e in grid.estimators if e.name == "infonce").build()
    params = infonce.get_params()
    assert (params["critic"], params["hidden"], params["learning_rate"], params["steps"]) == (
        "concat", (16, 8), 0.1, 10000)
    short = infonce.with_params(steps=20, eval_every=10, batch_size=64)
    result = short.estimate_with_extras(*dependent)
    extras = result.extras
    assert (extras["n_train"], extras["n_validation"], extras["n_test"]) == (300, 0, 300)
    assert extras["eval_batches"] == 1 and extras["eval_batch_size"] == 300
    assert extras["infonce_ceiling"] == pytest.approx(math.log(300))
    assert result.value == max(extras["curve"]["test"])
    mine = next(e for e in grid.estimators if e.name == "mine").build()
    assert mine.get_params()["ema_rate"] == 0.1  # bmi's smoothing_alpha = 0.9 keeps 0.9 of the old
