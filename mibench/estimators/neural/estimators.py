"""The five registered neural estimators: MINE, DV, NWJ, InfoNCE and SMILE.

They differ only in the bound they train and read off (:mod:`.bounds`); the critic
(:mod:`.critics`) and the training loop with its held-out read-out (:mod:`.training`) are
shared. This module does not import torch: the trainer is imported when an estimate is first
asked for, so ``import mibench`` stays light.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import ClassVar

import numpy as np

from mibench.core.contracts import Estimate, Estimator
from mibench.core.threads import THREADS_VARIABLE
from mibench.core.validation import (
    InputError,
    check_choice,
    check_device,
    check_device_name,
    check_integer,
    check_positive,
)
from mibench.estimators.neural.splits import split_sizes
from mibench.estimators.registry import register

__all__ = ["DV", "MINE", "NWJ", "InfoNCE", "NeuralEstimator", "SMILE"]

_CRITICS = ("separable", "concat")
#: Which held-out part chooses the weights (see ``selection`` in the Parameters).
_SELECTIONS = ("validation", "test")

_PARAMETERS_DOC = """
    Parameters
    ----------
    critic : {"separable", "concat"}, default "separable"
        ``"separable"``: f(x, y) = g(x) . h(y), two MLP encoders and a dot product (a batch of
        K costs 2K encoder passes). ``"concat"``: one MLP on [x, y] (K^2 passes per batch).
    hidden : tuple of int, default (64, 64)
        Widths of the hidden (ReLU) layers of each MLP; () makes them linear.
    embedding_dim : int, default 32
        Dimension of the embeddings g(x), h(y) of the separable critic.
    batch_size : int, default 256
        Paired samples per training batch; every batch offers its K (K - 1) off-diagonal
        pairs as samples of p(x) p(y).
    steps : int, default 3000
        Most AdamW steps (early stopping usually ends training sooner).
    learning_rate : float, default 2e-3
        AdamW's learning rate.
    weight_decay : float, default 1.0
        AdamW's decoupled weight decay: every step multiplies the weights by
        1 - learning_rate * weight_decay. It keeps the critic from memorising the training
        pairs, which otherwise drives the held-out bound down in high dimensions.
    weight_averaging : float, default 0.99
        Decay of the exponential moving average of the critic's weights (Polyak averaging);
        the averaged critic is the one evaluated. 0 evaluates the raw weights.
    test_fraction : float, default 0.2
        Fraction of the samples held out, never trained on, to read the estimate off.
    eval_batch_size : int or None, default None
        Size of the held-out batches the bound is evaluated on (each scored like a training
        batch, then averaged); None means ``batch_size``. The bound depends on it: InfoNCE
        can never exceed log(eval_batch_size), and the log-mean-exp of DV, MINE and SMILE is
        biased upward by small batches. Capped at the number of held-out samples.
    eval_every : int, default 50
        Steps between two points of the training curve and early-stopping checks.
    early_stopping : bool, default True
        Hold out a further ``validation_fraction`` of the samples and stop when their bound
        has not improved for ``patience`` checks; the estimate is the test bound of the
        weights that did best on validation. The test part plays no role in that choice, so
        the estimate stays an honest held-out number.
    patience : int, default 4
        Checks without improvement before early stopping ends training.
    validation_fraction : float, default 0.1
        Fraction of the samples used for early stopping (only when ``early_stopping``).
    max_restarts : int, default 2
        When training diverges (NaN or inf, or a training bound that runs away below zero, on
        the training or validation part), start again from the same initial weights with a
        learning rate ten times smaller, at most this many times; the extras report
        ``restarts`` and the ``learning_rate`` used. 0 raises at the first divergence.
    squash : bool, default True
        Before standardizing, map every column through asinh((v - median) / s), s its
        interquartile range over 1.349, median and s from the training part: a strictly
        increasing map, so the MI is unchanged. It pulls heavy tails (Student-t, Cauchy) in to
        a logarithmic scale, so that held-out samples stay near the range the critic was
        trained on; without it a critic extrapolates wildly on an extreme test point.
    standardize : bool, default True
        Centre and scale every column with the training part's mean and standard deviation.
    seed : int, default 0
        Seed of the split, the critic's initialisation, the batches and the evaluation
        partitions; the same seed gives the same estimate on the same device.
    device : {"cpu", "cuda", "cuda:N"}, default "cpu"
        Where torch trains the critic; "cuda" and "cuda:N" need that CUDA device.
    num_threads : int or None, default 1
        torch's CPU threads while training one seed alone (restored afterwards); seeds
        trained together by :meth:`estimate_seeds` run on its ``threads`` instead. None: the
        count in the environment variable ``THREADS_VARIABLE`` where it is set (the runner's
        parallel workers get the cores shared out among them), otherwise torch's own setting.
        The critics are small: one thread is as fast on an idle machine and several times
        faster when other processes compete for the cores, where torch's extra threads
        spin-wait.
    selection : {"validation", "test"}, default "validation"
        Which held-out part chooses the weights. ``"validation"``: a separate validation part
        decides early stopping and the weights kept, and the estimate is read off the test
        part, which plays no role in training (an honest held-out number). ``"test"``: the
        Beyond-Normal reference's protocol (bmi): no validation part; the test part decides
        early stopping and the estimate is the highest test bound seen at any check, a
        maximum over noisy values and so biased upward (``validation_fraction`` is unused).
