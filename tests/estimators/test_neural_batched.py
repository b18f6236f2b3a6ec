"""Seeds of a neural estimator trained together (mibench.estimators.neural.batched).

The reference is always the unbatched trainer (``train_and_estimate``, the estimators'
``estimate_with_extras``), run seed by seed: batched training must give each seed what it
would get alone. Fast tests check that on short runs, seed by seed, to float32 rounding; the
slow test compares the means over 10 seeds of full runs on tasks with known MI.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mibench
from mibench.core.validation import InputError
from mibench.estimators.neural.batched import train_and_estimate_seeds
from mibench.estimators.neural.training import (
    TrainingConfig,
    TrainingDivergedError,
    adamw_kernel,
    train_and_estimate,
)

NEURAL = ("mine", "dv", "nwj", "infonce", "smile")
# Short runs: patience 1 makes the seeds stop early at different steps, so seeds leave the
# batch while the others go on.
TINY = dict(
    hidden=(16,), embedding_dim=8, batch_size=32, steps=60, eval_every=5, patience=1,
    learning_rate=1e-2,
)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_sample():
    return mibench.get_dataset("multinormal-dense-2-2-0.5").sample(400, seed=3)


def _alone(x, y, config, seed):
    return train_and_estimate(x, y, dataclasses.replace(config, seed=seed))


ON_CUDA = pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
])  # fmt: skip


@pytest.mark.parametrize("device", ["cpu", ON_CUDA])
@pytest.mark.parametrize(
    "bound",
    # MINE (a per-seed moving average) and InfoNCE stay fast; the others behave alike.
    ["mine", "infonce", *(pytest.param(b, marks=pytest.mark.slow) for b in ("dv", "nwj", "smile"))],
)
def test_each_seed_gets_what_it_would_get_alone(tiny_sample, bound, device):
    x, y = tiny_sample
    config = TrainingConfig(bound=bound, device=device, **TINY)
    seeds = [0, 1, 2]
    batched = train_and_estimate_seeds([(x, y)] * 3, config, seeds)
    alone = [_alone(x, y, config, seed) for seed in seeds]
    for (value, extras), (alone_value, alone_extras) in zip(batched, alone):
        assert math.isfinite(value) and extras["batched"] and extras["seeds_in_batch"] == 3
        # Same split, initial weights, batches, evaluation partitions and stopping step: only
        # float32 rounding of batched against single matrix products differs (about 1e-4
        # nats after 60 steps at this learning rate).
        assert value == pytest.approx(alone_value, abs=1e-3)
        for key in ("steps_run", "best_step", "stopped_early", "n_train", "n_test"):
            assert extras[key] == alone_extras[key], key
        assert extras["curve"]["step"] == alone_extras["curve"]["step"]
        np.testing.assert_allclose(
            extras["curve"]["validation"], alone_extras["curve"]["validation"], atol=1e-3
        )
        # The convergence checks and the held-out standard error a report reads (issue 21),
        # from this seed's own training values: the same verdicts, the same error to rounding.
        assert extras["diagnostics"] == alone_extras["diagnostics"]
        assert extras["stderr"] == pytest.approx(alone_extras["stderr"], rel=1e-2, abs=1e-4)
    # Negative control: the comparison can fail; paired with another seed's run alone, the
    # estimates do not all agree.
    shifted = zip(batched, alone[1:] + alone[:1])
    assert any(abs(value - other) > 1e-3 for (value, _), (other, _) in shifted)
    # The seeds really stopped at different steps, so seeds left the batch mid-training.
    assert len({extras["steps_run"] for _, extras in batched}) > 1


def test_a_seed_alone_and_a_batch_update_with_the_same_adamw_kernel(tiny_sample, monkeypatch):
    # torch's CPU AdamW by default loops over small kernels per weight tensor, which cost a
    # lone seed's step about a fifth of its time; both paths ask for the same fused (or
    # foreach) kernel, so a lone seed updates as a seed of a batch does.
    x, y = tiny_sample
    requested = []

    class RecordingAdamW(torch.optim.AdamW):
        def __init__(self, params, **options):
            requested.append(options)
            super().__init__(params, **options)

    monkeypatch.setattr(torch.optim, "AdamW", RecordingAdamW)
    config = TrainingConfig(bound="infonce", **{**TINY, "steps": 5})
    _alone(x, y, config, 0)
    train_and_estimate_seeds([(x, y)] * 2, config, [0, 1])
    assert len(requested) == 2
    # The lone path of before (torch's default: lr and weight_decay only) fails this.
    kernel = adamw_kernel("cpu")
    assert kernel in ({"fused": True}, {"foreach": True})
    assert all({key: options.get(key) for key in kernel} == kernel for options in requested)


def test_concat_critics_train_through_vmap_and_get_what_they_would_get_alone(tiny_sample):
    # The separable critic runs as grouped layers; any other critic through vmap: the
    # concatenated critic checks that fallback against the unbatched trainer.
    x, y = tiny_sample
    config = TrainingConfig(bound="infonce", critic="concat", **TINY)
    batched = train_and_estimate_seeds([(x, y)] * 2, config, [0, 1])
    for seed, (value, extras) in zip([0, 1], batched):
        alone_value, alone_extras = _alone(x, y, config, seed)
        assert extras["batched"] and value == pytest.approx(alone_value, abs=1e-3)
        assert extras["curve"]["step"] == alone_extras["curve"]["step"]
    assert batched[0][0] != batched[1][0]  # control: the seeds differ


def test_grouped_layers_score_as_each_seeds_own_critic():
    # The grouped form of the separable critic (baddbmm/bmm on stacked weights) against each
    # seed's torch module run on its own batch: scores, and the gradients of the weights.
    from torch.func import stack_module_state

    from mibench.estimators.neural.batched import _GroupedSeparable
    from mibench.estimators.neural.critics import make_critic

    torch.manual_seed(0)
    critics = [make_critic("separable", 3, 2, (8, 8), 4) for _ in range(3)]
    x, y = torch.randn(3, 16, 3), torch.randn(3, 16, 2)
    grouped = _GroupedSeparable.of(critics[0])
    weights, _ = stack_module_state(critics)
    with torch.no_grad():
        scores = grouped.scores(weights, x, y)
        expected = torch.stack([critic(x[i], y[i]) for i, critic in enumerate(critics)])
        torch.testing.assert_close(scores, expected, rtol=1e-5, atol=1e-5)
        # Control: the same comparison fails when the seeds' weights are swapped.
        swapped = {name: value[[1, 0, 2]] for name, value in weights.items()}
        assert not torch.allclose(grouped.scores(swapped, x, y)[:2], expected[:2], atol=1e-3)
    # The written-out backward: each seed's weights get the gradient its own module gets.
    weights = {name: value.detach().clone().requires_grad_(True) for name, value in weights.items()}
    probe = torch.randn(3, 16, 16)  # a loss that weighs every score differently
    (grouped.scores(weights, x, y) * probe).sum().backward()
    for i, critic in enumerate(critics):
        (critic(x[i], y[i]) * probe[i]).sum().backward()
        for name, parameter in critic.named_parameters():
            torch.testing.assert_close(weights[name].grad[i], parameter.grad, rtol=1e-4, atol=1e-5)
    # Control: the gradient of another seed's module differs.
    name = "encode_x.0.weight"
    assert not torch.allclose(weights[name].grad[0], critics[1].encode_x[0].weight.grad, atol=1e-3)
    # Only the plain separable critic is grouped; others keep vmap.
    assert _GroupedSeparable.of(make_critic("concat", 3, 2, (8,), 4)) is None


def test_a_seed_does_not_depend_on_its_batch_mates_and_repeats_exactly(tiny_sample):
    x, y = tiny_sample
    config = TrainingConfig(bound="infonce", **TINY)
    first = train_and_estimate_seeds([(x, y)] * 3, config, [4, 5, 6])
    again = train_and_estimate_seeds([(x, y)] * 3, config, [4, 5, 6])
    other_mates = train_and_estimate_seeds([(x, y)] * 2, config, [9, 5])
    assert [value for value, _ in first] == [value for value, _ in again]
    # Bit for bit: every kernel works seed by seed, whoever else is in the batch.
    assert other_mates[1][0] == first[1][0]
    assert other_mates[1][1]["curve"] == first[1][1]["curve"]
    # Negative control: different seeds do give different numbers.
    assert len({value for value, _ in first}) == 3


def test_samples_of_different_shapes_train_in_separate_batches(tiny_sample):
    x, y = tiny_sample
    config = TrainingConfig(bound="nwj", **TINY)
    smaller = (x[:300], y[:300])
    results = train_and_estimate_seeds([(x, y), smaller, (x, y)], config, [0, 1, 2])
    assert [extras["seeds_in_batch"] for _, extras in results] == [2, 1, 2]
    assert results[1][1]["n_train"] + results[1][1]["n_test"] < 300
    alone_value, _ = _alone(*smaller, config, seed=1)
    assert results[1][0] == pytest.approx(alone_value, abs=1e-4)


def test_one_estimator_seed_on_the_samples_of_several_grid_seeds():
    # The runner's case: the grid seed draws the sample, the estimator keeps its own seed.
    dataset = mibench.get_dataset("1v1-normal-0.75")
    samples = [dataset.sample(300, seed=grid_seed) for grid_seed in (0, 1)]
    estimator = mibench.get_estimator("infonce", **TINY)
    results = estimator.estimate_seeds(samples, [0, 0])
    for result, sample in zip(results, samples):
        alone = estimator.estimate_with_extras(*sample)
        assert result.value == pytest.approx(alone.value, abs=1e-3)
    assert results[0].value != results[1].value


def test_a_diverging_seed_is_retrained_alone_like_an_unbatched_restart(tiny_sample):
    x, y = tiny_sample
    # The unbatched tests' runaway: DV at learning rate 1 falls far below zero by step 25.
    params = dict(TINY, steps=60, eval_every=25, patience=4, learning_rate=1.0, weight_decay=0.0)
    estimator = mibench.get_estimator("dv", **params)
    results = estimator.estimate_seeds([(x, y)] * 2, [0, 1])
    for seed, result in zip([0, 1], results):
        alone = estimator.with_params(seed=seed).estimate_with_extras(x, y)
        assert result.extras["batched"] is False and "fell to" in result.extras["left_batch"]
        assert result.extras["restarts"] == alone.extras["restarts"] >= 1
        assert result.extras["learning_rate"] == alone.extras["learning_rate"]
        assert result.value == alone.value  # both the unbatched path at the smaller step
    # No restarts allowed: the error is the seed's, raised or returned in its place.
    no_restarts = estimator.with_params(max_restarts=0)
    with pytest.raises(TrainingDivergedError, match=r"diverged by step \d+: the training dv"):
        no_restarts.estimate_seeds([(x, y)], [0])
    (error,) = no_restarts.estimate_seeds([(x, y)], [0], return_exceptions=True)
    assert isinstance(error, TrainingDivergedError) and error.restartable


@pytest.mark.parametrize(
    ("threads", "variable", "expected"), [(None, "2", 2), (None, "1", 1), (3, "1", 3), (None, None, 5)]
)
def test_a_batch_trains_on_the_process_threads_unless_told(
    tiny_sample, monkeypatch, torch_threads_seen, threads, variable, expected
):
    # The batch's torch threads: ``threads`` where given, else the variable (which the
    # runner's workers get), else torch's own setting (5 here, as the caller set it); the
    # estimator's num_threads (1) is a lone run's, and the caller's setting comes back
    # afterwards. Control: the (None, "1") case sees 1 thread.
    from mibench.core.threads import THREADS_VARIABLE, torch_threads
    from mibench.estimators.neural import batched

    x, y = tiny_sample
    seen = torch_threads_seen(batched, "_train_batch")
    if variable is None:
        monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(THREADS_VARIABLE, variable)
    estimator = mibench.get_estimator("infonce", **dict(TINY, steps=10))
    with torch_threads(5):
        results = estimator.estimate_seeds([(x, y)] * 2, [0, 1], threads=threads)
        assert seen == [expected] and torch.get_num_threads() == 5
    # The thread count is not a parameter of the estimate: one seed alone gives the same
    # number to float32 rounding, whatever the batch ran on.
    alone = estimator.estimate_with_extras(x, y)
    assert results[0].value == pytest.approx(alone.value, abs=1e-3)
    with pytest.raises(InputError, match="threads"):
        estimator.estimate_seeds([(x, y)], [0], threads=0)


def test_estimate_seeds_matches_estimate_and_checks_its_input(tiny_sample):
    x, y = tiny_sample
    estimator = mibench.get_estimator("smile", **TINY)
    (result,) = estimator.estimate_seeds([(x.tolist(), y[:, 0])], [3])
    alone = estimator.with_params(seed=3).estimate_with_extras(x, y[:, 0])
    assert result.value == pytest.approx(alone.value, abs=1e-4)
    with pytest.raises(InputError, match="2 samples for 1 seeds"):
        estimator.estimate_seeds([(x, y), (x, y)], [0])
    with pytest.raises(InputError, match="seed"):
        estimator.estimate_seeds([(x, y)], [-1])
    with pytest.raises(InputError, match="too few samples"):
        estimator.estimate_seeds([(x[:20], y[:20])], [0])
    with pytest.raises(InputError, match="pair"):
        estimator.estimate_seeds([x], [0])


# --- the bounds on stacks of score matrices ---------------------------------------------------
# The batched loop calls the functions of bounds.py on a (S, K, K) stack, without vmap: each
# seed's value and gradient must be what the function gives on that seed's matrix alone, and
# what the textbook expression, differentiated by autograd, gives.


def _plain_log_mean_exp(scores):
    k = scores.shape[0]
    off = scores[~torch.eye(k, dtype=torch.bool)]
    return torch.logsumexp(off, 0) - math.log(off.numel())


def _plain(bound, scores, log_moving_average=None):
    """The bounds as written in the papers, for one (K, K) matrix, in plain torch."""
    k = scores.shape[0]
    joint = scores.diagonal().mean()
    off = scores[~torch.eye(k, dtype=torch.bool)]
    if bound == "dv":
        return joint - _plain_log_mean_exp(scores)
    if bound == "nwj":
        return joint - torch.exp(_plain_log_mean_exp(scores) - 1.0)
    if bound == "infonce":
        return (scores.diagonal() - torch.logsumexp(scores, 1)).mean() + math.log(k)
    if bound == "js":
        return -F.softplus(-scores.diagonal()).mean() - F.softplus(off).mean()
    if bound == "smile":
        return joint - _plain_log_mean_exp(scores.clamp(-1.5, 1.5))
    if bound == "mine":
        return joint - torch.exp(_plain_log_mean_exp(scores) - log_moving_average)
    raise ValueError(bound)


def _fused(bound, scores, log_moving_average=None):
    from mibench.estimators.neural import bounds

    if bound == "smile":
        return bounds.smile_bound(scores, 1.5)
    if bound == "mine":
        return bounds.mine_surrogate(scores, log_moving_average)
    return getattr(bounds, f"{bound}_bound")(scores)


def _stack(dtype, seeds=4, k=9):
    generator = torch.Generator().manual_seed(5)
    scores = torch.randn(seeds, k, k, generator=generator, dtype=dtype) * 3.0
    scores.diagonal(dim1=-2, dim2=-1).add_(torch.linspace(-2.0, 6.0, seeds, dtype=dtype)[:, None])
    return scores


def _values_and_gradients(function, scores, *args):
    """Each matrix's value and the gradient of the sum of the values (so each seed's own)."""
    scores = scores.clone().requires_grad_(True)
    values = function(scores, *args)
    values.sum().backward()
    return values.detach(), scores.grad


def _per_slice(function, bound, scores, moving):
    pairs = [
        _values_and_gradients(lambda s, m=m: function(bound, s, m), matrix)
        for matrix, m in zip(scores, moving)
    ]
    return torch.stack([value for value, _ in pairs]), torch.stack([grad for _, grad in pairs])


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
@pytest.mark.parametrize("bound", ["dv", "nwj", "infonce", "js", "smile", "mine"])
def test_each_bound_on_a_stack_is_the_bound_of_each_matrix(bound, dtype, tolerance):
    scores = _stack(dtype)
    moving = torch.linspace(-0.5, 1.0, scores.shape[0], dtype=dtype)  # MINE's log averages
    stacked_value, stacked_grad = _values_and_gradients(
        lambda s: _fused(bound, s, moving), scores
    )
    assert stacked_value.shape == (scores.shape[0],)
    # The same function on one matrix at a time (the unbatched path's call) ...
    alone_value, alone_grad = _per_slice(_fused, bound, scores, moving)
    # ... and the plain expression differentiated by autograd.
    plain_value, plain_grad = _per_slice(_plain, bound, scores, moving)
    for value, grad in ((alone_value, alone_grad), (plain_value, plain_grad)):
        torch.testing.assert_close(stacked_value, value, rtol=tolerance, atol=tolerance)
        torch.testing.assert_close(stacked_grad, grad, rtol=tolerance, atol=tolerance)
    # Negative controls: the check tells the seeds apart and the bounds apart.
    swapped = plain_value[[1, 0, 2, 3]]
    assert not torch.allclose(stacked_value, swapped, rtol=tolerance, atol=tolerance)
    other = "nwj" if bound == "dv" else "dv"
    other_value, other_grad = _per_slice(_plain, other, scores, moving)
    assert not torch.allclose(stacked_value, other_value, rtol=1e-3, atol=1e-3)
    assert not torch.allclose(stacked_grad, other_grad, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("tau", [1.5, 40.0])
def test_smile_sums_directly_or_by_log_softmax_to_the_same_bound(tau):
    # Up to tau = 30 SMILE sums e^clip(f) without a shift, above it through the log-softmax:
    # both are the clipped DV bound of every matrix, and the clipping acts (control).
    from mibench.estimators.neural import bounds

    scores = _stack(torch.float64) * 20.0
    expected = torch.stack([
        matrix.diagonal().mean() - _plain_log_mean_exp(matrix.clamp(-tau, tau)) for matrix in scores
    ])  # fmt: skip
    torch.testing.assert_close(bounds.smile_bound(scores, tau), expected, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(bounds.dv_bound(scores), expected, atol=1e-3)


def test_the_bounds_take_any_leading_dimensions():
    # Evaluation scores (seeds x evaluation batches) matrices at once.
    from mibench.estimators.neural.training import read_out

    scores = _stack(torch.float64, seeds=6).reshape(2, 3, 9, 9)
    for bound in ("dv", "nwj", "infonce", "smile", "mine"):
        values = read_out(bound, scores, 1.5)
        assert values.shape == (2, 3)
        expected = torch.stack([read_out(bound, matrix, 1.5) for matrix in scores.reshape(6, 9, 9)])
        torch.testing.assert_close(values.reshape(6), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bound", ["mine", "smile", "infonce"])
def test_the_batched_objective_is_each_seeds_objective(bound):
    # Three steps, so that MINE's per-seed moving averages carry over between calls.
    from mibench.estimators.neural.batched import BatchedObjective
    from mibench.estimators.neural.training import Objective

    batched = BatchedObjective(bound, tau=1.5, ema_rate=0.3)
    alone = [Objective(bound, tau=1.5, ema_rate=0.3) for _ in range(4)]
    for step in range(3):
        scores = _stack(torch.float64) * (1.0 + step)
        target, value = batched(scores)
        for seed, objective in enumerate(alone):
            seed_target, seed_value = objective(scores[seed])
            assert float(target[seed]) == pytest.approx(float(seed_target), rel=1e-12, abs=1e-12)
            assert float(value[seed]) == pytest.approx(float(seed_value), rel=1e-12, abs=1e-12)
    if bound == "mine":
        averages = torch.stack([objective.log_moving_average for objective in alone])
        torch.testing.assert_close(batched.log_moving_average, averages, rtol=1e-12, atol=1e-12)
        # Control: the seeds' averages differ, so a shared average would have been caught.
        assert len(set(averages.tolist())) == 4
        batched.keep(torch.tensor([2, 0]))
        torch.testing.assert_close(batched.log_moving_average, averages[[2, 0]])


# --- batched against unbatched over 10 seeds, full runs, known MI ---------------------------

SEEDS = list(range(10))
TASKS = [  # (dataset, estimator, n)
    ("multinormal-dense-2-2-0.5", "infonce", 2000),
    ("1v1-normal-0.75", "nwj", 2000),
    ("multinormal-dense-5-5-0.5", "mine", 2000),
]


def _agree(first, second, z=3.0):
    """Means of two independent sets of estimates differ by less than z standard errors of
    their difference; returns (verdict, difference, standard error)."""
    first, second = np.asarray(first), np.asarray(second)
    error = math.sqrt(first.var(ddof=1) / first.size + second.var(ddof=1) / second.size)
    difference = float(first.mean() - second.mean())
    return abs(difference) < z * error, difference, error


def test_agreement_check_fails_on_shifted_estimates():
    # The check is not vacuous: a shift of 4 standard errors is caught, half of one is not.
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.02, size=10)
    error = math.sqrt(2 * 0.02**2 / 10)
    assert not _agree(base, base + 4 * error)[0]
    assert _agree(base, base + 0.5 * error)[0]


@pytest.mark.slow
@pytest.mark.parametrize(("dataset_name", "name", "n"), TASKS)
def test_ten_batched_seeds_match_ten_unbatched_seeds(dataset_name, name, n):
    dataset = mibench.get_dataset(dataset_name)
    truth = dataset.mutual_information
    # The protocol's runs: seed s draws its own sample and trains its own critic.
    samples = [dataset.sample(n, seed=seed) for seed in SEEDS]
    estimator = mibench.get_estimator(name)
    batched = [r.value for r in estimator.estimate_seeds(samples, SEEDS)]
    alone = [estimator.with_params(seed=seed).estimate(*sample) for seed, sample in zip(SEEDS, samples)]
    verdict, difference, error = _agree(batched, alone)
    print(
        f"\n{name} on {dataset_name} (truth {truth:.4f}), n={n}, 10 seeds: batched "
        f"{np.mean(batched):.4f} +- {np.std(batched, ddof=1):.4f}, unbatched "
        f"{np.mean(alone):.4f} +- {np.std(alone, ddof=1):.4f} (mean +- sd); difference "
        f"{difference:+.4f}, standard error {error:.4f}"
    )
    assert verdict, f"batched - unbatched = {difference:.4f} nats, standard error {error:.4f}"
    # Both are estimates of the known MI, not of something else.
    assert abs(np.mean(batched) - truth) < 0.15
    # Negative control: the same check tells apart a genuinely different estimator, the
    # same bound trained for 10 steps only.
    underfit = [
        estimator.with_params(seed=seed, steps=10, early_stopping=False).estimate(*sample)
        for seed, sample in zip(SEEDS, samples)
    ]
    assert not _agree(batched, underfit)[0]


@pytest.mark.parametrize("name, params", [
    ("tuba", {}), ("club", {}),
    # bmi's rule (the test part chooses the weights): before this fallback the batched loop
    # chose on a validation part the unbatched path does not even hold out.
    ("infonce", {"selection": "test"}),
])
def test_estimators_not_trained_in_batches_get_their_unbatched_numbers(tiny_sample, name, params):
    """The zoo's bounds train seed after seed: each seed's number is its unbatched one (the
    batched code does not know their models; before this fallback tuba raised and club read
    1e14)."""
    x, y = tiny_sample
    estimator = mibench.get_estimator(name, steps=60, eval_every=5, batch_size=32, hidden=(16,),
                                      **params)
    results = estimator.estimate_seeds([(x, y), (x, y)], [0, 1])
    for seed, result in zip((0, 1), results):
        alone = estimator.with_params(seed=seed).estimate_with_extras(x, y)
        assert result.value == alone.value
        assert result.extras["batched"] is False


def _subnormal(tensor):
    return (tensor != 0) & (tensor.abs() < torch.finfo(tensor.dtype).tiny)


@pytest.mark.parametrize("bound", ["dv", "nwj", "infonce", "js", "mine"])
def test_a_sharp_critics_gradient_has_no_subnormal_entries_and_is_the_plain_gradient(bound):
    # A critic of a high-MI task spreads its scores over hundreds of nats: e^f underflows, and
    # the plain gradient is full of subnormal numbers, which x86 cores compute slowly. The fused
    # bounds raise every entry below 2^-100 to 2^-100 instead; all else is the plain gradient.
    scores = _stack(torch.float32)
    off_diagonal = 1.0 - torch.eye(scores.shape[-1])
    # The pairs of the marginals 60 to some 300 nats below the joint ones, spread among themselves.
    scores = scores - off_diagonal * (60.0 + 30.0 * scores.abs())
    moving = torch.linspace(-0.5, 1.0, scores.shape[0])
    fused_value, fused_grad = _values_and_gradients(lambda s: _fused(bound, s, moving), scores)
    plain_value, plain_grad = _per_slice(_plain, bound, scores, moving)
    # Control: the scores are sharp enough that the plain gradient has subnormal entries.
    assert _subnormal(plain_grad).any()
    assert not _subnormal(fused_grad).any()
    torch.testing.assert_close(fused_value, plain_value, rtol=2e-6, atol=2e-6)
    torch.testing.assert_close(fused_grad, plain_grad, rtol=2e-6, atol=2e-6)
    # Every entry that differs from the plain one by more than rounding was below 2^-100 and
    # is now 2^-100 (to float32 rounding of its floor), of the plain entry's sign where that
    # has not underflowed to 0.
    raised = (fused_grad - plain_grad).abs() > 1e-5 * plain_grad.abs()
    negligible = 2.0**-100 * (1 + 1e-5)
    assert raised.any() and plain_grad[raised].abs().max() < negligible
    assert fused_grad[raised].abs().max() < negligible
    assert fused_grad[raised].abs().min() > 2.0**-100 * (1 - 1e-5)
    assert (fused_grad[raised] * plain_grad[raised] >= 0).all()


def _far_apart_stacks():
    """Stacks of (K, K) matrices whose entries span hundreds of nats, in three shapes: the
    joint scores far above the marginals', far below them (a bad critic), and the marginals'
    scores spread among themselves."""
    base = _stack(torch.float64, seeds=3, k=12)
    eye = torch.eye(base.shape[-1], dtype=torch.float64)
    return {
        "joint far above": base + 300.0 * eye,
        "joint far below": base - 300.0 * eye,
        "marginals spread": base + (1.0 - eye) * torch.linspace(-400.0, 0.0, base.shape[-1]),
    }


@pytest.mark.parametrize("shape", ["joint far above", "joint far below", "marginals spread"])
@pytest.mark.parametrize("bound", ["dv", "nwj", "infonce", "js", "mine"])
def test_far_apart_scores_read_the_bound_of_the_plain_expression(bound, shape):
    # JS raises scores below -20 before its softplus (float32 computes softplus of some f far
    # below 0 on a slow path); the others' exponentials underflow there. Each bound must still
    # be the plain expression's, computed in float32 as in float64.
    from mibench.estimators.neural import bounds

    scores = _far_apart_stacks()[shape]
    # JS's raising path is the one taken where some scores lie far below 0.
    assert (float(scores.amin()) < bounds._SOFTPLUS_FLOOR) == (shape != "joint far above")
    moving = torch.linspace(-0.5, 1.0, scores.shape[0], dtype=torch.float64)
    fused_value, _ = _values_and_gradients(lambda s: _fused(bound, s, moving.float()), scores.float())
    plain_value, _ = _per_slice(_plain, bound, scores, moving)
    # JS's values are of order 1 (its terms are bounded); the others' reach hundreds of nats.
    tolerance = dict(rtol=1e-6, atol=2e-6) if bound == "js" else dict(rtol=1e-6, atol=1e-4)
    torch.testing.assert_close(fused_value.double(), plain_value, **tolerance)


def test_the_far_apart_check_fails_a_softplus_raised_too_far():
    # Control: JS with its scores raised to -10 instead of -20 moves by more than the check's
    # tolerance on the same stacks (softplus(-10) = 4.5e-5 a term), so the check catches a
    # floor above about -13; -20 moves each term by less than 2.1e-9.
    scores = _far_apart_stacks()["marginals spread"]
    plain = torch.stack([_plain("js", matrix) for matrix in scores])
    raised = torch.stack([_plain("js", matrix.clamp(min=-10.0)) for matrix in scores])
    assert (raised - plain).abs().min() > 2e-6 + 1e-6 * plain.abs().max()


def test_js_backward_leaves_the_scores_to_the_other_nodes_that_saved_them():
    # SMILE trains on JS and reads a clipped DV off the same scores: the clipping saved them for
    # its backward, so JS's backward must not overwrite them (autograd's version check would
    # refuse the backward). The gradient is the plain expressions' (their sum's). Control: JS's
    # backward flooring the scores in place fails this.
    from mibench.estimators.neural import bounds

    scores = _stack(torch.float64)

    def both(leaf):
        s = leaf * 1.0  # a critic's output, as the score product's is, not a leaf
        # The clipping first, so that autograd runs JS's backward before the clipping's.
        return bounds.dv_bound(s.clamp(-1.5, 1.5)) + bounds.js_bound(s)

    def plain_both(_bound, s, _moving):
        return _plain("js", s) + _plain("dv", s.clamp(-1.5, 1.5))

    _, fused_grad = _values_and_gradients(both, scores)
    _, plain_grad = _per_slice(plain_both, None, scores, torch.zeros(4))
    torch.testing.assert_close(fused_grad, plain_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bound", ["dv", "infonce"])
def test_a_second_backward_through_a_fused_bound_is_refused(bound):
    # The backward overwrites the tensor the forward saved; a second pass would read it.
    scores = _stack(torch.float32).requires_grad_(True)
    value = _fused(bound, scores, torch.zeros(scores.shape[0])).sum()
    value.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="backpropagate through a bound once"):
        value.backward()
