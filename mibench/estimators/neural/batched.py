"""Train the critics of several seeds of one neural estimator at once, as one batched model.

:func:`train_and_estimate_seeds` gives every seed exactly what
:func:`~mibench.estimators.neural.training.train_and_estimate` would give it alone: its own
split of its own samples, its own squashing and standardization (from its training part), its
own initial weights (torch seeded with the seed, as the unbatched path does), its own
minibatches (its own generator, epoch by epoch), its own evaluation batches on its own held-out
parts, its own early stopping and its own held-out estimate. Only the arithmetic is shared: the
seeds' critics are stacked along a leading "seed" dimension
(:func:`torch.func.stack_module_state`) and one set of batched kernel calls runs all of them
in each forward and backward pass, instead of one set per seed.

How: the default separable critic runs as grouped layers (:class:`_GroupedSeparable`: one
``torch.baddbmm`` per linear layer on the stacked weights, one ``torch.bmm`` for the score
matrices), which also lets evaluation embed each held-out part once and score all its
evaluation batches from the embeddings; any other critic
:func:`~mibench.estimators.neural.critics.make_critic` builds (the concatenated one) runs
through ``vmap`` of :func:`torch.func.functional_call`. The bounds are the functions of
:mod:`~mibench.estimators.neural.bounds` themselves, called on the (S, K, K) stack of score
matrices (they reduce over the last two dimensions, matrix by matrix, and write their
gradients in one pass), so there is one definition of each and no vmap of them. AdamW runs
fused (one kernel per stacked tensor). Measured in docs/benchmarks-neural.md.

Per-seed semantics in the batch:

- The loss is the sum of the seeds' objectives, so the gradient of each seed's weights is the
  gradient of its own objective; AdamW and the weight averaging act element by element, so
  each seed's slice of the stacked weights moves exactly as a lone critic's would.
- Early stopping: a seed whose validation bound has not improved for ``patience`` checks is
  finished (its estimate is the test bound recorded at its best check, as in the unbatched
  path) and is taken out of the batch, with its slice of the weights, of the optimiser's state
  and of the data; the others go on. A batch never waits for a finished seed.
- Divergence: a seed whose objective becomes NaN or inf, or whose training or validation
  bound is non-finite or runs away below zero, leaves the batch at once. Where the unbatched
  path would restart it (a ten times smaller learning rate, same seed), it is retrained
  **alone, by the unbatched path** (``train_and_estimate`` with the smaller rate and one
  restart fewer), after the batch; its extras say ``"batched": False`` and give the reason in
  ``"left_batch"``. A non-finite bound on the test part is never restarted, as unbatched.
- Independence: seed i's numbers do not depend on which other seeds share its batch (every
  kernel works slice by slice; the tests check it); they match the unbatched numbers of the
  same seed up to float32 rounding, which a long run with early stopping can amplify into a
  different stopping step: the tests compare the two statistically over 10 seeds.

The result for each seed is what ``train_and_estimate`` returns, ``(estimate, extras)``, with
the same extras plus ``"batched"`` and ``"seeds_in_batch"``, or the
:class:`~mibench.estimators.neural.training.TrainingDivergedError` that ended it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable
from torch.func import functional_call, stack_module_state, vmap

from mibench.core.threads import threads_from_environment, torch_threads
from mibench.estimators.neural.critics import SeparableCritic, make_critic
from mibench.estimators.neural.splits import split_sizes
from mibench.estimators.neural.training import (
    BOUNDS,
    DIVERGED_BELOW,
    Objective,
    TrainingConfig,
    TrainingDivergedError,
    _batch_mean_stderr,
    _HeldOut,
    adamw_kernel,
    average_weights,
    convergence_diagnostics,
    prepare_inputs,
    read_out,
    train_and_estimate,
)

__all__ = ["BatchedObjective", "SeedOutcome", "train_and_estimate_seeds"]

#: What one seed's training ends in: ``(estimate in nats, extras)`` or the error that ended it.
SeedOutcome = tuple[float, dict[str, Any]] | TrainingDivergedError


class BatchedObjective(Objective):
    """A bound's training objective for S seeds at once: the
    :class:`~mibench.estimators.neural.training.Objective` itself, called on a (S, K, K)
    stack of score matrices (the functions of :mod:`.bounds` reduce over the last two
    dimensions, matrix by matrix), returning (what each seed maximises, each seed's bound),
    two tensors of shape (S,). MINE keeps one moving average per seed; :meth:`keep` drops the
    averages of seeds that leave the batch.
    """

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only the seeds at positions ``rows`` (a 1-d index tensor)."""
        if self.log_moving_average is not None:
            self.log_moving_average = self.log_moving_average[rows]


@dataclass
class _Seed:
    """One seed's own state: its inputs, its held-out parts, its curve and stopping state."""

    position: int  # in the caller's list
    seed: int
    raw: tuple[np.ndarray, np.ndarray]  # for a lone retraining after a divergence
    x_train: torch.Tensor
    y_train: torch.Tensor
    test: _HeldOut
    validation: _HeldOut | None
    critic: torch.nn.Module
    batch_rng: np.random.Generator
    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    test_curve: list[float] = field(default_factory=list)
    validation_curve: list[float] = field(default_factory=list)
    test_stderr: list[float | None] = field(default_factory=list)
    best_value: float = -math.inf
    best_index: int = -1
    checks_since_best: int = 0


def _too_few(n: int, sizes: tuple[int, int, int], config: TrainingConfig) -> ValueError:
    n_train, n_validation, n_test = sizes
    return ValueError(
        f"too few samples: {n} leave {n_train} for training, {n_validation} for validation "
        f"and {n_test} for the read-out; training needs batch_size={config.batch_size}"
    )


def _prepare(position: int, seed: int, x, y, config: TrainingConfig) -> _Seed:
    """Everything the unbatched trainer derives from the seed, derived the same way."""
    n = x.shape[0]
    validation_fraction = config.validation_fraction if config.early_stopping else 0.0
    sizes = split_sizes(n, config.test_fraction, validation_fraction)
    n_train, n_validation, _ = sizes
    if n_train < config.batch_size or sizes[2] < 2 or (config.early_stopping and n_validation < 2):
        raise _too_few(n, sizes, config)
    split_seed, batch_seed, eval_seed = np.random.SeedSequence(seed).spawn(3)
    order = np.random.default_rng(split_seed).permutation(n)
    train_idx = order[:n_train]
    validation_idx = order[n_train : n_train + n_validation]
    test_idx = order[n_train + n_validation :]
    xs = prepare_inputs(x, train_idx, config.squash, config.standardize)
    ys = prepare_inputs(y, train_idx, config.squash, config.standardize)
    device = torch.device(config.device)

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32, device=device)

    eval_batch_size = config.eval_batch_size or config.batch_size
    eval_rng = np.random.default_rng(eval_seed)
    test = _HeldOut(tensor(xs[test_idx]), tensor(ys[test_idx]), eval_batch_size, eval_rng)
    validation = None
    if config.early_stopping:
        validation = _HeldOut(
            tensor(xs[validation_idx]), tensor(ys[validation_idx]), eval_batch_size, eval_rng
        )
    with torch.random.fork_rng(devices=[]):
        # The initial weights of the unbatched path: torch's global generator seeded with the
        # seed just before the critic is built; fork_rng restores the caller's state.
        torch.manual_seed(seed)
        critic = make_critic(config.critic, x.shape[1], y.shape[1], config.hidden, config.embedding_dim)
    return _Seed(
        position=position,
        seed=seed,
        raw=(x, y),
        x_train=tensor(xs[train_idx]),
        y_train=tensor(ys[train_idx]),
        test=test,
        validation=validation,
        critic=critic.to(device),
        batch_rng=np.random.default_rng(batch_seed),
    )


