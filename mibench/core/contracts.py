"""The contracts every part of mibench is written against: Estimator, Dataset and Record.

Like Beyond-Normal's ``interface`` module, this one depends on nothing else in mibench except
input validation and column standardization, so estimators, datasets, the runner and the
reports can all import it.
All mutual information is in nats.
"""

from __future__ import annotations

import abc
import functools
import inspect
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from mibench.core.preprocessing import standardize as standardize_columns
from mibench.core.validation import InputError, check_integer, check_paired_samples

__all__ = [
    "BOUND_KINDS",
    "MUTUAL_INFORMATION",
    "NOISY_CHANNEL",
    "QUANTITIES",
    "RECORD_KEYS",
    "Dataset",
    "Estimate",
    "Estimator",
    "NoisyChannel",
    "Record",
    "canonical_params",
    "estimator_identity",
    "estimator_version",
]

#: The quantity of an ordinary estimator: I(X; Y) from paired samples (x, y).
MUTUAL_INFORMATION = "I(X;Y)"
#: The quantity of a noisy-channel estimator: I(X; S + Z) from x, the clean activations S and
#: the known scale of the Gaussian noise Z (Goldfeld et al. 2019; Saxe et al. 2018).
NOISY_CHANNEL = "I(X;S+Z)"
#: What each quantity is, for messages and listings.
QUANTITIES = {
    MUTUAL_INFORMATION: "I(X; Y) from paired samples (x, y)",
    NOISY_CHANNEL: "I(X; S + Z) from x, the clean activations S and the scale of the Gaussian "
    "noise Z",
}

#: What an estimator's number is guaranteed to be, in expectation over the samples and for any
#: state of its learned parts (critic, variational density): a ``"lower"`` bound on I(X; Y),
#: an ``"upper"`` bound, or ``"none"`` (an estimate with no guaranteed side).
BOUND_KINDS = ("lower", "upper", "none")


@dataclass(frozen=True)
class Estimate:
    """An MI estimate in nats, with whatever diagnostics the estimator has to offer.

    ``extras`` holds JSON-serialisable details: a training curve, a Monte Carlo standard error,
    the number of bins actually used, and so on.
    """

    value: float
    extras: dict[str, Any] = field(default_factory=dict)


