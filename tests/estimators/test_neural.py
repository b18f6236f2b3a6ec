"""The neural estimators: the bounds against numpy references, accuracy on a known MI,
InfoNCE's ceiling, reproducibility, divergence, and parameter validation."""

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

import mibench
from mibench.core.threads import THREADS_VARIABLE, torch_threads
from mibench.estimators import get_estimator_class
from mibench.estimators.neural import bounds, training
from mibench.estimators.neural.training import TrainingDivergedError, squash_tails

NEURAL = ("mine", "dv", "nwj", "infonce", "smile")
TRUTH_1V1 = 0.5 * math.log(1 / (1 - 0.75**2))  # 0.4133 nats

# Short runs for the tests that check mechanics rather than accuracy.
FAST = dict(hidden=(32,), embedding_dim=8, batch_size=64, steps=100, eval_every=25)


@pytest.fixture(scope="module")
def normal_1v1():
    dataset = mibench.get_dataset("1v1-normal-0.75")
    assert dataset.mutual_information == pytest.approx(TRUTH_1V1, abs=1e-12)
    return dataset.sample(5000, seed=0)


@pytest.fixture(scope="module")
def small_sample():
    return mibench.get_dataset("multinormal-dense-2-2-0.5").sample(1000, seed=1)


# --- the bounds, as pure functions, against numpy -------------------------------------------


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(7, 7)) * 2.0
    values[np.diag_indices(7)] += 3.0
    return values


def _off_diagonal(values):
    return values[~np.eye(values.shape[0], dtype=bool)]


def test_bounds_match_their_formulas(scores):
    k = scores.shape[0]
    joint = np.mean(np.diag(scores))
    off = _off_diagonal(scores)
    log_mean_exp = logsumexp(off) - math.log(off.size)
    expected = {
        "dv": joint - log_mean_exp,
        "nwj": joint - np.mean(np.exp(off - 1.0)),
        "infonce": np.mean(np.diag(scores) - logsumexp(scores, axis=1)) + math.log(k),
        "js": -np.mean(np.logaddexp(0, -np.diag(scores))) - np.mean(np.logaddexp(0, off)),
        "smile": joint - (logsumexp(np.clip(off, -1.5, 1.5)) - math.log(off.size)),
    }
    t = torch.as_tensor(scores)
    got = {
        "dv": bounds.dv_bound(t),
        "nwj": bounds.nwj_bound(t),
        "infonce": bounds.infonce_bound(t),
        "js": bounds.js_bound(t),
        "smile": bounds.smile_bound(t, 1.5),
    }
    for name, value in expected.items():
        assert float(got[name]) == pytest.approx(value, rel=1e-12, abs=1e-12), name
    assert float(bounds.smile_bound(t, math.inf)) == pytest.approx(expected["dv"], abs=1e-12)


def test_infonce_cannot_exceed_log_batch_size_whatever_the_scores():
    # A critic that scores every positive pair 1000 nats above every negative one.
    k = 16
    perfect = torch.full((k, k), -500.0, dtype=torch.float64)
    perfect.fill_diagonal_(500.0)
    assert float(bounds.infonce_bound(perfect)) == pytest.approx(math.log(k), abs=1e-12)
    assert float(bounds.dv_bound(perfect)) > 900  # DV and NWJ have no such ceiling


def test_mine_surrogate_has_the_moving_average_gradient(scores):
    t = torch.as_tensor(scores).requires_grad_(True)
    moving_average = 3.7
    bounds.mine_surrogate(t, torch.tensor(math.log(moving_average), dtype=t.dtype)).backward()
    k = scores.shape[0]
    # d/df_ij of E_p f - E_q[e^f] / ma: 1/k on the diagonal, -e^f_ij / (k (k - 1) ma) off it.
    expected = -np.exp(scores) / (k * (k - 1) * moving_average)
    expected[np.diag_indices(k)] = 1.0 / k
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-12)


# --- accuracy and the read-out --------------------------------------------------------------