class _HeldOutStack:
    """The seeds' held-out parts of one kind, stacked: x (S, m, d_x), y (S, m, d_y) and the
    evaluation batches (S, J, B) of indices, J and B the same for every seed (same n)."""

    def __init__(self, parts: Sequence[_HeldOut]):
        self.x = torch.stack([part.x for part in parts])
        self.y = torch.stack([part.y for part in parts])
        self.batches = torch.stack([torch.stack(part.batches) for part in parts])

    def keep(self, rows: torch.Tensor) -> None:
        self.x, self.y, self.batches = self.x[rows], self.y[rows], self.batches[rows]


def _gather(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows ``index[s]`` of ``values[s]`` for every seed s: (S, m, d), (S, B) -> (S, B, d)."""
    seeds, rows, width = values.shape
    # One index_select on the flattened rows (about half the time of torch.gather with an
    # expanded index); the offsets keep each seed's rows its own.
    offsets = torch.arange(0, seeds * rows, rows, device=index.device).unsqueeze(1)
    flat = values.reshape(seeds * rows, width).index_select(0, (index + offsets).flatten())
    return flat.view(seeds, index.shape[1], width)


def _grouped_layers(mlp: torch.nn.Sequential, prefix: str) -> list[tuple[str, str, bool]] | None:
    """The linear layers of an MLP of :func:`~mibench.estimators.neural.critics.mlp` as the
    names of their (weight, bias) in the stacked state and whether a ReLU follows; None when
    the MLP holds anything else (then the batch falls back to ``vmap``)."""
    layers: list[tuple[str, str, bool]] = []
    for index, module in enumerate(mlp):
        if type(module) is torch.nn.Linear and module.bias is not None:
            layers.append((f"{prefix}.{index}.weight", f"{prefix}.{index}.bias", False))
        elif type(module) is torch.nn.ReLU and layers and not layers[-1][2]:
            layers[-1] = (*layers[-1][:2], True)
        else:
            return None
    return layers


class _GroupedMLP(torch.autograd.Function):
    """S seeds' MLPs at once: each linear layer one ``torch.baddbmm`` of the (S, K, d_in)
    activations with the (S, d_out, d_in) stacked weights, ReLU in place where the MLP has
    one; called as ``apply(values, relu_after, w_1, b_1, w_2, b_2, ...)``.

    The backward is written out (per layer: the weight's gradient one ``bmm``, the bias's a sum
    over the batch, the input's one ``bmm`` and the ReLU's mask) because autograd's nodes for
    the same arithmetic (the expanded bias, the transposed weight, the ReLU) cost about a
    fifth more time per step on ten seeds; the tests compare the gradients with each seed's
    own module's.
    """

    @staticmethod
    def forward(ctx, values, relu_after, *weights):
        inputs = []
        for (weight, bias), relu in zip(zip(weights[::2], weights[1::2]), relu_after):
            inputs.append(values)
            values = torch.baddbmm(bias.unsqueeze(1), values, weight.transpose(1, 2))
            if relu:
                values.relu_()
        ctx.relu_after = relu_after
        ctx.save_for_backward(*inputs, *weights)
        return values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        layers = len(ctx.relu_after)
        saved = ctx.saved_tensors
        inputs, weights = saved[:layers], saved[layers::2]
        gradients: list[torch.Tensor | None] = [None] * (2 * layers)
        for index in reversed(range(layers)):
            gradients[2 * index] = torch.bmm(grad.transpose(1, 2), inputs[index])
            gradients[2 * index + 1] = grad.sum(1)
            if index == 0:
                break
            grad = torch.bmm(grad, weights[index])
            if ctx.relu_after[index - 1]:
                # This layer's input is the ReLU's output: the gradient passes where it is > 0.
                grad = torch.ops.aten.threshold_backward(grad, inputs[index], 0)
        grad_values = torch.bmm(grad, weights[0]) if ctx.needs_input_grad[0] else None
        return grad_values, None, *gradients


class _GroupedSeparable:
    """The separable critic f(x, y) = g(x) . h(y) of S seeds as grouped layers: each encoder
    one :class:`_GroupedMLP` on the stacked weights, the score matrices one ``torch.bmm`` of
    the embeddings.

    The same arithmetic as ``vmap`` of the critic, without vmap's per-call dispatch and
    pytree work; and it can embed a whole held-out part once, so that evaluation scores its
    batches from the embeddings instead of encoding every batch again (each sample of the test
    part sits in up to four evaluation batches).
    """

    def __init__(self, encode_x: list, encode_y: list):
        self.encode_x, self.encode_y = encode_x, encode_y

    @classmethod
    def of(cls, critic: torch.nn.Module) -> _GroupedSeparable | None:
        """The grouped form of ``critic``, or None if it is not a plain separable critic."""
        if type(critic) is not SeparableCritic:
            return None
        encode_x = _grouped_layers(critic.encode_x, "encode_x")
        encode_y = _grouped_layers(critic.encode_y, "encode_y")
        if encode_x is None or encode_y is None:
            return None
        return cls(encode_x, encode_y)

    @staticmethod
    def _encode(layers, weights: dict[str, torch.Tensor], values: torch.Tensor) -> torch.Tensor:
        stacked = [weights[name] for weight, bias, _ in layers for name in (weight, bias)]
        return _GroupedMLP.apply(values, tuple(relu for *_, relu in layers), *stacked)

    def embed(self, weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
        """Embeddings g(x) and h(y), (S, m, embedding_dim) each, of x (S, m, d_x), y (S, m, d_y)."""
        return self._encode(self.encode_x, weights, x), self._encode(self.encode_y, weights, y)

    def scores(self, weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Score matrices (S, K, K) of x (S, K, d_x) and y (S, K, d_y)."""
        embedded_x, embedded_y = self.embed(weights, x, y)
        return torch.bmm(embedded_x, embedded_y.transpose(1, 2))


class _Batch:
    """The stacked critics of the seeds still training, their averages and AdamW state."""

    def __init__(self, seeds: list[_Seed], config: TrainingConfig):
        self.config = config
        params, buffers = stack_module_state([seed.critic for seed in seeds])
        self.names = list(params)
        self.buffers = buffers
        self.trained = [params[name] for name in self.names]
        self.averaged = [weight.detach().clone() for weight in self.trained]
        self.optimizer = self._optimizer(self.trained)
        # The default separable critic runs as grouped layers; any other critic through vmap.
        self.grouped = _GroupedSeparable.of(seeds[0].critic) if not buffers else None
        # A stateless copy of one critic: functional_call runs it with each seed's weights.
        base = copy.deepcopy(seeds[0].critic).to("meta")

        def scores(weights, buffers, x, y):
            return functional_call(base, (dict(zip(self.names, weights)), buffers), (x, y))

        self._scores = vmap(scores)

    def _optimizer(self, weights):
        # AdamW's update is element by element, so each seed's slice moves as a lone critic's
        # weights would, with the same kernel as a lone critic's.
        return torch.optim.AdamW(
            weights,
            lr=self.config.learning_rate,
            weight_decay=self.config.weight_decay,
            **adamw_kernel(weights[0].device),
        )

    def clear_gradients(self) -> None:
        """What ``optimizer.zero_grad(set_to_none=True)`` does, without its per-call Python
        work (about 0.1 ms a step, 2 % of a step of ten seeds)."""
        for weight in self.trained:
            weight.grad = None

    def weights(self, averaged: bool = False) -> dict[str, torch.Tensor]:
        """The stacked trained (or averaged) weights by name."""
        return dict(zip(self.names, self.averaged if averaged else self.trained))

    def scores(self, x: torch.Tensor, y: torch.Tensor, averaged: bool = False) -> torch.Tensor:
        """Score matrices (S, K, K) of each seed's trained (or averaged) critic on its batch."""
        if self.grouped is not None:
            return self.grouped.scores(self.weights(averaged), x, y)
        weights = self.averaged if averaged else self.trained
        return self._scores(weights, self.buffers, x, y)

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only the seeds at positions ``rows``, weights and optimiser state included."""
        old = self.optimizer
        trained = [weight.detach()[rows].clone().requires_grad_(True) for weight in self.trained]
        optimizer = self._optimizer(trained)
        for new, weight in zip(trained, self.trained):
            state = old.state.get(weight)
            if state:
                optimizer.state[new] = {
                    key: value.clone() if key == "step" else value[rows].clone()
                    for key, value in state.items()
                }
        self.trained, self.optimizer = trained, optimizer
        self.averaged = [weight[rows].clone() for weight in self.averaged]
        self.buffers = {name: buffer[rows] for name, buffer in self.buffers.items()}


def _diverged(message: str, config: TrainingConfig, restartable: bool = True):
    advice = f"try a smaller learning_rate (now {config.learning_rate:g})"
    if not (config.squash and config.standardize):
        advice += " or squash=True, standardize=True"
    return TrainingDivergedError(f"{message}; no estimate can be read off this critic: {advice}", restartable)


def _training_values(seed: _Seed, history: list[tuple[list[_Seed], torch.Tensor]]) -> np.ndarray:
    """This seed's training bound at every step it trained, in order."""
    values, memberships = [], {}
    for active, value in history:
        if id(active) not in memberships:
            memberships[id(active)] = next((i for i, s in enumerate(active) if s is seed), None)
        row = memberships[id(active)]
        if row is not None:
            values.append(value[row])
    return torch.stack(values).double().cpu().numpy() if values else np.zeros(0)


def _extras(seed: _Seed, config: TrainingConfig, step: int, seeds_in_batch: int,
            history: list[tuple[list[_Seed], torch.Tensor]]) -> dict:
    """The unbatched trainer's extras for this seed (with its convergence diagnostics and the
    standard error of its held-out average), plus how it was trained."""
    validation = seed.validation
    extras: dict[str, Any] = {
        "bound": config.bound,
        "n_train": seed.x_train.shape[0],
        "n_validation": 0 if validation is None else validation.x.shape[0],
        "n_test": seed.test.x.shape[0],
        "eval_batch_size": seed.test.batch_size,
        "eval_batches": len(seed.test.batches),
        "steps_run": step,
    }
    if validation is not None:
        extras.update(best_step=seed.steps[seed.best_index], stopped_early=step < config.steps)
    chosen = seed.best_index if validation is not None else len(seed.test_curve) - 1
    stderr = seed.test_stderr[chosen] if seed.test_stderr else None
    if stderr is not None:
        extras["stderr"] = stderr
    extras["diagnostics"] = convergence_diagnostics(
        _training_values(seed, history),
        max_steps=config.steps,
        early_stopping=config.early_stopping,
        stopped_early=step < config.steps,
        held_out=seed.validation_curve if validation is not None else seed.test_curve,
    )
    extras["diagnostics"]["restarts"] = 0
    if config.bound == "infonce":
        extras["infonce_ceiling"] = math.log(seed.test.batch_size)
    extras["curve"] = {
        "step": list(seed.steps),
        "train": list(seed.train),
        "test": list(seed.test_curve),
        **({"validation": list(seed.validation_curve)} if validation is not None else {}),
    }
    extras.update(
        restarts=0,
        learning_rate=config.learning_rate,
        batched=True,
        seeds_in_batch=seeds_in_batch,
    )
    return extras


def _estimate_of(seed: _Seed) -> float:
    if seed.validation is not None:
        return seed.test_curve[seed.best_index]
    return seed.test_curve[-1]


def _held_out_batch_bounds(batch: _Batch, part: _HeldOutStack, bound: str,
                           tau: float) -> torch.Tensor:
    """Each seed's bound on each of its evaluation batches, (S, J) float64 on the host."""
    with torch.no_grad():
        if batch.grouped is not None:
            # Embed the part once and score every evaluation batch from the embeddings, one
            # (S, B, B) stack per batch: the scores of one batch of all seeds stay in the cache
            # while the bound reads them (all J batches of all seeds in one stack, 42 MB for
            # ten seeds, took 2.4 times as long: 50 against 21 ms an evaluation, interleaved).
            embedded_x, embedded_y = batch.grouped.embed(batch.weights(averaged=True), part.x, part.y)

            def scores(index):
                return torch.bmm(_gather(embedded_x, index), _gather(embedded_y, index).transpose(1, 2))
        else:

            def scores(index):
                return batch.scores(_gather(part.x, index), _gather(part.y, index), averaged=True)

        values = [read_out(bound, scores(index), tau) for index in part.batches.unbind(1)]
        return torch.stack(values, dim=1).double().cpu()


def _held_out_bounds(batch: _Batch, part: _HeldOutStack, bound: str, tau: float) -> list[float]:
    """Each seed's bound on its held-out part: the mean over its evaluation batches."""
    return _held_out_batch_bounds(batch, part, bound, tau).mean(1).tolist()


def _train_batch(seeds: list[_Seed], config: TrainingConfig):
    """Train one batch of seeds with equal shapes. Returns ({position: outcome}, [(seed,
    error)] of the seeds that diverged restartably)."""
    outcomes: dict[int, SeedOutcome] = {}
    diverged: list[tuple[_Seed, TrainingDivergedError]] = []
    size = len(seeds)
    active = list(seeds)
    batch = _Batch(active, config)
    objective = BatchedObjective(config.bound, config.tau, config.ema_rate)
    device = active[0].x_train.device
    x_train = torch.stack([seed.x_train for seed in active])
    y_train = torch.stack([seed.y_train for seed in active])
    test = _HeldOutStack([seed.test for seed in active])
    validation = _HeldOutStack([seed.validation for seed in active]) if config.early_stopping else None
    n_train = x_train.shape[1]

    def new_epoch() -> torch.Tensor:
        return torch.stack(
            [torch.as_tensor(seed.batch_rng.permutation(n_train), device=device) for seed in active]
        )

    def drop(leaving: set[int]) -> None:
        """Take the seeds at these positions of ``active`` out of every stacked tensor."""
        nonlocal active, x_train, y_train, epoch_order, train_sum
        rows = [i for i in range(len(active)) if i not in leaving]
        active = [active[i] for i in rows]
        if not active:
            return
        index = torch.as_tensor(rows, device=device)
        batch.keep(index)
        objective.keep(index)
        x_train, y_train = x_train[index], y_train[index]
        epoch_order, train_sum = epoch_order[index], train_sum[index]
        test.keep(index)
        if validation is not None:
            validation.keep(index)

    epoch_order = new_epoch()
    position = 0
    # Every step's training bounds with the seeds they belong to (``active`` is a new list after
    # each drop), for each seed's convergence checks at its end; kept on the device, no sync.
    history: list[tuple[list[_Seed], torch.Tensor]] = []
    train_sum = torch.zeros(size, device=device)
    train_count = 0
    step = 0
    while step < config.steps and active:
        if position + config.batch_size > n_train:
            epoch_order = new_epoch()
            position = 0
        index = epoch_order[:, position : position + config.batch_size]
        position += config.batch_size
        target, value = objective(batch.scores(_gather(x_train, index), _gather(y_train, index)))
        finite = torch.isfinite(target)
        all_finite = bool(finite.all())
        if not all_finite:
            # These seeds would not step alone: they leave the batch after this step, and the
            # zero stands in for their objective so that it does not touch the others'.
            target = torch.where(finite, target, torch.zeros_like(target))
        batch.clear_gradients()
        (-target.sum()).backward()
        batch.optimizer.step()
        step += 1
        average_weights(list(zip(batch.averaged, batch.trained)), config.weight_averaging, step)
        if not all_finite:
            leaving = {i for i, ok in enumerate(finite.tolist()) if not ok}
            for i in leaving:
                error = _diverged(
                    f"training diverged at step {step} of {config.steps}: the "
                    f"{config.bound} objective became NaN or inf",
                    config,
                )
                diverged.append((active[i], error))
            value = value[[i for i in range(len(active)) if i not in leaving]]
            drop(leaving)
            if not active:
                break
        train_sum += value.detach()
        train_count += 1
        history.append((active, value.detach()))
        if step % config.eval_every and step != config.steps:
            continue

        train_means = (train_sum / train_count).tolist()
        train_sum.zero_()
        train_count = 0
        test_batches = _held_out_batch_bounds(batch, test, config.bound, config.tau)
        test_values = test_batches.mean(1).tolist()
        validation_values = (
            _held_out_bounds(batch, validation, config.bound, config.tau) if validation is not None else None
        )
        leaving: set[int] = set()
        for i, seed in enumerate(active):
            train_mean, test_value = train_means[i], test_values[i]
            seed.steps.append(step)
            seed.train.append(train_mean)
            seed.test_curve.append(test_value)
            seed.test_stderr.append(_batch_mean_stderr(test_batches[i].numpy(), seed.test.partitions))
            error = None
            if not math.isfinite(train_mean):
                error = _diverged(
                    f"training diverged by step {step}: the training bound is {train_mean}",
                    config,
                )
            elif not math.isfinite(test_value):
                error = _diverged(
                    f"training diverged by step {step}: the held-out bound is {test_value}",
                    config,
                    restartable=False,
                )
            elif train_mean < DIVERGED_BELOW:
                error = _diverged(
                    f"training diverged by step {step}: the training {config.bound} bound "
                    f"fell to {train_mean:.3g} nats, though it starts near 0 and ascent "
                    "should raise it",
                    config,
                )
            elif validation_values is not None:
                validation_value = validation_values[i]
                seed.validation_curve.append(validation_value)
                if not math.isfinite(validation_value):
                    error = _diverged(
                        f"training diverged by step {step}: the validation bound is {validation_value}",
                        config,
                    )
                elif validation_value > seed.best_value:
                    seed.best_value, seed.best_index = validation_value, len(seed.steps) - 1
                    seed.checks_since_best = 0
                else:
                    seed.checks_since_best += 1
                    if seed.checks_since_best >= config.patience:
                        outcomes[seed.position] = (
                            _estimate_of(seed), _extras(seed, config, step, size, history)
                        )  # fmt: skip
                        leaving.add(i)
            if error is not None:
                leaving.add(i)
                if error.restartable:
                    diverged.append((seed, error))
                else:
                    outcomes[seed.position] = error
        if leaving:
            drop(leaving)
    for seed in active:
        outcomes[seed.position] = (_estimate_of(seed), _extras(seed, config, step, size, history))
    return outcomes, diverged


def _retrain_alone(seed: _Seed, error: TrainingDivergedError, config: TrainingConfig):
    """The unbatched path's restart, on the unbatched path: same seed, a ten times smaller
    learning rate, one restart fewer left."""
    if config.max_restarts == 0:
        return error
    alone = dataclasses.replace(
        config,
        seed=seed.seed,
        learning_rate=config.learning_rate / 10,
        max_restarts=config.max_restarts - 1,
    )
    try:
        estimate, extras = train_and_estimate(*seed.raw, alone)
    except TrainingDivergedError as failure:
        failure.args = (f"{failure} (retrained alone after leaving a batch: {error})",)
        return failure
    extras.update(restarts=extras["restarts"] + 1, batched=False, left_batch=str(error))
    if "diagnostics" in extras:  # the two counts of restarts agree, as on the unbatched path
        extras["diagnostics"]["restarts"] = extras["restarts"]
    return estimate, extras


#: The bounds trained as one batch. The others (the critic-free and likelihood-based estimators
#: of the zoo) train seed after seed on the unbatched path, which gives them the same numbers.
BATCHED_BOUNDS = ("mine", "dv", "nwj", "infonce", "smile")


def _one_after_another(samples, config: TrainingConfig, seeds) -> list[SeedOutcome]:
    outcomes: list[SeedOutcome] = []
    for (x, y), seed in zip(samples, seeds):
        try:
            estimate, extras = train_and_estimate(x, y, dataclasses.replace(config, seed=int(seed)))
        except TrainingDivergedError as failure:
            outcomes.append(failure)
            continue
        extras.update(batched=False, seeds_in_batch=1,
                      left_batch=f"bound {config.bound!r} with selection={config.selection!r} "
                                 "is not trained in batches")
        outcomes.append((estimate, extras))
    return outcomes


def train_and_estimate_seeds(
    samples: Sequence[tuple[np.ndarray, np.ndarray]],
    config: TrainingConfig,
    seeds: Sequence[int],
    *,
    threads: int | None = None,
) -> list[SeedOutcome]:
    """Train one critic per seed, all at once, and read each one's bound off its held-out part.

    Parameters
    ----------
    samples : sequence of (x, y)
        For each seed its paired samples, already validated: float64 arrays of shape
        (n, d_x) and (n, d_y). Seeds whose samples have the same shapes train in one batch;
        different shapes train in separate batches. The same arrays may serve several seeds.
    config : TrainingConfig
        The configuration of every seed; its ``seed`` field is ignored.
    seeds : sequence of int
        One seed per sample: the seed of that run's split, initial weights, batches and
        evaluation partitions, as ``train_and_estimate`` uses ``config.seed``.
    threads : int or None, default None
        torch's CPU threads for the batch (restored afterwards). None: the environment
        variable :data:`~mibench.core.threads.THREADS_VARIABLE` where set (the runner's
        parallel workers get the cores shared out among them), else torch's own setting (its
        cores, or ``OMP_NUM_THREADS``). Unlike one seed alone, whose step is too small to
        share (``config.num_threads``, one by default, which also trains a seed retrained
        alone), a batch of seeds gains from a second core (docs/benchmarks-neural.md). The
        numbers do not depend on it beyond float32 rounding. Seeds that are not trained in a
        batch (a bound outside ``BATCHED_BOUNDS``, or ``selection="test"``) train one after
        another on ``config.num_threads``, and ``threads`` does not apply to them.

    Returns
    -------
    list
        For each seed, in order, what ``train_and_estimate(x, y, replace(config, seed=s))``
        returns, ``(estimate in nats, extras)``, with ``extras["batched"]`` (False for a seed
        retrained alone after a divergence, with the reason in ``extras["left_batch"]``) and
        ``extras["seeds_in_batch"]``; or the :class:`TrainingDivergedError` that ended it.

    Raises
    ------
    ValueError
        For an unknown bound, mismatched lengths, or too few samples (as
        ``train_and_estimate``).
    """
    if config.bound not in BOUNDS:
        raise ValueError(f"unknown bound {config.bound!r}; known bounds: {', '.join(BOUNDS)}")
    if len(samples) != len(seeds):
        raise ValueError(f"{len(samples)} samples for {len(seeds)} seeds: give one per seed")
    # The batched loop selects weights on the validation part only; bmi's selection="test"
    # (the test part chooses) trains seed after seed on the unbatched path, which has it.
    if config.bound not in BATCHED_BOUNDS or config.selection != "validation":
        return _one_after_another(samples, config, seeds)
    groups: dict[tuple, list[int]] = {}
    for position, (x, y) in enumerate(samples):
        groups.setdefault((x.shape, y.shape), []).append(position)
    outcomes: dict[int, SeedOutcome] = {}
    if threads is None:
        threads = threads_from_environment() or torch.get_num_threads()
    with torch_threads(threads):
        for positions in groups.values():
            prepared = [_prepare(p, int(seeds[p]), samples[p][0], samples[p][1], config) for p in positions]
            done, diverged = _train_batch(prepared, config)
            outcomes.update(done)
            for seed, error in diverged:
                outcomes[seed.position] = _retrain_alone(seed, error, config)
    return [outcomes[position] for position in range(len(samples))]
