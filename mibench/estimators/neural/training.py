"""The one training loop behind every neural estimator, and the held-out read-out.

:func:`train_and_estimate` does, for any bound:

1. split the samples into disjoint training, validation (with early stopping) and test parts;
2. squash every column's tails with asinh around its median (a bijection, so the MI is
   unchanged; :func:`squash_tails`), then standardize it with the mean and standard deviation
   of the training part;
3. train a critic with AdamW on minibatches drawn epoch by epoch from the training part,
   maximising the bound's training objective (the bound itself, except for MINE's
   bias-corrected gradient and SMILE's Jensen-Shannon critic training), while keeping an
   exponential moving average of the critic's weights (Polyak averaging), which is the critic
   that gets evaluated;
4. every ``eval_every`` steps, record the mean training bound since the last record (of the
   raw, trained weights, on the training batches) and the bound of the averaged critic on the
   held-out test part: the training curve. With early stopping it also records the averaged
   critic's bound on the validation part, which alone decides when to stop and which weights
   to keep; the test part never influences training or the choice of weights;
5. return the test-part bound of the final (or best-on-validation) averaged critic; with
   ``selection="test"`` (the Beyond-Normal reference's protocol) there is no validation part
   and the best test-part bound is returned, as bmi does;
6. report the convergence checks of bmi (:func:`convergence_diagnostics`) and the standard
   error of the held-out average given the critic (``stderr``, where it can be measured).

The held-out bound is the mean over batches of ``eval_batch_size`` test samples, each scored
like a training batch (its diagonal against its off-diagonal), pooled over a few random
partitions of the test part. For InfoNCE that batch size is the bound's ceiling: the estimate
is at most log(eval_batch_size).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import stats

from mibench.core import preprocessing
from mibench.core.threads import torch_threads
from mibench.estimators.neural import bounds, critics
from mibench.estimators.neural.critics import make_critic
from mibench.estimators.neural.splits import split_sizes

__all__ = [
    "BOUNDS",
    "LIKELIHOOD_BOUNDS",
    "ZOO_BOUNDS",
    "Objective",
    "TrainingConfig",
    "TrainingDivergedError",
    "adamw_kernel",
    "average_weights",
    "build_model",
    "convergence_diagnostics",
    "log_likelihood",
    "prepare_inputs",
    "read_out",
    "selection_value",
    "squash_tails",
    "train_and_estimate",
    "training_step",
]

#: The bounds the trainer knows, by estimator name.
BOUNDS = ("mine", "dv", "nwj", "infonce", "smile")
#: The rest of the zoo: critics with a learned baseline or dual variable (TUBA, FLO), the JS
#: critic read off with NWJ, and the variational densities of CLUB, L1Out and DoE.
ZOO_BOUNDS = ("js", "tuba", "flo", "club", "l1out", "doe")
BOUNDS = BOUNDS + ZOO_BOUNDS
#: Bounds whose model is a density fitted by maximum likelihood: their held-out
#: log-likelihood, not the bound, decides early stopping, since an upper bound (or DoE's
#: difference) must not be chosen for being large.
LIKELIHOOD_BOUNDS = ("club", "l1out", "doe")

#: A training bound this far below zero (nats, averaged between two records) means the
#: optimiser is running away: every critic starts near f = 0, where each bound is close to 0,
#: and a working ascent only raises it.
DIVERGED_BELOW = -50.0

#: Random partitions of a held-out part into evaluation batches: as many as it takes to score
#: about _EVAL_SAMPLES samples, at most _EVAL_PARTITIONS. On small held-out parts, pooling
#: several partitions uses every sample whatever the remainder, and averages over which pairs
#: serve as negatives; large parts need only one.
_EVAL_PARTITIONS = 4
_EVAL_SAMPLES = 4000


class TrainingDivergedError(FloatingPointError):
    """The critic's training produced NaN or inf, or ran away; no estimate can be read off.

    ``restartable`` is True when training or validation data showed it, so that training may
    start again with a smaller step; a non-finite bound on the test part is never a reason to
    train again, since the test part must not influence the estimate's training.
    """

    def __init__(self, message: str, restartable: bool = True):
        super().__init__(message)
        self.restartable = restartable


@dataclass(frozen=True)
class TrainingConfig:
    """Everything the trainer needs; the estimators' docstrings explain each field."""

    bound: str
    critic: str = "separable"
    hidden: tuple[int, ...] = (64, 64)
    embedding_dim: int = 32
    batch_size: int = 256
    steps: int = 3000
    learning_rate: float = 2e-3
    weight_decay: float = 1.0
    weight_averaging: float = 0.99
    test_fraction: float = 0.2
    eval_batch_size: int | None = None
    eval_every: int = 50
    early_stopping: bool = True
    patience: int = 4
    validation_fraction: float = 0.1
    squash: bool = True
    standardize: bool = True
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = 1
    max_restarts: int = 2
    tau: float = math.inf
    ema_rate: float = 0.01
    selection: str = "validation"