class Estimator(abc.ABC):
    """Base class of every MI estimator, in the style of scikit-learn.

    A subclass declares its parameters as keyword-only arguments of ``__init__``, stores each one
    under an attribute of the same name, and validates them there. It implements
    ``_estimate(x, y)``, which receives validated float64 arrays of shape (n, d) and returns the MI
    in nats, either as a float or as an :class:`Estimate` with extras.
    """

    #: Short lowercase registry name, set by the registry's ``register`` decorator.
    name: ClassVar[str] = ""

    #: What the estimator estimates (a key of :data:`QUANTITIES`). The runner pairs it only
    #: with datasets that provide this quantity, so no estimate is ever scored against the
    #: truth of another one. A plugin that declares nothing estimates I(X; Y).
    quantity: ClassVar[str] = MUTUAL_INFORMATION

    #: Which side of the truth the estimator is a bound on (a value of :data:`BOUND_KINDS`):
    #: the variational lower bounds (NWJ, InfoNCE, ...) say ``"lower"``, CLUB and L1Out
    #: ``"upper"``; estimators with no guaranteed side (KSG, binning, SMILE, ...) and plugins
    #: that declare nothing say ``"none"``. Named ``bound_kind``, not ``bound``, because the
    #: neural estimators' ``bound`` already names the objective they train.
    bound_kind: ClassVar[str] = "none"

    @classmethod
    def parameter_names(cls) -> list[str]:
        """The names of the keyword-only parameters of ``__init__``."""
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        """The parameters and their default values."""
        signature = inspect.signature(cls.__init__)
        return {
            p.name: p.default
            for p in signature.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }

    def get_params(self) -> dict[str, Any]:
        """The parameters this instance was configured with."""
        return {name: getattr(self, name) for name in self.parameter_names()}

    def with_params(self, **changes) -> Estimator:
        """A new instance with these parameters changed and the others as in this one."""
        return type(self)(**{**self.get_params(), **changes})

    def for_channel(self, channel: NoisyChannel) -> Estimator:
        """This estimator configured for a dataset's noisy channel (noise scale, what x is).

        Only estimators of :data:`NOISY_CHANNEL` implement it; the runner calls it before
        running one on a dataset that provides a channel.
        """
        raise NotImplementedError(f"estimator {self.name!r} does not estimate {NOISY_CHANNEL}")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def min_samples(self) -> int:
        """The smallest sample size this configuration can work with."""
        return 2

    def min_samples_reason(self) -> str:
        """Why :meth:`min_samples` is what it is, for error messages (e.g. "k + 1 for k=3")."""
        return ""

    def estimate(self, x, y) -> float:
        """Estimate I(X; Y) in nats from paired samples.

        Parameters
        ----------
        x : array-like of shape (n,) or (n, d_x)
        y : array-like of shape (n,) or (n, d_y)
            Paired samples: row i of x goes with row i of y. numpy arrays, lists and torch
            tensors are accepted.

        Returns
        -------
        float
            The estimate of the mutual information, in nats.
        """
        return self.estimate_with_extras(x, y).value

    def estimate_with_extras(self, x, y) -> Estimate:
        """Like :meth:`estimate`, but also return the estimator's diagnostics."""
        x, y = self.validate(x, y)
        result = self._estimate(x, y)
        if not isinstance(result, Estimate):
            result = Estimate(float(result))
        return Estimate(float(result.value), dict(result.extras))

    def validate(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Check the samples and return them as float64 arrays of shape (n, d)."""
        x, y = check_paired_samples(x, y)
        needed = self.min_samples()
        if x.shape[0] < needed:
            reason = self.min_samples_reason()
            raise InputError(
                f"too few samples for estimator {self.name!r}: it needs at least {needed}"
                + (f" ({reason})" if reason else "")
                + f", got {x.shape[0]}"
            )
        return x, y

    @abc.abstractmethod
    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float | Estimate:
        """Estimate MI in nats from validated float64 arrays of shape (n, d_x), (n, d_y)."""


Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class NoisyChannel:
    """The clean side of a noisy channel T = S + Z, Z ~ N(0, noise_std^2 I), for the
    estimators of :data:`NOISY_CHANNEL`.

    Attributes
    ----------
    sampler : callable (n, rng) -> (x, s)
        Paired samples of x and of the clean activations S (not the noisy T).
    noise_std : float
        Standard deviation of each coordinate of Z, in the units of S.
    x_is_label : bool
        True when x is a discrete class label rather than the input S is computed from.
    upstream_noise : bool
        True when S is not a function of the input x: a noisy layer beyond the first, whose
        S is spread by the noise of the earlier layers. Then h(T | X = x) is not h(Z), and an
        estimator must draw S given x (``conditional_sampler``) to estimate it.
    conditional_sampler : callable (x, draws, rng) -> s, optional
        For ``upstream_noise``: ``draws`` independent draws of S given each row of x (shape
        (m, d_x)), as an array of shape (m, draws, d_S). Picklable where the channel is to
        travel to other processes.

    Notes
    -----
    An estimator says it can use ``conditional_sampler`` by the class attribute
    ``handles_upstream_noise = True``; :meth:`unsupported_by` gives the reason one cannot
    run on a channel, which the runner records as the reason it was ``skipped``.
    """

    sampler: Sampler = field(repr=False)
    noise_std: float
    x_is_label: bool = False
    upstream_noise: bool = False
    conditional_sampler: Callable[[np.ndarray, int, np.random.Generator], np.ndarray] | None = (
        field(default=None, repr=False)
    )

    def unsupported_by(self, estimator: Estimator) -> str | None:
        """Why ``estimator`` cannot estimate I(X; S + Z) of this channel, or None if it can."""
        if not self.upstream_noise or self.x_is_label:
            return None
        if not getattr(estimator, "handles_upstream_noise", False):
            return (
                f"{estimator.name} takes S to be a function of x, but here S is spread by the "
                "noise of earlier layers (a noisy layer beyond the first)"
            )
        if self.conditional_sampler is None:
            return (
                f"{estimator.name} needs draws of S given x for a layer with noisy earlier "
                "layers, and this channel provides none"
            )
        return None


@dataclass(frozen=True, eq=False)
class Dataset:
    """A joint distribution of (X, Y) that can be sampled, with its true MI when known.

    Attributes
    ----------
    name : str
        The stable registry name (Beyond-Normal task id for the ground-truth tasks).
    dim_x, dim_y : int
        Dimensions of one sample of X and of Y.
    mutual_information : float
        I(X; Y) in nats: exact, ``math.inf`` where the true MI is infinite, a numerical reference
        value (see ``mutual_information_stderr``), or ``math.nan`` where it is unknown.
    mutual_information_stderr : float
        Standard error of ``mutual_information`` where it is only known numerically; 0 if exact.
    tags : frozenset of str
        Family and kind, e.g. ``{"ground-truth", "beyond-normal", "multinormal"}``.
    channel : NoisyChannel or None
        For a noisy layer T = S + Z: the clean activations S and the noise scale, which the
        estimators of :data:`NOISY_CHANNEL` need. ``sample`` returns (x, T) in any case.
    standardized : bool
        Whether :meth:`sample` standardizes each coordinate over the sample by default, as the
        published Beyond-Normal protocol does before an estimator sees the data (True for the
        Beyond-Normal tasks, False for the others). ``sample(..., standardize=False)`` gives
        the raw draw from the distribution.
    """

    name: str
    dim_x: int
    dim_y: int
    mutual_information: float
    sampler: Sampler = field(repr=False)
    mutual_information_stderr: float = 0.0
    tags: frozenset[str] = frozenset()
    description: str = ""
    standardized: bool = False
    channel: NoisyChannel | None = None

    @property
    def quantities(self) -> frozenset[str]:
        """The quantities this dataset has samples for: I(X; Y) always, and I(X; S + Z) when it
        provides a noisy channel's clean activations."""
        return frozenset({MUTUAL_INFORMATION} | ({NOISY_CHANNEL} if self.channel else set()))

    def sample_channel(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw n paired samples of (x, S), S the clean activations of the noisy channel.

        Raises
        ------
        ValueError
            When the dataset provides no noisy channel.
        """
        if self.channel is None:
            raise InputError(f"dataset {self.name!r} provides no noisy channel (clean activations)")
        return self._draw(self.channel.sampler, n, seed, self.dim_y)

    def sample_for(self, quantity: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The samples an estimator of ``quantity`` reads: (x, y), or (x, S) for a channel."""
        if quantity == NOISY_CHANNEL:
            return self.sample_channel(n, seed)
        if quantity != MUTUAL_INFORMATION:
            raise InputError(f"unknown quantity {quantity!r}; known: {', '.join(QUANTITIES)}")
        return self.sample(n, seed)

    def _draw(self, sampler, n, seed, dim_y) -> tuple[np.ndarray, np.ndarray]:
        n = check_integer(n, "n", minimum=1)
        seed = check_integer(seed, "seed", minimum=0)
        x, y = sampler(n, np.random.default_rng(seed))
        x = np.asarray(x, dtype=np.float64).reshape(n, self.dim_x)
        y = np.asarray(y, dtype=np.float64).reshape(n, dim_y)
        return x, y

    def sample(
        self, n: int, seed: int = 0, *, standardize: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw n paired samples; the same seed gives the same samples.

        Parameters
        ----------
        n : int
            Number of pairs.
        seed : int
            Seed of the random generator.
        standardize : bool, optional
            Standardize each coordinate of x and of y over this sample (zero mean, unit
            variance with ddof 0, :func:`mibench.core.preprocessing.standardize`). Defaults to the
            dataset's ``standardized`` attribute; ``False`` returns the raw draw.

        Returns
        -------
        x : ndarray of float64, shape (n, dim_x)
        y : ndarray of float64, shape (n, dim_y)
        """
        x, y = self._draw(self.sampler, n, seed, self.dim_y)
        if self.standardized if standardize is None else standardize:
            x, y = standardize_columns(x), standardize_columns(y)
        return x, y

    @property
    def truth_is_known(self) -> bool:
        return not math.isnan(self.mutual_information)


#: The keys of a record as it is shown to programs (``--format json``), in order.
RECORD_KEYS = (
    "estimator",
    "params",
    "dataset",
    "n",
    "seed",
    "estimate",
    "truth",
    "seconds",
    "status",
    "error",
    "suite",
    "mibench_version",
    "estimator_version",
    "scoring",
    "tags",
    "suites",
)

@dataclass
class Record:
    """One run of one estimator on one dataset at one sample size and seed.

    ``estimate`` and ``truth`` are in nats; ``truth`` is ``math.inf`` for infinite MI and None
    when unknown; ``estimate`` is None when the run failed or was skipped (``error`` then says
    why). ``suite`` names the suite, with its version, that the dataset was run and is scored
    under (``beyond-normal-v1``, ``network-layers-v1``, ...; None for an unregistered dataset),
    and ``mibench_version`` the version that produced the record. ``extras`` carries the
    estimator's diagnostics and the truth's standard error; it is kept in saved records but is
    not one of the :data:`RECORD_KEYS`.

    ``estimator`` is the estimator's identity (:func:`estimator_identity`: its registry name, or
    ``module:qualname`` for an unregistered class), ``estimator_version`` the version of the
    distribution that provides a plugin estimator (None for mibench's own), and ``params`` are
    canonical by their declared types (:func:`canonical_params`).

    What scoring needs travels with the record, so that a stored record is scored the same
    whatever mibench is installed later: ``scoring`` (how ``suite`` is scored: "solved",
    "bias" or "layers"), ``tags`` (the dataset's tags, sorted) and ``suites`` (every suite
    that holds the dataset). Records written before 0.3 lack them (None).
    """

    estimator: str
    params: dict[str, Any]
    dataset: str
    n: int
    seed: int
    estimate: float | None
    truth: float | None
    seconds: float
    status: str
    error: str | None = None
    suite: str | None = None
    mibench_version: str = ""
    estimator_version: str | None = None
    scoring: str | None = None
    tags: list[str] | None = None
    suites: list[str] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self, include_extras: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not include_extras:
            del data["extras"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


# --- what identifies an estimator setting ---------------------------------------------------


def estimator_identity(estimator: Estimator | type[Estimator]) -> str:
    """The name that identifies an estimator's class in records and run keys.

    The registry name of a registered class (the registry sets ``name`` on the class itself);
    ``module:qualname`` for any other class, so that two unregistered estimators (whose
    ``name`` is empty, or inherited from a registered parent) are never taken for one another.
    """
    cls = estimator if isinstance(estimator, type) else type(estimator)
    own = cls.__dict__.get("name")
    if isinstance(own, str) and own:
        return own
    return f"{cls.__module__}:{cls.__qualname__}"


def estimator_version(estimator: Estimator | type[Estimator]) -> str | None:
    """The version of the installed distribution that provides a plugin estimator's class;
    None for mibench's own estimators (the record's mibench version covers them) and for
    classes that come from no installed distribution (a script, a test)."""
    cls = estimator if isinstance(estimator, type) else type(estimator)
    top = cls.__module__.split(".")[0]
    if top == "mibench":
        return None
    return _distribution_version(top)


@functools.cache
def _distribution_version(top_level_module: str) -> str | None:
    from importlib import metadata

    for distribution in metadata.packages_distributions().get(top_level_module, []):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


@functools.cache
def _declared_types(cls: type) -> dict[str, tuple[type, ...]]:
    """Each keyword-only parameter of ``cls.__init__``: the plain types its annotation allows
    (``int | None`` -> (int, NoneType)); the type of its default where it has no annotation."""
    declared: dict[str, tuple[type, ...]] = {}
    # Subclasses first: a parameter an estimator passes on through **kwargs is declared by a
    # base class's __init__.
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            hints = typing.get_type_hints(init)
        except Exception:  # an annotation that does not evaluate: fall back on the defaults
            hints = {}
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind is not inspect.Parameter.KEYWORD_ONLY or parameter.name in declared:
                continue
            hint = hints.get(parameter.name)
            if hint is None:
                default = parameter.default
                allowed = () if default in (inspect.Parameter.empty, None) else (type(default),)
            else:
                union = typing.get_origin(hint) in (typing.Union, types.UnionType)
                allowed = tuple(typing.get_origin(t) or t
                                for t in (typing.get_args(hint) if union else (hint,)))
            declared[parameter.name] = tuple(t for t in allowed if isinstance(t, type))
    return declared


def _canonical_value(value: Any, allowed: tuple[type, ...]) -> Any:
    """``value`` as the declared type would hold it: 1, 1.0 and True are one setting of an
    ``int`` parameter (1), of a ``float`` one (1.0) and of a ``bool`` one (True)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(_canonical_value(item, ()) for item in value)
    if not allowed or value is None or type(value) in allowed:
        return value
    number = isinstance(value, (int, float))  # bool included
    if not number:
        return value
    if bool in allowed and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    if int in allowed and (isinstance(value, bool) or float(value).is_integer()):
        return int(value)
    if float in allowed:
        return float(value)
    return value


def canonical_params(estimator: Estimator | type[Estimator],
                     params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An estimator's parameters, each value canonical by its declared type.

    Parameters
    ----------
    estimator : Estimator or Estimator class
        Whose ``__init__`` declares the parameters (keyword-only, annotated or defaulted).
    params : mapping, optional
        The values; default the instance's own (:meth:`Estimator.get_params`).

    Returns
    -------
    dict
        The same keys; numbers converted to the declared type (``variant=1.0`` and
        ``variant=True`` of an ``int`` parameter become ``1``), numpy scalars as Python
        numbers. This is THE canonical form: run keys and records use it.
    """
    cls = estimator if isinstance(estimator, type) else type(estimator)
    if params is None:
        params = estimator.get_params()
    declared = _declared_types(cls)
    return {name: _canonical_value(value, declared.get(name, ())) for name, value in params.items()}
