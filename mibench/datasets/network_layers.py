"""Network layers as datasets, with the true MI of each; and the linear Gaussian channel.

Names
-----
``net-{input}-{activation}-{noise}-L{layer}-e{epoch}``: x is the network's input, y its hidden
layer ``layer`` (1 = first hidden layer) after ``epoch`` epochs of training (0 = the
initialisation). ``net-label-{input}-...`` is the same layer with x the class label (one
column, 0 ... n_classes - 1). ``noise`` is ``det`` (deterministic network) or ``noisy{sigma}``
(Gaussian noise of standard deviation sigma after every hidden activation, in training and in
sampling). For example ``net-szt12-tanh-det-L3-e40`` and ``net-label-szt12-relu-noisy0.1-L2-e40``.

Inputs (:mod:`mibench.networks.inputs`): ``szt12`` (all 4,096 patterns of 12 signs, X
uniform over them), ``digits`` (scikit-learn's 1,797 images, X uniform over them) and
``gaussian-mixture`` (four Gaussians in R^3, X with a density).

Sampling
--------
``sample(n, seed)`` draws n inputs (uniformly, with replacement, from a finite input set; from
the density for the continuous input), runs them through the network and returns (x, layer) --
(label, layer) for ``net-label-`` -- with fresh noise, in every hidden layer up to the observed
one, for a noisy network. The layer of a noisy network is the noisy T_l = S_l + Z_l.
A noisy layer also provides its noisy channel (``dataset.channel``): samples of (x, S_l) with
the clean S_l, and the noise scale, which the estimators of I(X; S + Z) (``noisy-sp``,
``kde-pairwise``) read instead of T_l; :func:`sample_clean_and_noisy` returns (x, S_l, T_l).

Truth
-----
- deterministic layer, finite input: I(X; L) = H(L), exactly, by grouping the identical rows
  of the layer over the input set (exact for the network as computed, in float64); with the
  label, I(Y; L) = H(Y) + H(L) - H(Y, L) the same way;
- deterministic layer, continuous input: I(X; L) = infinity when L is not discrete (checked on
  4,096 draws: more than 64 distinct rows; an analytic or injective activation of a
  non-constant affine map has no atoms, and a ReLU layer's atoms are the few linear pieces it
  maps to a point); with the label, for an injective network (tanh
  or leaky ReLU, every weight matrix of full column rank, checked), L determines X and
  I(Y; L) = I(Y; X), computed by Monte Carlo from the known posterior;
- noisy layer 1 with a finite input: I(X; T_1) = h(mixture of N(S_1(x), sigma^2 I) over the
  input set) - h(Z), by the Monte Carlo of :func:`mibench.core.gaussian_mixture.
  noisy_channel_mutual_information` (the ``noisy-sp`` formula on the exact input law), with
  its standard error;
- noisy layer l with the label: I(Y; T_l) likewise, the mixtures running over the inputs of
  each class; for l >= 2, S_l depends on the noise of earlier layers, so every input is
  propagated 4 times and the conditional mixtures use those samples. Their finite number
  biases the value; the standard error adds a third of the change from 1 to 4 propagations,
  the remaining bias if it decays like 1/m, as observed (szt12-tanh-noisy0.1-L2: 0.660, 0.649,
  0.646 nats with 1, 4, 16 propagations).

Not registered, for want of a trustworthy truth at CI cost: I(X; T_l) of a noisy network for
l >= 2, where S_l given X is itself spread by the upstream noise and the sample-propagation
value converges far too slowly in the number of propagated samples (szt12-tanh-noisy0.1,
layer 2: 6.09, 5.58, 5.27, 5.13 nats with 1, 4, 16, 64 samples per input); and noisy layers
of the continuous input, where the value still grows with the number of inputs in the mixture
(gaussian-mixture-tanh-noisy0.1, layer 1: 5.93, 6.09, 6.15 nats with 2,048, 8,192, 32,768).
The linear Gaussian channel below is the continuous-input noisy case with an exact truth.

The default suite of ``mibench run`` includes the datasets of :data:`DEFAULT_NETWORK_SUITE`.
Networks are trained when the first dataset that needs them is built (a few seconds each) and
their weights and the truths are kept in the per-user disk cache (:mod:`mibench.core.cache`), so
each is trained and computed once per machine; registration and listing train nothing.
"""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import asdict, dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from mibench.core.cache import entry_path, read_json_fields, write_atomically, write_json
from mibench.core.contracts import Dataset, NoisyChannel
from mibench.core.gaussian_mixture import noisy_channel_mutual_information
from mibench.core.validation import InputError
from mibench.datasets.registry import DEFAULT_SUITE_TAG, DatasetSummary, register_dataset
from mibench.networks._constants import ACTIVATIONS
from mibench.networks.inputs import (
    INPUT_DIMENSIONS,
    Inputs,
    gaussian_mixture_log_posterior,
    get_inputs,
)