""".replace("THREADS_VARIABLE", THREADS_VARIABLE)


def _check_fraction(value, name: str) -> float:
    value = check_positive(value, name)
    if not value < 1:
        raise InputError(f"{name} must be a fraction strictly between 0 and 1, got {value!r}")
    return value


def _check_hidden(value) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InputError(f"hidden must be a sequence of layer widths, e.g. (64, 64), got {value!r}")
    return tuple(check_integer(width, "each width in hidden", minimum=1) for width in value)


def _check_optional_integer(value, name: str, minimum: int) -> int | None:
    return None if value is None else check_integer(value, name, minimum=minimum)


def _document(extra_parameters: str = ""):
    """Append the shared Parameters section, then the estimator's own parameters."""

    def decorator(cls):
        cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + _PARAMETERS_DOC + extra_parameters
        return cls

    return decorator


class NeuralEstimator(Estimator):
    """Base of the variational-bound estimators: shared parameters, validation and training.

    Subclasses set :attr:`bound`; one with a parameter of its own (MINE's ``ema_rate``,
    SMILE's ``tau``) declares just that one, ``__init__(self, *, own=default, **shared)``,
    under :func:`_adds_parameters`, which gives it the full signature the parameters are read
    from.
    """

    #: Which bound to train and read off (a name in ``training.BOUNDS``).
    bound: ClassVar[str] = ""

    def __init__(
        self,
        *,
        critic: str = "separable",
        hidden: tuple[int, ...] = (64, 64),
        embedding_dim: int = 32,
        batch_size: int = 256,
        steps: int = 3000,
        learning_rate: float = 2e-3,
        weight_decay: float = 1.0,
        weight_averaging: float = 0.99,
        test_fraction: float = 0.2,
        eval_batch_size: int | None = None,
        eval_every: int = 50,
        early_stopping: bool = True,
        patience: int = 4,
        validation_fraction: float = 0.1,
        max_restarts: int = 2,
        squash: bool = True,
        standardize: bool = True,
        seed: int = 0,
        device: str = "cpu",
        num_threads: int | None = 1,
        selection: str = "validation",
    ):
        self.critic = check_choice(critic, "critic", _CRITICS)
        self.hidden = _check_hidden(hidden)
        self.embedding_dim = check_integer(embedding_dim, "embedding_dim", minimum=1)
        # Two samples are the fewest that give an off-diagonal pair.
        self.batch_size = check_integer(batch_size, "batch_size", minimum=2)
        self.steps = check_integer(steps, "steps", minimum=1)
        self.learning_rate = check_positive(learning_rate, "learning_rate")
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
        self.weight_averaging = check_positive(weight_averaging, "weight_averaging", True)
        if not self.weight_averaging < 1:
            raise InputError(f"weight_averaging must be in [0, 1), got {weight_averaging!r}")
        self.test_fraction = _check_fraction(test_fraction, "test_fraction")
        self.eval_batch_size = _check_optional_integer(eval_batch_size, "eval_batch_size", 2)
        self.eval_every = check_integer(eval_every, "eval_every", minimum=1)
        self.early_stopping = check_choice(early_stopping, "early_stopping", (True, False))
        self.patience = check_integer(patience, "patience", minimum=1)
        self.validation_fraction = _check_fraction(validation_fraction, "validation_fraction")
        if (self.early_stopping and selection == "validation"
                and self.test_fraction + self.validation_fraction >= 1):
            raise InputError(
                f"test_fraction + validation_fraction must leave samples to train on, got "
                f"{self.test_fraction} + {self.validation_fraction}"
            )
        self.max_restarts = check_integer(max_restarts, "max_restarts", minimum=0)
        self.squash = check_choice(squash, "squash", (True, False))
        self.standardize = check_choice(standardize, "standardize", (True, False))
        self.seed = check_integer(seed, "seed", minimum=0)
        # The form only: a grid naming device='cuda' must parse on a machine without one.
        self.device = check_device_name(device)
        self.num_threads = _check_optional_integer(num_threads, "num_threads", 1)
        self.selection = check_choice(selection, "selection", _SELECTIONS)

    def _held_out_fractions(self) -> tuple[float, float]:
        validation = self.early_stopping and self.selection == "validation"
        return self.test_fraction, self.validation_fraction if validation else 0.0

    def min_samples(self) -> int:
        test, validation = self._held_out_fractions()
        n = self.batch_size
        while True:
            n_train, n_validation, n_test = split_sizes(n, test, validation)
            if n_train >= self.batch_size and n_test >= 2 and (not validation or n_validation >= 2):
                return n
            n += 1

    def min_samples_reason(self) -> str:
        held_out = f"test_fraction={self.test_fraction}"
        if self._held_out_fractions()[1]:
            held_out += f" and validation_fraction={self.validation_fraction}"
        return f"batch_size={self.batch_size} training samples after holding out {held_out}"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        from mibench.estimators.neural.training import TrainingConfig, train_and_estimate

        check_device(self.device)
        config = TrainingConfig(bound=self.bound, **self.get_params())
        value, extras = train_and_estimate(x, y, config)
        return Estimate(value, extras)

    def estimate_seeds(
        self, samples, seeds, *, return_exceptions: bool = False, threads: int | None = None
    ) -> list[Estimate | Exception]:
        """Estimate I(X; Y) once per seed, training the seeds' critics together as one batch.

        Each seed gets what ``self.with_params(seed=s).estimate_with_extras(x, y)`` would give
        it, its own split, initial weights, minibatches, early stopping and held-out estimate,
        up to float32 rounding (see :mod:`mibench.estimators.neural.batched`), but the
        seeds share every forward and backward pass. A seed that diverges leaves the batch
        and is retrained alone as the unbatched path would restart it.

        Parameters
        ----------
        samples : sequence of (x, y)
            One pair of array-likes per seed, each of shape (n, d_x), (n, d_y) or (n,), as
            :meth:`estimate` takes; the same pair may be given for several seeds. Seeds whose
            samples have the same shapes are trained in one batch.
        seeds : sequence of int
            The seeds, each >= 0, one per sample; they replace this estimator's ``seed``.
        return_exceptions : bool, default False
            False: raise the first failed seed's error (after every seed has been trained).
            True: put the error in that seed's place in the list.
        threads : int or None, default None
            torch's CPU threads for the batch. None: ``MIBENCH_THREADS`` where set (the
            runner's parallel workers get the cores shared out among them), else torch's own
            setting (its cores, or ``OMP_NUM_THREADS``). ``num_threads`` still sets a lone
            run's threads: one seed's step is too small to gain from a second core, a
            batch's is not. An execution setting, not a parameter of the estimate (records
            do not carry it; it moves the numbers by float32 rounding at most). Seeds not
            trained in a batch (``selection="test"``, or a bound that is never batched) run
            one after another on ``num_threads``.

        Returns
        -------
        list of Estimate (or Exception)
            One per seed, in order: the estimate in nats with the unbatched extras plus
            ``batched`` and ``seeds_in_batch``.
        """
        from mibench.estimators.neural.batched import train_and_estimate_seeds
        from mibench.estimators.neural.training import TrainingConfig

        samples, seeds = list(samples), list(seeds)
        if len(samples) != len(seeds):
            raise InputError(f"{len(samples)} samples for {len(seeds)} seeds: give one per seed")
        seeds = [check_integer(seed, "seed", minimum=0) for seed in seeds]
        validated = []
        for sample in samples:
            if not (isinstance(sample, (tuple, list)) and len(sample) == 2):
                raise InputError("each sample must be a pair (x, y) of paired samples")
            validated.append(self.validate(*sample))
        check_device(self.device)
        config = TrainingConfig(bound=self.bound, **self.get_params())
        results: list[Estimate | Exception] = []
        if threads is not None:
            threads = check_integer(threads, "threads", minimum=1)
        for outcome in train_and_estimate_seeds(validated, config, seeds, threads=threads):
            if isinstance(outcome, Exception):
                if not return_exceptions:
                    raise outcome
                results.append(outcome)
            else:
                value, extras = outcome
                results.append(Estimate(float(value), dict(extras)))
        return results