@dataclass
class _Curve:
    step: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)


def read_out(bound: str, scores: torch.Tensor, tau: float = math.inf) -> torch.Tensor:
    """The value of ``bound`` on a (K, K) score matrix, in nats (MINE reads off DV); for the
    bounds of the training loop also on a stack (..., K, K), one value per matrix."""
    if bound in ("dv", "mine"):
        return bounds.dv_bound(scores)
    if bound == "nwj":
        return bounds.nwj_bound(scores)
    if bound == "infonce":
        return bounds.infonce_bound(scores)
    if bound == "smile":
        return bounds.smile_bound(scores, tau)
    if bound in ZOO_BOUNDS:
        return _zoo_read_out(bound, scores)
    raise ValueError(f"unknown bound {bound!r}; known bounds: {', '.join(BOUNDS)}")


def _zoo_read_out(bound: str, output) -> torch.Tensor:
    """The value of a zoo bound on a model's output for a batch (a score matrix, or the tuple
    its model returns: :mod:`.critics`)."""
    if bound == "js":
        return bounds.js_nwj_bound(output)
    if bound == "tuba":
        return bounds.tuba_bound(*output)
    if bound == "flo":
        return bounds.flo_bound(*output)
    if bound == "club":
        return bounds.club_bound(output)
    if bound == "l1out":
        return bounds.l1out_bound(output)
    return bounds.doe_estimate(*output)


def log_likelihood(bound: str, output) -> torch.Tensor:
    """The mean log-likelihood per pair of the densities of a bound of
    :data:`LIKELIHOOD_BOUNDS` on a batch: what they are trained and early-stopped by."""
    if bound == "doe":
        log_conditional, log_marginal = output
        return log_conditional.mean() + log_marginal.mean()
    return bounds.joint_mean(output)


def selection_value(bound: str, output, tau: float = math.inf) -> torch.Tensor:
    """What early stopping maximises on the validation part: the bound itself, or the
    log-likelihood for the bounds of :data:`LIKELIHOOD_BOUNDS`."""
    if bound in LIKELIHOOD_BOUNDS:
        return log_likelihood(bound, output)
    return read_out(bound, output, tau)


def build_model(config: TrainingConfig, dim_x: int, dim_y: int) -> torch.nn.Module:
    """The trainable model of ``config.bound``: a critic of kind ``config.critic``, wrapped with
    a baseline (TUBA) or a dual variable (FLO), or the Gaussian densities of CLUB, L1Out and
    DoE. Initialised from torch's global generator (the caller seeds it)."""
    if config.bound in ("club", "l1out"):
        return critics.GaussianConditional(dim_x, dim_y, config.hidden)
    if config.bound == "doe":
        return critics.DifferenceOfEntropies(dim_x, dim_y, config.hidden)
    critic = make_critic(config.critic, dim_x, dim_y, config.hidden, config.embedding_dim)
    if config.bound == "tuba":
        return critics.BaselineCritic(critic, dim_y, config.hidden)
    if config.bound == "flo":
        return critics.FenchelLegendreCritic(critic, dim_x, dim_y, config.hidden)
    return critic