if TYPE_CHECKING:
    from mibench.networks.training import TrainedNetwork

__all__ = [
    "DEFAULT_NETWORK_SUITE",
    "LINEAR_CHANNELS",
    "RECIPES",
    "LayerSpec",
    "NetworkRecipe",
    "linear_gaussian_channel",
    "linear_gaussian_channel_mutual_information",
    "exact_label_information",
    "rows_entropy",
    "sample_clean_and_noisy",
    "trained_network",
]


@dataclass(frozen=True)
class NetworkRecipe:
    """How the network of one input is built and trained (CI-sized: seconds)."""

    widths: tuple[int, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int = 0


#: One recipe per input. szt12 uses the 12-10-7-5-4-3-2 architecture of Shwartz-Ziv & Tishby.
#: The continuous input's widths never shrink, so every weight matrix can have full column
#: rank and a tanh network is injective.
RECIPES: dict[str, NetworkRecipe] = {
    "szt12": NetworkRecipe(widths=(10, 7, 5, 4, 3), epochs=40, batch_size=512, learning_rate=0.02),
    "digits": NetworkRecipe(widths=(32, 16, 8), epochs=40, batch_size=256, learning_rate=0.01),
    "gaussian-mixture": NetworkRecipe(
        widths=(6, 6, 6), epochs=40, batch_size=256, learning_rate=0.02
    ),
}

# Fixed seeds of the Monte Carlo truths, so that a dataset's truth is the same in every process.
_TRUTH_SEED = 20190601
# Monte Carlo points of a noisy truth (about; rounded to whole draws per centre).
_TRUTH_POINTS = 8192
# Propagated samples per input for the conditional mixtures of a noisy layer beyond the first.
_PROPAGATIONS = 4
# Draws for the Monte Carlo of I(Y; X) of the continuous input.
_POSTERIOR_DRAWS = 200_000
# Draws used to decide whether a deterministic layer of a continuous input is discrete.
_DISCRETENESS_DRAWS = 4096


def _network_key(inputs: str, activation: str, sigma: float) -> dict:
    """Everything that determines a trained network (the library versions are added by the cache)."""
    return {
        "what": "trained network",
        "recipe": asdict(RECIPES[inputs]),
        "inputs": inputs,
        "activation": activation,
        "sigma": float(sigma),
    }


@cache
def trained_network(inputs: str, activation: str, sigma: float) -> TrainedNetwork:
    """The network of ``inputs`` with this activation and noise, trained once per machine.

    Snapshots are kept at the log-spaced epochs 0, 1, 2, 4, 9, 19, 40. The weights are read
    from the disk cache (:mod:`mibench.core.cache`) when an earlier process trained the same
    network with the same library versions; otherwise it is trained and stored there.
    """
    import torch  # here: registering must not import torch

    from mibench.networks.training import TrainedNetwork, train

    path = entry_path("networks", _network_key(inputs, activation, sigma), ".pt")
    try:
        with path.open("rb") as file:
            stored = torch.load(file, weights_only=True)
        # A structurally wrong entry (another layout, a foreign file) is missing too.
        if (isinstance(stored, dict) and isinstance(stored.get("config"), dict)
                and isinstance(stored.get("snapshots"), dict) and stored["snapshots"]
                and all(isinstance(state, dict) for state in stored["snapshots"].values())
                and isinstance(stored.get("history"), dict)):
            return TrainedNetwork(
                config=stored["config"],
                snapshots=stored["snapshots"],
                history=stored["history"],
                inputs=get_inputs(inputs),
            )
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, AttributeError, EOFError,
            pickle.UnpicklingError):
        pass  # missing or unreadable: train it (again)
    recipe = RECIPES[inputs]
    network = train(
        get_inputs(inputs),
        widths=recipe.widths,
        activation=activation,
        sigma=sigma,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        seed=recipe.seed,
    )
    payload = {"config": network.config, "snapshots": network.snapshots, "history": network.history}
    try:
        write_atomically(path, lambda file: torch.save(payload, file))
    except OSError:
        pass  # an unwritable cache costs time, not correctness
    return network