def _adds_parameters(init):
    """Give ``__init__(self, *, own=default, **shared)`` of a :class:`NeuralEstimator`
    subclass the signature ``(self, *, <the base's parameters>, own=default)``.

    :meth:`Estimator.default_params` and :meth:`Estimator.get_params` read an estimator's
    parameters off the signature of its ``__init__``; this spells out the shared ones there
    without repeating them in the source.
    """
    base = inspect.signature(NeuralEstimator.__init__).parameters.values()
    own = [
        parameter
        for parameter in inspect.signature(init).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    init.__signature__ = inspect.Signature([*base, *own])
    return init


@register("dv")
@_document()
class DV(NeuralEstimator):
    """Donsker-Varadhan bound, I >= E_p[f] - log E_q[e^f], trained by plain gradient ascent.

    q = p(x) p(y). The minibatch log-mean-exp makes the gradient biased and the bound's
    variance grows like e^I(X;Y) (McAllester & Stratos 2020; Song & Ermon 2020): expect noisy
    estimates at high MI. MI in nats, read off held-out samples.
    """

    bound = "dv"
    bound_kind = "lower"


@register("nwj")
@_document()
class NWJ(NeuralEstimator):
    """Nguyen-Wainwright-Jordan bound, I >= E_p[f] - e^-1 E_q[e^f].

    Unbiased minibatch gradients, but the same e^I(X;Y) variance as DV. MI in nats, read off
    held-out samples.
    """

    bound = "nwj"
    bound_kind = "lower"


@register("infonce")
@_document()
class InfoNCE(NeuralEstimator):
    """InfoNCE (contrastive predictive coding) bound, van den Oord et al. 2018.

    I >= E[1/K sum_i log(e^f(x_i,y_i) / (1/K sum_j e^f(x_i,y_j)))] with K samples per batch:
    low variance, but never above log K. The estimate is read off held-out batches of
    ``eval_batch_size`` (default ``batch_size``) samples, so it is at most
    log(eval_batch_size), reported in the extras as ``infonce_ceiling``; where the true MI
    approaches that ceiling the estimate saturates there. MI in nats.
    """

    bound = "infonce"
    bound_kind = "lower"


@register("mine")
@_document(
    """    ema_rate : float, default 0.01
        Weight of the newest batch in the moving average of E_q[e^f], in (0, 1].
"""
)
class MINE(NeuralEstimator):
    """MINE, Belghazi et al. 2018: the Donsker-Varadhan bound with a bias-corrected gradient.

    The gradient's E_q[e^f] denominator is a moving average over batches, with rate
    ``ema_rate``, instead of the current batch's mean. The reported value is the DV bound on
    held-out samples, in nats.
    """

    bound = "mine"
    bound_kind = "lower"

    @_adds_parameters
    def __init__(self, *, ema_rate: float = 0.01, **shared):
        super().__init__(**shared)
        self.ema_rate = check_positive(ema_rate, "ema_rate")
        if self.ema_rate > 1:
            raise InputError(f"ema_rate must be in (0, 1], got {ema_rate!r}")


@register("smile")
@_document(
    """    tau : float, default 5.0
        Clipping threshold of the critic in the partition term; > 0, may be ``math.inf``.
"""
)
class SMILE(NeuralEstimator):
    """SMILE, Song & Ermon 2020: I ~ E_p[f] - log E_q[e^clip(f, -tau, tau)].

    The critic is trained on the Jensen-Shannon objective, whose optimum is the log density
    ratio, and the clipped Donsker-Varadhan value is read off held-out samples. Clipping
    bounds the variance of the partition term at the price of a bias (downward at high MI);
    ``tau=math.inf`` reads off plain DV. MI in nats.
    """

    bound = "smile"
    # With a finite tau the clipped partition term can undershoot, so it bounds neither side.
    bound_kind = "none"

    @_adds_parameters
    def __init__(self, *, tau: float = 5.0, **shared):
        super().__init__(**shared)
        if isinstance(tau, numbers.Real) and not isinstance(tau, bool) and tau == math.inf:
            self.tau = math.inf
        else:
            self.tau = check_positive(tau, "tau")