class Objective:
    """A bound's training objective: called on a score matrix, returns (what to maximise,
    the bound's value). MINE's moving average makes it stateful. For the bounds of
    :data:`BOUNDS` before the zoo's it also takes a stack of S seeds' matrices (S, K, K) and
    returns two (S,) tensors, with one moving average per seed (:mod:`.batched`)."""

    def __init__(self, bound: str, tau: float = math.inf, ema_rate: float = 0.01):
        if bound not in BOUNDS:
            raise ValueError(f"unknown bound {bound!r}; known bounds: {', '.join(BOUNDS)}")
        self.bound = bound
        self.tau = tau
        self.ema_rate = ema_rate
        self.log_moving_average: torch.Tensor | None = None

    def __call__(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.bound == "mine":
            target, value, self.log_moving_average = bounds.mine_objective(
                scores, self.log_moving_average, self.ema_rate)
            return target, value
        value = read_out(self.bound, scores, self.tau)
        if self.bound == "smile":
            # SMILE trains the critic on the Jensen-Shannon objective (Song & Ermon, sec. 4)
            # and only reads the clipped DV bound off it.
            return bounds.js_bound(scores), value
        if self.bound == "js":
            # Trained on JS like SMILE's critic, read off with NWJ at T + 1 (Poole et al.).
            return bounds.js_bound(scores), value
        if self.bound in LIKELIHOOD_BOUNDS:
            # The densities are fitted by maximum likelihood; the bound is only read off.
            return log_likelihood(self.bound, scores), value
        return value, value


class _HeldOut:
    """A held-out part on the device, cut into evaluation batches once, so that every
    evaluation along the curve scores the same pairs."""

    def __init__(self, x, y, batch_size: int, rng: np.random.Generator):
        n = x.shape[0]
        self.x, self.y = x, y
        self.batch_size = min(batch_size, n)
        self.batches = []
        partitions = min(_EVAL_PARTITIONS, math.ceil(_EVAL_SAMPLES / n))
        if self.batch_size == n:
            # One batch holds the whole part, and the bounds are invariant under permuting
            # its pairs: further partitions would score the same matrix again.
            partitions = 1
        for _ in range(partitions):
            order = torch.as_tensor(rng.permutation(n), device=x.device)
            for start in range(0, n - self.batch_size + 1, self.batch_size):
                self.batches.append(order[start : start + self.batch_size])
        self.partitions = partitions
        self.last_stderr: float | None = None

    @torch.no_grad()
    def bound(self, critic, bound: str, tau: float) -> float:
        """The mean bound over the evaluation batches; sets :attr:`last_stderr`."""
        values = torch.stack(
            [read_out(bound, critic(self.x[i], self.y[i]), tau) for i in self.batches]
        )
        self.last_stderr = _batch_mean_stderr(values.double().cpu().numpy(), self.partitions)
        return float(values.mean())

    @torch.no_grad()
    def criterion(self, critic, bound: str, tau: float) -> float:
        """The mean of :func:`selection_value` over the batches (early stopping's number)."""
        values = [selection_value(bound, critic(self.x[i], self.y[i]), tau) for i in self.batches]
        return float(torch.stack(values).mean())


def _batch_mean_stderr(values: np.ndarray, partitions: int) -> float | None:
    """Standard error (nats) of the mean of held-out batch bounds, given the critic.

    The batches of one partition are disjoint, so given the trained critic their bounds are
    independent draws; the standard error of one partition's mean is sd / sqrt(batches per
    partition), with sd pooled within partitions. The estimate averages ``partitions``
    partitions of the same samples, whose means are correlated, so that standard error is an
    upper bound on the estimate's. It covers the evaluation noise of the held-out sample
    only, not the randomness of training or the bias of the bound. None when a partition
    holds a single batch (no spread to measure).
    """
    per_partition = values.size // partitions
    if per_partition < 2:
        return None
    groups = values[: per_partition * partitions].reshape(partitions, per_partition)
    pooled_variance = float(np.mean(groups.var(axis=1, ddof=1)))
    return math.sqrt(pooled_variance / per_partition)


def convergence_diagnostics(
    train_values,
    *,
    max_steps: int,
    early_stopping: bool,
    stopped_early: bool,
    held_out: list[float],
    smoothing: float = 0.1,
    tolerance: float = 1.05,
) -> dict[str, Any]:
    """Whether a training run converged, by the checks of the Beyond-Normal reference (bmi).

    Parameters
    ----------
    train_values : sequence of float
        The training bound (nats) at every step, in order.
    max_steps : int
        The most steps training was allowed.
    early_stopping, stopped_early : bool
        Whether early stopping was enabled, and whether it ended training.
    held_out : list of float
        The held-out bound (nats) at every check that chooses the weights (validation, or test
        with ``selection="test"``), in order.
    smoothing : float
        The training bound is smoothed by a moving mean over w = int(smoothing * steps run)
        steps, as bmi's ``train_smooth_factor``.
    tolerance : float
        bmi's factor 1.05 in the two comparisons below.

    Returns
    -------
    dict
        ``steps_run``, ``max_steps``, ``early_stopping``, ``stopped_early``;
        ``too_short`` (w < 1: no smoothed checks possible); ``training_still_rising`` (the
        smoothed training bound at the end exceeds ``tolerance`` times its value w steps
        earlier; None when too short); ``training_dropped`` (the peak of the smoothed
        training bound exceeds ``tolerance`` times its final value; None when too short);
        ``held_out_dropped`` (the last held-out bound is below the best one by more than
        ``tolerance - 1`` of its size: the weights kept are not the last ones); and
        ``converged``: early stopping triggered where enabled, and neither smoothed check
        failed. The comparisons are bmi's, multiplicative, so they read oddly for bounds
        near 0 or negative; they are kept as they are to count convergence as bmi does.
    """
    values = np.asarray(train_values, dtype=np.float64)
    window = int(smoothing * values.size)
    diagnostics: dict[str, Any] = {
        "steps_run": int(values.size),
        "max_steps": int(max_steps),
        "early_stopping": bool(early_stopping),
        "stopped_early": bool(stopped_early),
        "too_short": window < 1,
        "training_still_rising": None,
        "training_dropped": None,
    }
    if window >= 1:
        sums = np.concatenate([[0.0], np.cumsum(values)])
        smooth = (sums[window:] - sums[:-window]) / window
        diagnostics["training_dropped"] = bool(smooth.max() > tolerance * smooth[-1])
        diagnostics["training_still_rising"] = bool(smooth[-1] > tolerance * smooth[-window])
    best = max(held_out) if held_out else math.nan
    diagnostics["held_out_dropped"] = bool(
        held_out and held_out[-1] < best - (tolerance - 1) * abs(best)
    )
    diagnostics["converged"] = bool(
        (stopped_early or not early_stopping)
        and window >= 1
        and not diagnostics["training_still_rising"]
        and not diagnostics["training_dropped"]
    )
    return diagnostics


def adamw_kernel(device: torch.device | str) -> dict[str, bool]:
    """AdamW's fastest update kernel for weights on ``device``, as keyword arguments: fused, one
    kernel per weight tensor for the whole update, where this torch has it for the device (CPU
    from torch 2.4); otherwise foreach, one kernel per operation over all tensors. torch's CPU
    default is neither: a loop of about ten small kernels per tensor, about a fifth of a lone
    seed's step (docs/benchmarks-neural.md)."""
    try:  # private, but the list torch itself checks ``fused=True`` against
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        fused = torch.device(device).type in _get_fused_kernels_supported_devices()
    except ImportError:
        fused = False
    return {"fused": True} if fused else {"foreach": True}


def training_step(critic, optimizer, objective, x: torch.Tensor, y: torch.Tensor):
    """One ascent step on a batch: forward, objective, backward, optimiser step.

    Returns the bound's value on the batch (a detached scalar tensor), or None, without
    stepping, when the objective is NaN or inf.
    """
    target, value = objective(critic(x, y))
    if not torch.isfinite(target):
        return None
    optimizer.zero_grad(set_to_none=True)
    (-target).backward()
    optimizer.step()
    return value.detach()


def average_weights(pairs, decay: float, step: int) -> None:
    """Move each averaged weight towards its trained weight: a = d a + (1 - d) w.

    The effective decay grows as (step - 1) / (step + 9) up to ``decay``, so the average
    forgets the random initial weights within a few steps in short runs (the ``num_updates``
    rule of TensorFlow's ExponentialMovingAverage).
    """
    effective = min(decay, (step - 1) / (step + 9))
    if not pairs:
        return
    averages, weights = zip(*pairs)
    with torch.no_grad():
        # One call for all the tensors: the same lerp, tensor by tensor, without a Python loop.
        torch._foreach_lerp_(list(averages), list(weights), 1.0 - effective)


def squash_tails(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """asinh((values - median) / s) column by column, median and s taken over ``reference``.

    s is the interquartile range over 1.349, the standard deviation of a normal column, and
    the standard deviation where the interquartile range is 0 (1 for a constant column). Each
    column goes through a strictly increasing map, a bijection, so I(X; Y) is unchanged.

    Why: the mean and standard deviation of a heavy-tailed column (Student-t, Cauchy) are set
    by a few extreme samples, so standardizing with them crushes the bulk of the samples into
    a sliver near 0 and leaves held-out points far beyond anything trained on, where a ReLU
    critic extrapolates linearly: on student-identity-2-2-1 (0.43 nats) SMILE read 150 to 180
    nats off such test pairs, and NWJ's e^f overflowed. The median and quartiles ignore the
    tails, and asinh, linear near 0 and logarithmic beyond, brings every point within a few
    units of the training range: a sample of a Cauchy column at 10^6 times its scale lands at
    about 14.
    """
    reference = np.asarray(reference, dtype=np.float64)
    scale = stats.iqr(reference, axis=0, scale="normal")
    degenerate = ~(scale > 0)
    if degenerate.any():
        scale[degenerate] = preprocessing.column_scale(reference[:, degenerate])
    return np.arcsinh((values - np.median(reference, axis=0)) / scale)


def prepare_inputs(
    values: np.ndarray, reference_rows: np.ndarray, squash: bool, standardize: bool
) -> np.ndarray:
    """The columns the critic sees: squashed (:func:`squash_tails`), then standardized with
    the mean and standard deviation of the rows ``reference_rows`` (the training part)."""
    if squash:
        values = squash_tails(values, values[reference_rows])
    if standardize:
        values = preprocessing.standardize(values, values[reference_rows])
    return values


def _diverged(
    message: str, config: TrainingConfig, restartable: bool = True
) -> TrainingDivergedError:
    advice = f"try a smaller learning_rate (now {config.learning_rate:g})"
    if not (config.squash and config.standardize):
        advice += " or squash=True, standardize=True"
    return TrainingDivergedError(
        f"{message}; no estimate can be read off this critic: {advice}", restartable
    )


def train_and_estimate(
    x: np.ndarray, y: np.ndarray, config: TrainingConfig
) -> tuple[float, dict[str, Any]]:
    """Train a critic on part of the samples and read the bound off the held-out part.

    Parameters
    ----------
    x : ndarray of float64, shape (n, d_x)
    y : ndarray of float64, shape (n, d_y)
        Paired samples, already validated; n must leave ``config.batch_size`` training
        samples after the held-out parts are set aside.
    config : TrainingConfig

    Returns
    -------
    estimate : float
        The bound on the test part, in nats.
    extras : dict
        JSON-serialisable diagnostics: the sizes of the parts, the evaluation batch size, the
        steps run (and with early stopping the step whose weights were kept), the training
        curve (``curve``: lists ``step``, ``train``, ``test`` and with early stopping
        ``validation``, bounds in nats), the restarts after a divergence and the learning
        rate of the run that gave the estimate, and for InfoNCE its ceiling
        log(eval batch size); ``diagnostics`` (:func:`convergence_diagnostics`, with
        ``restarts``) and, where a partition of the test part holds two or more evaluation
        batches, ``stderr``: the standard error in nats of the held-out average at the chosen
        check, given the trained critic (:func:`_batch_mean_stderr`).

    Raises
    ------
    TrainingDivergedError
        If the objective or a held-out bound becomes NaN or inf, or the training bound runs
        away below zero, and ``config.max_restarts`` restarts, each with a learning rate ten
        times smaller, did not help (a non-finite bound on the test part is not restarted).
    """
    if config.bound not in BOUNDS:
        raise ValueError(f"unknown bound {config.bound!r}; known bounds: {', '.join(BOUNDS)}")
    restart = 0
    with torch_threads(config.num_threads):
        while True:
            try:
                estimate, extras = _train_and_estimate(x, y, config)
            except TrainingDivergedError as error:
                if not error.restartable or restart == config.max_restarts:
                    if restart:
                        error.args = (f"{error} (after {restart} restart(s), each with a ten "
                                      "times smaller learning_rate)",)  # fmt: skip
                    raise
                # The same seed gives the same split, initial weights and batches: only the
                # step changes.
                restart += 1
                config = dataclasses.replace(config, learning_rate=config.learning_rate / 10)
                continue
            extras.update(restarts=restart, learning_rate=config.learning_rate)
            extras["diagnostics"]["restarts"] = restart
            return estimate, extras


def _train_and_estimate(x: np.ndarray, y: np.ndarray, config: TrainingConfig):
    n = x.shape[0]
    # With selection="test" (bmi's protocol) the test part chooses the weights itself.
    uses_validation = config.early_stopping and config.selection == "validation"
    validation_fraction = config.validation_fraction if uses_validation else 0.0
    n_train, n_validation, n_test = split_sizes(n, config.test_fraction, validation_fraction)
    if n_train < config.batch_size or n_test < 2 or (uses_validation and n_validation < 2):
        raise ValueError(
            f"too few samples: {n} leave {n_train} for training, {n_validation} for validation "
            f"and {n_test} for the read-out; training needs batch_size={config.batch_size}"
        )
    split_seed, batch_seed, eval_seed = np.random.SeedSequence(config.seed).spawn(3)
    order = np.random.default_rng(split_seed).permutation(n)
    train_idx = order[:n_train]
    validation_idx = order[n_train : n_train + n_validation]
    test_idx = order[n_train + n_validation :]
    x = prepare_inputs(x, train_idx, config.squash, config.standardize)
    y = prepare_inputs(y, train_idx, config.squash, config.standardize)

    device = torch.device(config.device)

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32, device=device)

    x_train, y_train = tensor(x[train_idx]), tensor(y[train_idx])
    eval_batch_size = config.eval_batch_size or config.batch_size
    eval_rng = np.random.default_rng(eval_seed)
    test = _HeldOut(tensor(x[test_idx]), tensor(y[test_idx]), eval_batch_size, eval_rng)
    validation = None
    if uses_validation:
        validation = _HeldOut(
            tensor(x[validation_idx]), tensor(y[validation_idx]), eval_batch_size, eval_rng
        )

    with torch.random.fork_rng(devices=[]):
        # The default initialisation of torch's layers draws from the global generator: seed
        # it here, and fork_rng puts the caller's state back afterwards.
        torch.manual_seed(config.seed)
        trained = build_model(config, x.shape[1], y.shape[1])
    trained.to(device)
    optimizer = torch.optim.AdamW(
        trained.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
        **adamw_kernel(device),
    )
    # The evaluated critic: the average of the recent weights smooths out the minibatch noise
    # of the last steps, which would otherwise show up in the estimate.
    averaged = copy.deepcopy(trained).requires_grad_(False)
    pairs = list(zip(averaged.parameters(), trained.parameters()))
    objective = Objective(config.bound, config.tau, config.ema_rate)

    curve = _Curve()
    best_value, best_index = -math.inf, -1
    checks_since_best = 0
    batch_rng = np.random.default_rng(batch_seed)
    epoch_order = torch.as_tensor(batch_rng.permutation(n_train), device=device)
    position = 0
    train_sum = torch.zeros((), device=device)
    train_count = 0
    # Every step's training bound, for the convergence checks (kept on the device; no sync).
    train_values: list[torch.Tensor] = []
    test_stderr: list[float | None] = []
    step = 0
    while step < config.steps:
        if position + config.batch_size > n_train:
            epoch_order = torch.as_tensor(batch_rng.permutation(n_train), device=device)
            position = 0
        idx = epoch_order[position : position + config.batch_size]
        position += config.batch_size
        value = training_step(trained, optimizer, objective, x_train[idx], y_train[idx])
        if value is None:
            raise _diverged(
                f"training diverged at step {step + 1} of {config.steps}: the {config.bound} "
                "objective became NaN or inf",
                config,
            )
        step += 1
        average_weights(pairs, config.weight_averaging, step)
        train_sum += value
        train_count += 1
        train_values.append(value)
        if step % config.eval_every and step != config.steps:
            continue

        train_mean = float(train_sum) / train_count
        train_sum.zero_()
        train_count = 0
        test_value = test.bound(averaged, config.bound, config.tau)
        test_stderr.append(test.last_stderr)
        curve.step.append(step)
        curve.train.append(train_mean)
        curve.test.append(test_value)
        if not math.isfinite(train_mean):
            raise _diverged(
                f"training diverged by step {step}: the training bound is {train_mean}", config
            )
        if not math.isfinite(test_value):
            raise _diverged(
                f"training diverged by step {step}: the held-out bound is {test_value}",
                config,
                restartable=False,
            )
        if train_mean < DIVERGED_BELOW:
            raise _diverged(
                f"training diverged by step {step}: the training {config.bound} bound fell to "
                f"{train_mean:.3g} nats, though it starts near 0 and ascent should raise it",
                config,
            )
        if validation is None:
            if config.selection != "test":
                continue
            # bmi's protocol: the test bound itself chooses the weights and stops training.
            validation_value = test_value
        else:
            validation_value = validation.criterion(averaged, config.bound, config.tau)
            curve.validation.append(validation_value)
            if not math.isfinite(validation_value):
                raise _diverged(
                    f"training diverged by step {step}: the validation bound is "
                    f"{validation_value}",
                    config,
                )
        if validation_value > best_value:
            best_value, best_index = validation_value, len(curve.step) - 1
            checks_since_best = 0
        else:
            checks_since_best += 1
            if config.early_stopping and checks_since_best >= config.patience:
                break

    extras: dict[str, Any] = {
        "bound": config.bound,
        "n_train": n_train,
        "n_validation": n_validation,
        "n_test": n_test,
        "eval_batch_size": test.batch_size,
        "eval_batches": len(test.batches),
        "steps_run": step,
    }
    chooses = validation is not None or config.selection == "test"
    if chooses:
        # The weights kept are those of the best validation check (or, with
        # selection="test", the best test check); their test bound was recorded at that
        # check, so the estimate is read off the curve.
        estimate = curve.test[best_index]
        extras.update(best_step=curve.step[best_index], stopped_early=step < config.steps)
    else:
        best_index = len(curve.test) - 1
        estimate = curve.test[-1]
    stderr = test_stderr[best_index]
    if stderr is not None:
        extras["stderr"] = stderr
    held_out = curve.validation if validation is not None else curve.test
    extras["diagnostics"] = convergence_diagnostics(
        torch.stack(train_values).double().cpu().numpy(),
        max_steps=config.steps,
        early_stopping=config.early_stopping,
        stopped_early=step < config.steps,
        held_out=held_out,
    )
    if config.bound == "infonce":
        extras["infonce_ceiling"] = math.log(test.batch_size)
    if config.bound in LIKELIHOOD_BOUNDS:
        extras["validation_curve"] = "mean held-out log-likelihood per pair (nats)"
    extras["curve"] = {
        "step": curve.step,
        "train": curve.train,
        "test": curve.test,
        **({"validation": curve.validation} if validation is not None else {}),
    }
    return estimate, extras