def rows_entropy(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """H of the law putting mass ``weights`` (default uniform) on the rows of ``values``, in nats.

    Identical rows are one outcome: for L = f(X) with X uniform over a finite set, this is
    H(L) = I(X; L).
    """
    _, inverse = np.unique(np.asarray(values), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if weights is None:
        weights = np.full(inverse.size, 1.0 / inverse.size)
    mass = np.bincount(inverse, weights=weights)
    mass = mass[mass > 0]
    return float(-(mass * np.log(mass)).sum())


def exact_label_information(layer: np.ndarray, labels: np.ndarray) -> float:
    """I(Y; L) = H(L) + H(Y) - H(L, Y) over a finite input set, exactly, in nats.

    Parameters
    ----------
    layer : ndarray, shape (m, d)
        The layer's row for each of the m equally likely inputs.
    labels : ndarray, shape (m,)
    """
    labels = np.asarray(labels).reshape(-1, 1).astype(np.float64)
    joint = np.column_stack([layer, labels])
    return rows_entropy(layer) + rows_entropy(labels) - rows_entropy(joint)


_NAME = re.compile(
    r"^net-(?P<label>label-)?(?P<inputs>szt12|digits|gaussian-mixture)-(?P<activation>[a-z_]+)"
    r"-(?P<noise>det|noisy[0-9.]+)-L(?P<layer>[0-9]+)-e(?P<epoch>[0-9]+)$"
)


@dataclass(frozen=True)
class LayerSpec:
    """One hidden layer of one trained network at one epoch, with x the input or the label.

    Attributes
    ----------
    inputs : str
        ``szt12``, ``digits`` or ``gaussian-mixture``.
    activation : str
    sigma : float
        Noise standard deviation; 0 for a deterministic network.
    layer : int
        Hidden layer, 1 = first.
    epoch : int
        Training epoch of the snapshot (one of 0, 1, 2, 4, 9, 19, 40).
    target : {"input", "label"}
        What x is.
    """

    inputs: str
    activation: str
    sigma: float
    layer: int
    epoch: int
    target: str = "input"

    def __post_init__(self):
        if self.inputs not in RECIPES:
            raise InputError(f"unknown input {self.inputs!r}; valid: {', '.join(RECIPES)}")
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation {self.activation!r}; valid: {', '.join(ACTIVATIONS)}")
        if not 1 <= self.layer <= len(RECIPES[self.inputs].widths):
            raise InputError(
                f"the {self.inputs} network has hidden layers 1 to "
                f"{len(RECIPES[self.inputs].widths)}, not {self.layer}"
            )
        if self.target not in ("input", "label"):
            raise InputError(f"target must be 'input' or 'label', got {self.target!r}")

    @property
    def name(self) -> str:
        noise = "det" if self.sigma == 0 else f"noisy{self.sigma:g}"
        label = "label-" if self.target == "label" else ""
        return f"net-{label}{self.inputs}-{self.activation}-{noise}-L{self.layer}-e{self.epoch}"

    @classmethod
    def parse(cls, name: str) -> LayerSpec:
        """The spec of a dataset name such as ``net-szt12-tanh-noisy0.1-L1-e40``."""
        match = _NAME.match(name)
        if match is None:
            raise InputError(
                f"{name!r} is not a network layer name "
                "(net-[label-]{input}-{activation}-{det|noisy<sigma>}-L{layer}-e{epoch})"
            )
        noise = match["noise"]
        return cls(
            inputs=match["inputs"],
            activation=match["activation"],
            sigma=0.0 if noise == "det" else float(noise[len("noisy") :]),
            layer=int(match["layer"]),
            epoch=int(match["epoch"]),
            target="label" if match["label"] else "input",
        )

    @property
    def stochastic(self) -> bool:
        return self.sigma > 0

    def network(self) -> TrainedNetwork:
        return trained_network(self.inputs, self.activation, self.sigma)

    def tags(self) -> frozenset[str]:
        return frozenset(
            {
                "network",
                "stochastic" if self.stochastic else "deterministic",
                self.inputs,
                self.activation,
                "label" if self.target == "label" else "input",
            }
        )


def sample_clean_and_noisy(
    spec: LayerSpec | str, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw n samples of (x, S_l, T_l): x the inputs (or labels, shape (n, 1)), S_l clean.

    The noise of a noisy network (in layers 1 to l) is drawn from a generator seeded by
    ``rng``; for a deterministic network T_l is S_l.
    """
    spec = LayerSpec.parse(spec) if isinstance(spec, str) else spec
    inputs = get_inputs(spec.inputs)
    x, labels = inputs.sample(n, rng)
    activations = spec.network().activations(
        x, spec.epoch, seed=int(rng.integers(0, 2**62))
    )
    clean = activations.clean[spec.layer - 1]
    noisy = activations.noisy[spec.layer - 1]
    first = labels[:, None].astype(np.float64) if spec.target == "label" else x
    return first, clean, noisy


def _propagated(spec: LayerSpec, inputs: Inputs, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """Clean S_l of every input of a finite set, ``copies`` times each (fresh upstream noise)."""
    x = np.repeat(inputs.x, copies, axis=0)
    activations = spec.network().activations(x, spec.epoch, seed=_TRUTH_SEED)
    return activations.clean[spec.layer - 1], np.repeat(inputs.labels, copies)


def _truth_key(spec: LayerSpec) -> dict:
    """Everything that determines the truth of ``spec`` (versions are added by the cache)."""
    return {
        "what": "network layer truth",
        "spec": asdict(spec),
        "network": _network_key(spec.inputs, spec.activation, spec.sigma),
        "monte_carlo": {
            "seed": _TRUTH_SEED,
            "points": _TRUTH_POINTS,
            "propagations": _PROPAGATIONS,
            "posterior_draws": _POSTERIOR_DRAWS,
            "discreteness_draws": _DISCRETENESS_DRAWS,
        },
    }


def cached_truth(spec: LayerSpec) -> tuple[float, float, str] | None:
    """The truth of ``spec`` if an earlier process computed it (disk cache), else None."""
    # A damaged or foreign entry is missing (computed again), never an error on every run.
    stored = read_json_fields("truths", _truth_key(spec),
                              {"value": float, "stderr": float, "how": str})
    if stored is None:
        return None
    return stored["value"], stored["stderr"], stored["how"]


def _truth(spec: LayerSpec) -> tuple[float, float, str]:
    """(MI in nats, its standard error, how it was obtained), computed once per machine."""
    stored = cached_truth(spec)
    if stored is not None:
        return stored
    value, stderr, how = _compute_truth(spec)
    write_json("truths", _truth_key(spec), {"value": value, "stderr": stderr, "how": how})
    return value, stderr, how


def _compute_truth(spec: LayerSpec) -> tuple[float, float, str]:
    """(MI in nats, its standard error, how it was obtained) for a layer spec."""
    inputs = get_inputs(spec.inputs)
    network = spec.network()
    if not spec.stochastic and inputs.finite:
        layer = network.activations(inputs.x, spec.epoch).clean[spec.layer - 1]
        if spec.target == "input":
            return rows_entropy(layer), 0.0, "exact H(L), grouping identical rows"
        value = exact_label_information(layer, inputs.labels)
        return value, 0.0, "exact H(L) + H(Y) - H(L, Y), grouping identical rows"

    if not spec.stochastic:
        return _continuous_deterministic_truth(spec, inputs, network)

    if not inputs.finite:
        raise InputError(f"{spec.name}: no truth for a noisy layer of a continuous input")
    if spec.target == "input" and spec.layer > 1:
        raise InputError(f"{spec.name}: no truth for I(X; T_l), l >= 2, of a noisy network")
    rng = np.random.default_rng(_TRUTH_SEED)
    if spec.target == "input":
        centres = network.activations(inputs.x, spec.epoch).clean[0]
        _, groups = np.unique(inputs.x, axis=0, return_inverse=True)
        result = noisy_channel_mutual_information(
            groups.reshape(-1), centres, spec.sigma, draws=_draws(len(centres)), rng=rng
        )
        return result.value, result.stderr, "Monte Carlo of h(mixture over the inputs) - h(Z)"

    def label_information(copies: int):
        centres, groups = _propagated(spec, inputs, copies)
        draws = _draws(len(centres))
        subsample = min(len(centres), _TRUTH_POINTS) if draws == 1 else None
        return noisy_channel_mutual_information(
            groups, centres, spec.sigma, draws=draws, rng=rng, subsample=subsample
        )

    if spec.layer == 1:
        result = label_information(1)
        return result.value, result.stderr, "Monte Carlo of h(T) - sum_y p(y) h(T | Y = y)"
    one, several = label_information(1), label_information(_PROPAGATIONS)
    bias_allowance = abs(one.value - several.value) / (_PROPAGATIONS - 1)
    stderr = math.hypot(several.stderr, bias_allowance)
    return (
        several.value,
        stderr,
        f"sample propagation with {_PROPAGATIONS} noisy copies of every input; the standard "
        "error includes an allowance for their finite number",
    )


def _draws(centres: int) -> int:
    return max(1, round(_TRUTH_POINTS / centres))


def _continuous_deterministic_truth(spec: LayerSpec, inputs: Inputs, network: TrainedNetwork):
    if spec.target == "label":
        if spec.activation not in ("tanh", "leaky_relu", "sigmoid", "linear"):
            raise InputError(f"{spec.name}: I(Y; L) is only known for an injective network")
        model = network.model(spec.epoch)
        for index, hidden in enumerate(model.hidden[: spec.layer]):
            weight = hidden.linear.weight.detach().numpy()
            if np.linalg.matrix_rank(weight) < weight.shape[1]:
                raise RuntimeError(
                    f"{spec.name}: the weights of layer {index + 1} lost full column rank, so "
                    "the layer need not be injective and I(Y; L) = I(Y; X) does not hold"
                )
        # Rao-Blackwellised: I(Y; X) = H(Y) + E_x sum_y p(y | x) log p(y | x).
        x, _ = inputs.sample(_POSTERIOR_DRAWS, np.random.default_rng(_TRUTH_SEED))
        log_posterior = gaussian_mixture_log_posterior(x)
        terms = (np.exp(log_posterior) * log_posterior).sum(axis=1)
        value = math.log(inputs.n_classes) + float(terms.mean())
        stderr = float(terms.std(ddof=1) / math.sqrt(terms.size))
        return value, stderr, "I(Y; X) (the network is injective), by Monte Carlo"
    x, _ = inputs.sample(_DISCRETENESS_DRAWS, np.random.default_rng(_TRUTH_SEED))
    layer = network.activations(x, spec.epoch).clean[spec.layer - 1]
    distinct = np.unique(layer, axis=0).shape[0]
    if distinct == 1:
        return 0.0, 0.0, "the layer is constant"
    if distinct > 64:
        return math.inf, 0.0, "infinite: the layer of a continuous input is not discrete"
    raise RuntimeError(
        f"{spec.name}: the layer took only {distinct} values on {_DISCRETENESS_DRAWS} draws; "
        "its law looks discrete and its entropy is not computed"
    )


def _build(spec: LayerSpec, extra_tags: frozenset[str]) -> Dataset:
    value, stderr, how = _truth(spec)
    inputs = get_inputs(spec.inputs)
    network = spec.network()
    dim_x = 1 if spec.target == "label" else inputs.dim

    def sample(n, rng):
        x, _, noisy = sample_clean_and_noisy(spec, n, rng)
        return x, noisy

    def sample_clean(n, rng):
        x, clean, _ = sample_clean_and_noisy(spec, n, rng)
        return x, clean

    channel = (
        NoisyChannel(sample_clean, spec.sigma, x_is_label=spec.target == "label")
        if spec.stochastic
        else None
    )

    noise = (
        f"Gaussian noise of standard deviation {spec.sigma:g} after every hidden activation"
        if spec.stochastic
        else "deterministic"
    )
    what = "class label" if spec.target == "label" else "input"
    return Dataset(
        name=spec.name,
        dim_x=dim_x,
        dim_y=network.config["widths"][spec.layer - 1],
        mutual_information=value,
        mutual_information_stderr=stderr,
        sampler=sample,
        channel=channel,
        tags=spec.tags() | extra_tags,
        description=(
            f"x: {what} of {spec.inputs}; y: hidden layer {spec.layer} of a {spec.activation} MLP "
            f"{RECIPES[spec.inputs].widths} ({noise}) after {spec.epoch} epochs; truth: {how}"
        ),
    )


def _specs() -> list[LayerSpec]:
    """The registered network layers (about a hundred), in registration order."""
    specs: list[LayerSpec] = []
    szt_layers = range(1, len(RECIPES["szt12"].widths) + 1)
    for activation in ("tanh", "relu"):
        for epoch in (0, 4, 40):
            specs += [LayerSpec("szt12", activation, 0.0, layer, epoch) for layer in szt_layers]
            specs += [LayerSpec("szt12", activation, sigma, 1, epoch) for sigma in (0.1, 0.2)]
        for layer in szt_layers:
            specs.append(LayerSpec("szt12", activation, 0.0, layer, 40, "label"))
            specs.append(LayerSpec("szt12", activation, 0.1, layer, 40, "label"))
    for activation in ("tanh", "relu"):
        specs += [LayerSpec("digits", activation, 0.0, layer, 40) for layer in (1, 2, 3)]
        specs.append(LayerSpec("digits", activation, 0.1, 1, 40))
    for activation in ("tanh", "leaky_relu", "relu"):
        for epoch in (0, 40):
            specs += [LayerSpec("gaussian-mixture", activation, 0.0, layer, epoch) for layer in (1, 2, 3)]
    for activation in ("tanh", "leaky_relu"):
        specs += [
            LayerSpec("gaussian-mixture", activation, 0.0, layer, 40, "label") for layer in (1, 3)
        ]
    return specs


#: The network layers in the default suite of ``mibench run``: deterministic and noisy, tanh
#: and ReLU, layers of szt12 and of the continuous input (6 networks to train).
DEFAULT_NETWORK_SUITE = (
    "net-szt12-tanh-det-L1-e40",
    "net-szt12-tanh-det-L3-e40",
    "net-szt12-relu-det-L3-e40",
    "net-szt12-tanh-noisy0.1-L1-e40",
    "net-szt12-relu-noisy0.1-L1-e40",
    "net-label-szt12-tanh-noisy0.1-L3-e40",
    "net-label-szt12-tanh-det-L5-e40",
    "net-gaussian-mixture-tanh-det-L1-e40",
    "net-gaussian-mixture-tanh-det-L3-e40",
    "net-gaussian-mixture-relu-det-L2-e40",
    "net-label-gaussian-mixture-tanh-det-L3-e40",
)


# --- The linear Gaussian channel -----------------------------------------------------------


def linear_gaussian_channel_mutual_information(weight, covariance, sigma: float) -> float:
    """I(X; W X + Z) for X ~ N(0, Sigma), Z ~ N(0, sigma^2 I): 1/2 log det(I + W Sigma W^T / sigma^2).

    Infinite for sigma = 0 (and W != 0): T = W X is then continuous and a function of X.
    """
    weight = np.atleast_2d(np.asarray(weight, dtype=np.float64))
    covariance = np.atleast_2d(np.asarray(covariance, dtype=np.float64))
    if sigma == 0:
        return math.inf if np.any(weight != 0) else 0.0
    signal = weight @ covariance @ weight.T / sigma**2
    sign, logdet = np.linalg.slogdet(np.eye(weight.shape[0]) + signal)
    return 0.5 * float(logdet)


#: (dim_x, dim_t, sigma) of the registered linear channels.
LINEAR_CHANNELS = ((3, 3, 0.5), (5, 5, 1.0), (3, 3, 0.0))


def linear_gaussian_channel_parameters(dim_x: int, dim_t: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed W (dim_t, dim_x) and Sigma (dim_x, dim_x) of ``linear-gaussian-channel-*``.

    W has independent N(0, 1 / dim_x) entries and Sigma = A A^T / dim_x + I / 2 with A
    standard normal, both from a fixed seed.
    """
    rng = np.random.default_rng([dim_x, dim_t, 1])
    weight = rng.standard_normal((dim_t, dim_x)) / math.sqrt(dim_x)
    factor = rng.standard_normal((dim_x, dim_x))
    covariance = factor @ factor.T / dim_x + 0.5 * np.eye(dim_x)
    return weight, covariance


def linear_gaussian_channel(dim_x: int, dim_t: int, sigma: float) -> Dataset:
    """T = W X + Z with X ~ N(0, Sigma), Z ~ N(0, sigma^2 I); exact MI (infinite for sigma = 0)."""
    weight, covariance = linear_gaussian_channel_parameters(dim_x, dim_t)
    cholesky = np.linalg.cholesky(covariance)

    def sample_clean(n, rng):
        x = rng.standard_normal((n, dim_x)) @ cholesky.T
        return x, x @ weight.T

    def sample(n, rng):
        x, clean = sample_clean(n, rng)
        return x, clean + sigma * rng.standard_normal((n, dim_t))

    return Dataset(
        name=f"linear-gaussian-channel-{dim_x}-{dim_t}-{sigma:g}",
        dim_x=dim_x,
        dim_y=dim_t,
        mutual_information=linear_gaussian_channel_mutual_information(weight, covariance, sigma),
        sampler=sample,
        channel=NoisyChannel(sample_clean, sigma) if sigma > 0 else None,
        tags=_linear_tags(sigma),
        description=(
            f"T = W X + Z, X ~ N(0, Sigma) in R^{dim_x}, Z ~ N(0, {sigma:g}^2 I) in R^{dim_t}; "
            "I = 1/2 log det(I + W Sigma W^T / sigma^2)"
        ),
    )


def _linear_tags(sigma: float) -> frozenset[str]:
    return frozenset({"linear-gaussian-channel", "stochastic" if sigma > 0 else "deterministic"})


def _summary(spec: LayerSpec) -> DatasetSummary:
    """Dimensions and, if this machine computed it before, the truth; trains nothing."""
    truth = cached_truth(spec)
    return DatasetSummary(
        dim_x=1 if spec.target == "label" else INPUT_DIMENSIONS[spec.inputs],
        dim_y=RECIPES[spec.inputs].widths[spec.layer - 1],
        mutual_information=None if truth is None else truth[0],
        mutual_information_stderr=None if truth is None else truth[1],
    )


def _register() -> None:
    default = set(DEFAULT_NETWORK_SUITE)
    for spec in _specs():
        extra = frozenset({DEFAULT_SUITE_TAG}) if spec.name in default else frozenset()
        register_dataset(
            spec.name,
            lambda spec=spec, extra=extra: _build(spec, extra),
            tags=spec.tags() | extra,
            summary=lambda spec=spec: _summary(spec),
        )
    for dim_x, dim_t, sigma in LINEAR_CHANNELS:
        register_dataset(
            f"linear-gaussian-channel-{dim_x}-{dim_t}-{sigma:g}",
            lambda dim_x=dim_x, dim_t=dim_t, sigma=sigma: linear_gaussian_channel(dim_x, dim_t, sigma),
            tags=_linear_tags(sigma),
        )


_register()