@pytest.mark.parametrize("name", ["mine", "infonce"])
def test_estimate_on_the_bivariate_normal_is_within_0_1_nats(name, normal_1v1):
    x, y = normal_1v1
    result = mibench.get_estimator(name).estimate_with_extras(x, y)
    assert result.value == pytest.approx(TRUTH_1V1, abs=0.1)
    extras = result.extras
    assert extras["n_test"] == 1000 and extras["n_validation"] == 500 and extras["n_train"] == 3500
    curve = extras["curve"]
    assert len(curve["step"]) == len(curve["train"]) == len(curve["test"]) == len(
        curve["validation"]
    )
    # The weights kept are the first best on validation (test values play no part), and the
    # estimate is their held-out bound.
    kept = int(np.argmax(curve["validation"]))
    assert extras["best_step"] == curve["step"][kept]
    assert result.value == curve["test"][kept]
    json.dumps(extras)  # the extras must survive being saved with the records


# A value other than the default for every parameter, to check that each one is read back.
NON_DEFAULT = dict(
    critic="concat", hidden=[16, 8], embedding_dim=7, batch_size=33, steps=11,
    learning_rate=0.5, weight_decay=0.25, weight_averaging=0.5, test_fraction=0.3,
    eval_batch_size=17, eval_every=3, early_stopping=False, patience=9,
    validation_fraction=0.2, max_restarts=0, squash=False, standardize=False, seed=12, device="cpu",
    num_threads=None, ema_rate=0.5, tau=2.5, selection="test",
)  # fmt: skip


@pytest.mark.parametrize("name", NEURAL)
def test_every_parameter_is_set_read_back_and_listed(name):
    assert name in mibench.list_estimators()
    own = {"mine": {"ema_rate"}, "smile": {"tau"}}.get(name, set())
    defaults = get_estimator_class(name).default_params()
    shared = get_estimator_class("dv").default_params()
    # The shared parameters with the same defaults, plus the bound's own, nothing else.
    assert set(defaults) == set(shared) | own
    assert {key: defaults[key] for key in shared} == shared
    chosen = {key: NON_DEFAULT[key] for key in defaults}
    # (device has no other value on a machine without CUDA)
    assert all(chosen[key] != defaults[key] for key in defaults if key != "device")
    params = mibench.get_estimator(name, **chosen).get_params()
    assert params == {**chosen, "hidden": (16, 8)}
    assert mibench.get_estimator(name, **params).get_params() == params
    other = "ema_rate" if name != "mine" else "tau"
    with pytest.raises(ValueError, match=f"unknown parameter '{other}'.*Valid parameters: critic="):
        mibench.get_estimator(name, **{other: 0.5})


def test_infonce_saturates_at_log_of_the_evaluation_batch_size():
    # 10 nats, far above log 8 = 2.08. A linear separable critic, x^T A y, has the form of the
    # Gaussian log density ratio, so a short training reaches the ceiling.
    x, y = mibench.get_dataset("staircase-gaussian-20-10").sample(4000, seed=0)
    params = dict(
        hidden=(), embedding_dim=20, batch_size=8, steps=400, eval_every=25,
        learning_rate=1e-2, weight_decay=0.0,
    )  # fmt: skip
    result = mibench.get_estimator("infonce", **params).estimate_with_extras(x, y)
    assert result.extras["infonce_ceiling"] == pytest.approx(math.log(8))
    assert math.log(8) - 0.25 < result.value <= math.log(8) + 1e-6
    assert max(result.extras["curve"]["test"]) <= math.log(8) + 1e-6
    # The same training batch size, read off held-out batches of 128: a higher ceiling.
    wider = mibench.get_estimator("infonce", **params, eval_batch_size=128)
    assert math.log(8) + 1.0 < wider.estimate(x, y) <= math.log(128) + 1e-6


# Slow: training to accuracy; tests/estimators/test_neural_protocol.py checks the concatenated
# critic's scores against the network on concatenated pairs fast.
@pytest.mark.slow
def test_the_concatenated_critic_estimates_too(normal_1v1):
    x, y = normal_1v1
    params = dict(critic="concat", hidden=(32, 32), batch_size=64, steps=600, eval_every=50)
    assert mibench.estimate(x, y, "infonce", **params) == pytest.approx(TRUTH_1V1, abs=0.1)


@pytest.mark.parametrize("squash", [True, False])
def test_inputs_are_standardized(small_sample, squash):
    x, y = small_sample
    estimator = mibench.get_estimator("nwj", **FAST, squash=squash)
    # Affine rescaling of each column is undone by the squashing and standardization, up to
    # rounding.
    rescaled = estimator.estimate(1000.0 * x - 5.0, 0.001 * y + 3.0)
    assert rescaled == pytest.approx(estimator.estimate(x, y), abs=1e-4)


def test_squashing_is_increasing_and_pulls_heavy_tails_in():
    rng = np.random.default_rng(0)
    cauchy = rng.standard_cauchy(size=(4000, 2))
    normal = 5.0 + 2.0 * rng.normal(size=(4000, 1))
    mostly_zero = np.r_[np.zeros(3000), rng.normal(size=1000)][rng.permutation(4000)][:, None]
    values = np.hstack([cauchy, normal, mostly_zero])
    reference = values[:3000]
    squashed = squash_tails(values, reference)
    # Against numpy's percentiles: asinh((v - median) / (IQR / 1.349)), and for the column
    # whose quartiles coincide, its standard deviation as the scale.
    upper, lower = np.percentile(reference, [75, 25], axis=0)
    scale = (upper - lower) / (2 * stats.norm.ppf(0.75))  # 1.349: the IQR of N(0, 1)
    scale[3] = reference[:, 3].std()
    expected = np.arcsinh((values - np.median(reference, axis=0)) / scale)
    np.testing.assert_allclose(squashed, expected, rtol=1e-12, atol=1e-12)
    # Strictly increasing in each column: a bijection, so the MI is unchanged.
    for column in range(values.shape[1]):
        order = np.argsort(values[:, column])
        steps = np.diff(squashed[order, column])
        assert np.all(steps[np.diff(values[order, column]) > 0] > 0)
    # Cauchy samples thousands of scales out end up within a few units of the bulk.
    assert np.abs(cauchy).max() > 1e3 and np.abs(squashed[:, :2]).max() < 12


@pytest.mark.slow
def test_every_bound_is_sane_on_a_heavy_tailed_task():
    """Student-t with one degree of freedom. Before inputs were squashed, MINE and NWJ
    diverged on this very sample, and at n = 5000 with the defaults SMILE read up to 180 nats
    off extreme held-out pairs. (Slow: every bound trained end to end; the squashing it relies
    on is checked fast by test_squashing_is_increasing_and_pulls_heavy_tails_in.)"""
    dataset = mibench.get_dataset("student-identity-2-2-1")
    truth = dataset.mutual_information
    assert truth == pytest.approx(0.4319, abs=1e-4)
    x, y = dataset.sample(2000, seed=0)
    params = dict(batch_size=128, steps=600)
    for name in NEURAL:
        value = mibench.estimate(x, y, name, **params)
        assert value <= truth + 1.0, name
        assert value == pytest.approx(truth, abs=0.25), name


# --- reproducibility, global state ----------------------------------------------------------


def test_same_seed_same_estimate_and_no_global_state_touched(small_sample):
    x, y = small_sample
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002  the legacy global state
    threads = torch.get_num_threads()
    first = mibench.estimate(x, y, "smile", **FAST, seed=3)
    assert mibench.estimate(x, y, "smile", **FAST, seed=3) == first
    assert mibench.estimate(x, y, "smile", **FAST, seed=4) != first
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize(("num_threads", "variable", "expected"), [(None, "1", 1), (1, "2", 1)])
def test_the_thread_count_is_the_parameter_or_else_the_environment(
    small_sample, monkeypatch, torch_threads_seen, num_threads, variable, expected
):
    x, y = small_sample
    seen = torch_threads_seen(training, "_train_and_estimate")
    monkeypatch.setenv(THREADS_VARIABLE, variable)
    with torch_threads(3):
        mibench.estimate(x, y, "infonce", **dict(FAST, steps=25), num_threads=num_threads)
        assert seen == [expected] and torch.get_num_threads() == 3


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "learning_rate", "reason"),
    [
        # e^f overflows at once: the objective is no longer a number.
        ("nwj", 1e6, r"diverged at step 2 of 300: the nwj objective became NaN or inf"),
        # Finite but running away: the training bound plunges far below zero.
        ("dv", 1.0, r"diverged by step 25: the training dv bound fell to -\d"),
    ],
)
def test_a_diverging_run_raises_with_the_reason(small_sample, name, learning_rate, reason):
    x, y = small_sample
    estimator = mibench.get_estimator(
        name,
        **dict(FAST, steps=300, learning_rate=learning_rate, weight_decay=0.0, max_restarts=0),
    )
    with pytest.raises(TrainingDivergedError, match=reason):
        estimator.estimate(x, y)


def test_a_divergence_restarts_with_a_smaller_step(small_sample):
    x, y = small_sample
    params = dict(FAST, steps=300, learning_rate=1.0, weight_decay=0.0)
    # The run that diverges with max_restarts=0 above finishes after a restart, at a ten
    # times smaller step, with the same estimate as a run started at that step.
    result = mibench.get_estimator("dv", **params).estimate_with_extras(x, y)
    restarts = result.extras["restarts"]
    assert restarts >= 1 and result.extras["learning_rate"] == pytest.approx(10.0**-restarts)
    direct = mibench.get_estimator("dv", **dict(params, learning_rate=10.0**-restarts))
    assert result.value == direct.estimate(x, y)
    # When no step helps, the error says how many restarts were tried.
    hopeless = mibench.get_estimator("nwj", **dict(params, learning_rate=1e12, max_restarts=1))
    with pytest.raises(TrainingDivergedError, match=r"after 1 restart\(s\)"):
        hopeless.estimate(x, y)


def test_a_diverging_run_becomes_a_failed_record():
    (record,) = mibench.run(
        "infonce", "1v1-normal-0.75", n=1000, params=dict(FAST, learning_rate=1e6)
    )
    assert record.status == "failed" and record.estimate is None
    assert "TrainingDivergedError" in record.error and "learning_rate" in record.error


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"critic": "bilinear"}, "critic must be one of 'separable', 'concat'"),
        ({"hidden": 64}, "hidden must be a sequence"),
        ({"hidden": (64, 0)}, "each width in hidden must be at least 1"),
        ({"batch_size": 1}, "batch_size must be at least 2"),
        ({"steps": 0}, "steps must be at least 1"),
        ({"learning_rate": -1e-3}, "learning_rate must be a finite number > 0"),
        ({"test_fraction": 1.0}, "test_fraction must be a fraction"),
        ({"weight_averaging": 1.0}, r"weight_averaging must be in \[0, 1\)"),
        ({"test_fraction": 0.6, "validation_fraction": 0.5}, "must leave samples to train on"),
        ({"device": "tpu"}, r"device must be 'cpu', 'cuda' or 'cuda:N'"),
        ({"seed": -1}, "seed must be at least 0"),
        ({"max_restarts": -1}, "max_restarts must be at least 0"),
        ({"squash": "yes"}, "squash must be one of True, False"),
    ],
)
def test_bad_parameters_fail_early_with_a_message(params, message):
    with pytest.raises(ValueError, match=message):
        mibench.get_estimator("infonce", **params)


def test_bound_specific_parameters_are_validated():
    with pytest.raises(ValueError, match="tau must be a finite number > 0"):
        mibench.get_estimator("smile", tau=0)
    assert mibench.get_estimator("smile", tau=math.inf).tau == math.inf
    with pytest.raises(ValueError, match=r"ema_rate must be in \(0, 1\]"):
        mibench.get_estimator("mine", ema_rate=1.5)
    with pytest.raises(ValueError, match="unknown parameter 'tau' for estimator 'dv'"):
        mibench.get_estimator("dv", tau=1.0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_cuda_device_is_a_value_error_when_the_estimator_runs():
    estimator = mibench.get_estimator("mine", device="cuda")  # builds: a grid may name it
    x = np.random.default_rng(0).normal(size=(500, 1))
    with pytest.raises(ValueError, match="device='cuda'.*finds no CUDA device"):
        estimator.estimate(x, x)


def test_too_few_samples_names_the_reason():
    x = np.random.default_rng(0).normal(size=(300, 1))
    with pytest.raises(ValueError, match=r"needs at least 367 \(batch_size=256 training samples"):
        mibench.estimate(x, x, "infonce")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_cuda_agrees_with_cpu(normal_1v1):
    x, y = normal_1v1
    on_gpu = mibench.estimate(x, y, "infonce", device="cuda")
    assert on_gpu == pytest.approx(TRUTH_1V1, abs=0.1)
    assert on_gpu == pytest.approx(mibench.estimate(x, y, "infonce"), abs=0.05)
