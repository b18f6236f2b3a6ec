"""The talk's second claim: with a discrete input the IB functional is finite but piecewise
constant in the weights, so its gradient is zero almost everywhere.

Two deterministic classifiers 12-10-7-5-4-3-2 of ``szt12`` (all 4,096 sign patterns, X uniform
over them), one with ReLU and one with tanh, trained as for the ``net-szt12-*-det`` datasets. The
weights theta_0 of each are moved along a random line theta(t) = theta_0 + t d, t in [-1, 1],
where d is Gaussian, rescaled per weight tensor to that tensor's norm. At every point of the line
(1,000; 150 with ``quick``), over all 4,096 inputs:

- ``exact-entropy``: the true I(X; L_l) = H(L_l) of each hidden layer l, exactly, by grouping
  identical rows of the layer (float64). For the ReLU network it takes a handful of distinct
  values per layer along the line (dead units merge inputs): piecewise constant. For the tanh
  network it is log 4,096 everywhere (tanh is injective): constant, the control that a
  "steps" verdict must fail;
- ``binning`` (tanh network): the 30-bin estimate of Shwartz-Ziv & Tishby (30 equal bins on
  [-1, 1] per unit, X as symbols), = H(binned L_l);
- ``argmax-rule``: the deterministic decision Y_hat = arg max of the logits (tanh network):
  I(X; Y_hat) = H(Y_hat), piecewise constant too; including the decision rule does not cure
  the zero gradient when the rule is deterministic;
- ``softmax-rule``: a stochastic decision, Y_hat drawn from softmax(logits) (in effect noise on
  the output): I(X; Y_hat) = H(mean_x softmax) - mean_x H(softmax), exact over the inputs;
- ``noisy-layer``: the remedy of a noisy layer (tanh network), I(X; T_1) for T_1 = S_1 + Z,
  Z ~ N(0, 0.1^2 I), by Monte Carlo: h(T_1) from a fixed set of query points, the mixture density
  summed over all 4,096 inputs exactly, and h(T_1 | X) = h(Z). The query inputs and noise are the
  same at every t (common random numbers), so the estimate is a smooth function of theta.

At each point the finite difference f(theta(t + h)) - f(theta(t)) with h = 1e-8; the fraction of
points where it is exactly zero, the number of distinct values along the line, and the gradient
magnitude |difference| / h. Verdicts, each with its control (the same check where it must fail):
the ReLU exact H(L_l) is flat at >= 95% of the points (control: the noisy layer) and takes >= 3
distinct values in every layer (control: the tanh network, constant); the 30-bin estimate and the
arg-max rule are flat at >= 95% (controls: the softmax rule); the softmax rule and the noisy
layer are flat at <= 5% (controls: the arg-max rule and the ReLU exact H(L_1)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mibench.core.threads import torch_threads
from mibench.experiments._common import checked_verdict, estimate_value
from mibench.experiments.contract import ExperimentResult, register_experiment

__all__ = ["NOISE_SIGMA", "STEP", "argmax_rule_information", "decision_rule_information",
           "piecewise_constant"]

#: The finite-difference step in t.
STEP = 1e-8
#: Noise of the noisy-layer remedy.
NOISE_SIGMA = 0.1
_BINS = 30
_DIRECTION_SEED = 12
_QUERY_SEED = 13
# The figure zooms into the 30-bin estimate of this layer on [start, start + width].
_ZOOM_LAYER, _ZOOM_START, _ZOOM_WIDTH = 5, 0.3, 1e-4


@dataclass(frozen=True)
class _Settings:
    points: int
    query_points: int  # Monte Carlo query points of the noisy layer's h(T_1)
    zoom_points: int  # points of the zoomed staircase in the figure


_SIZES = {
    "default": _Settings(points=1000, query_points=2048, zoom_points=400),
    "quick": _Settings(points=150, query_points=256, zoom_points=120),
    "tiny": _Settings(points=12, query_points=16, zoom_points=8),
}


class _Line:
    """The network at theta_0 + t d: hidden layers and logits on all 4,096 inputs."""

    def __init__(self, seed: int, activation: str = "tanh"):
        import torch

        from mibench.datasets.network_layers import trained_network

        with torch_threads(1):
            network = trained_network("szt12", activation, 0.0)
        self.inputs = network.inputs
        self.model = network.model()
        self.theta0 = [p.detach().clone() for p in self.model.parameters()]
        generator = torch.Generator().manual_seed(seed)
        direction = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in self.theta0]
        self.direction = [d * (p.norm() / d.norm()) for d, p in zip(direction, self.theta0)]
        self.x = torch.tensor(self.inputs.x, dtype=torch.float64)

    def at(self, t: float) -> tuple[list[np.ndarray], np.ndarray]:
        """(hidden layers, logits) at theta(t), float64 arrays of shape (4096, width)."""
        import torch

        # One thread: 4,096 x 12 matrices are too small for more to pay.
        with torch.no_grad(), torch_threads(1):
            for parameter, start, step in zip(self.model.parameters(), self.theta0, self.direction):
                parameter.copy_(start + t * step)
            clean, _ = self.model.layers(self.x)
            logits = self.model.output(clean[-1])
        return [layer.numpy().copy() for layer in clean], logits.numpy().copy()


def argmax_rule_information(logits: np.ndarray) -> float:
    """I(X; Y_hat) = H(Y_hat) for X uniform over the rows and Y_hat = arg max of the row, in nats."""
    counts = np.bincount(np.argmax(logits, axis=1), minlength=logits.shape[1])
    p = counts[counts > 0] / logits.shape[0]
    return float(-np.sum(p * np.log(p)))


def decision_rule_information(logits: np.ndarray) -> float:
    """I(X; Y_hat) for X uniform over the rows and Y_hat ~ softmax(logits row), in nats."""
    from scipy.special import log_softmax

    log_p = log_softmax(logits, axis=1)
    p = np.exp(log_p)
    conditional = -np.sum(p * log_p, axis=1).mean()
    marginal = p.mean(axis=0)
    return float(-np.sum(marginal * np.log(marginal)) - conditional)


class _NoisyLayerInformation:
    """I(X; S + Z) for X uniform over the rows of S, with fixed query points (smooth in S)."""

    def __init__(self, n_inputs: int, dim: int, query_points: int, sigma: float, seed: int):
        rng = np.random.default_rng(seed)
        self.rows = rng.integers(0, n_inputs, size=query_points)
        self.noise = sigma * rng.standard_normal((query_points, dim))
        self.sigma = sigma

    def __call__(self, clean: np.ndarray) -> float:
        query = clean[self.rows] + self.noise
        # exponent[i, j] = -|query_i - clean_j|^2 / (2 sigma^2), built in place (it is large).
        exponent = query @ clean.T
        exponent *= 2.0
        exponent -= np.sum(query**2, axis=1)[:, None]
        exponent -= np.sum(clean**2, axis=1)[None, :]
        exponent *= 0.5 / self.sigma**2
        # log p_T(query) - log p_Z(noise): the Gaussian normalisations cancel. A log-sum-exp by
        # hand: scipy's allocates several temporaries of this size.
        peak = exponent.max(axis=1)
        exponent -= peak[:, None]
        np.exp(exponent, out=exponent)
        log_mixture = np.log(exponent.sum(axis=1)) + peak - math.log(len(clean))
        log_noise = -0.5 * np.sum(self.noise**2, axis=1) / self.sigma**2
        return float(np.mean(log_noise - log_mixture))


def _functionals(relu: _Line, tanh: _Line, noisy: _NoisyLayerInformation,
                 t: float) -> dict[tuple, float]:
    from mibench.datasets.network_layers import rows_entropy
    from mibench.estimators import get_estimator

    binning = get_estimator("binning", n_bins=_BINS, value_range=(-1.0, 1.0), discrete_x=True)
    values = {}
    relu_layers, _ = relu.at(t)
    for index, layer in enumerate(relu_layers, start=1):
        values[("exact-entropy", "relu", index)] = rows_entropy(layer)
    layers, logits = tanh.at(t)
    for index, layer in enumerate(layers, start=1):
        values[("exact-entropy", "tanh", index)] = rows_entropy(layer)
        # X is discrete and the layer a function of it: I(X; L) = H(L), the record's truth.
        values[("binning", "tanh", index)] = estimate_value(
            binning, tanh.inputs.x, layer, truth=values[("exact-entropy", "tanh", index)],
            sample=f"tanh L{index} at t={t:.6g}", network="tanh", layer=index, t=t)
    values[("argmax-rule", "tanh", None)] = argmax_rule_information(logits)
    values[("softmax-rule", "tanh", None)] = decision_rule_information(logits)
    values[("noisy-layer", "tanh", 1)] = noisy(layers[0])
    return values


_PARAMS = {
    "exact-entropy": {},
    "binning": {"n_bins": _BINS, "value_range": [-1.0, 1.0], "discrete_x": True},
    "argmax-rule": {"output": "argmax"},
    "softmax-rule": {"output": "softmax"},
    "noisy-layer": {"sigma": NOISE_SIGMA},
}
#: What each functional is, for the figure and the tables.
_NAMES = {
    "exact-entropy": "exact H(L_l)",
    "binning": "30-bin estimate",
    "argmax-rule": "arg-max decision rule I(X; Y_hat) = H(Y_hat)",
    "softmax-rule": "stochastic (softmax-sampled) decision rule I(X; Y_hat)",
    "noisy-layer": f"noisy layer I(X; T_1), sigma {NOISE_SIGMA}",
}


def _zoom(line: _Line, layer: int, start: float, width: float, points: int):
    """(t, 30-bin estimate of layer ``layer``) on [start, start + width]: the staircase."""
    from mibench.estimators import get_estimator

    binning = get_estimator("binning", n_bins=_BINS, value_range=(-1.0, 1.0), discrete_x=True)
    ts = np.linspace(start, start + width, points)
    return ts, [estimate_value(binning, line.inputs.x, line.at(float(t))[0][layer - 1],
                               sample=f"tanh L{layer} at t={t:.6g}", layer=layer, t=float(t),
                               sweep="zoom") for t in ts]


def _label(key: tuple) -> str:
    family, network, layer = key
    name = _NAMES[family]
    return f"{name}, {network} L{layer}" if family in ("exact-entropy", "binning") else name


def _plot(rows, fractions, zoom, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16, 10), layout="constrained")
    axes = figure.subplots(2, 3).ravel()
    colours = dict(zip(range(1, 6), ("tab:blue", "tab:orange", "tab:green", "tab:red",
                                     "tab:purple")))

    def curve(family, network, layer=None):
        return sorted((r["t"], r["estimate_nats"]) for r in rows if r["estimator"] == family
                      and r["network"] == network and (layer is None or r["layer"] == layer))

    for layer in range(1, 6):
        axes[0].plot(*zip(*curve("exact-entropy", "relu", layer)), color=colours[layer],
                     drawstyle="steps-post", label=f"layer {layer}")
        axes[1].plot(*zip(*curve("binning", "tanh", layer)), color=colours[layer], lw=1)
    axes[1].plot(*zip(*curve("exact-entropy", "tanh", 1)), color="black", ls=":", lw=2)
    axes[0].set_title("ReLU network: exact H(L_l), piecewise constant", fontsize=10)
    axes[1].set_title("tanh network: exact H(L_l) = log 4096 (dotted,\nevery layer) and the "
                      "30-bin estimate", fontsize=10)
    axes[2].plot(*zip(*curve("argmax-rule", "tanh")), color="tab:brown", drawstyle="steps-post")
    axes[2].plot(*zip(*curve("softmax-rule", "tanh")), color="tab:olive")
    axes[2].set_title("Decision rules (tanh network): arg max is a staircase, a\nstochastic "
                      "softmax decision is smooth", fontsize=10)
    axes[3].plot(*zip(*curve("noisy-layer", "tanh", 1)), color="tab:cyan")
    axes[3].set_title(f"Noisy layer I(X; T_1), noise sigma {NOISE_SIGMA}: smooth", fontsize=10)
    for axis in axes[:4]:
        axis.set_xlabel("t along theta_0 + t d [1]")
        axis.set_ylabel("I [nats]")
        axis.grid(alpha=0.3)
    # Gradient magnitudes: |f(t + h) - f(t)| / h; zeros cannot be drawn on a log scale.
    for family, network, layer, colour in (
        ("softmax-rule", "tanh", None, "tab:olive"), ("noisy-layer", "tanh", 1, "tab:cyan"),
        ("argmax-rule", "tanh", None, "tab:brown"), ("exact-entropy", "relu", 1, "tab:blue"),
    ):
        points = [(r["t"], abs(r["finite_difference"]) / r["step"]) for r in rows
                  if r["estimator"] == family and r["network"] == network
                  and (layer is None or r["layer"] == layer) and r["finite_difference"] != 0]
        if points:
            axes[4].plot(*zip(*sorted(points)), ".", color=colour, ms=3)
    axes[4].set_yscale("log")
    axes[4].set_xlabel("t along theta_0 + t d [1]")
    axes[4].set_ylabel("|finite difference| / step [nats per unit t]")
    axes[4].set_title("Gradient magnitude where it is not zero (zeros not drawn; the step "
                      "functionals show\nonly rare jumps of order jump/h, the smooth ones a "
                      "finite gradient everywhere)", fontsize=9)
    axes[4].grid(alpha=0.3)
    labels = list(fractions)
    smooth = ("softmax", "stochastic", "noisy")
    bars = axes[5].barh(labels, [100 * fractions[k] for k in labels],
                        color=["tab:green" if k.startswith(smooth) else "tab:grey"
                               for k in labels])
    axes[5].bar_label(bars, fmt="%.1f%%", fontsize=7)
    axes[5].axvline(95, color="black", ls="--", lw=0.8)
    axes[5].axvline(5, color="black", ls=":", lw=0.8)
    axes[5].set_xlim(0, 118)
    axes[5].set_xlabel(f"points with zero finite difference (step {STEP:g}) [%]")
    axes[5].set_title("Zero gradient almost everywhere?", fontsize=10)
    axes[5].tick_params(axis="y", labelsize=6)
    (zoom_layer, zoom_start), (ts, values) = zoom
    inset = axes[1].inset_axes((0.55, 0.08, 0.4, 0.35))
    inset.step(ts - zoom_start, values, where="post", color=colours[zoom_layer])
    inset.set_title(f"zoom, L{zoom_layer}: t - {zoom_start} in [0, {ts[-1] - zoom_start:.0e}]",
                    fontsize=7)
    inset.tick_params(labelsize=6)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colours[layer], label=f"layer {layer}") for layer in colours]
    handles += [Line2D([], [], color="black", ls=":", label="exact H(L_l), tanh, every layer"),
                Line2D([], [], color="tab:brown", label=_NAMES["argmax-rule"]),
                Line2D([], [], color="tab:olive", label=_NAMES["softmax-rule"]),
                Line2D([], [], color="tab:cyan", label=_NAMES["noisy-layer"])]
    figure.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8)
    figure.suptitle("szt12 12-10-7-5-4-3-2 (ReLU and tanh), along a random line in weight space")
    figure.savefig(path, dpi=100)
    return path


@register_experiment(
    "piecewise-constant",
    claim="With a discrete input, I(X; L) is piecewise constant in the weights (zero gradient "
    "almost everywhere), and so is the arg-max decision rule's I(X; Y_hat); a stochastic "
    "decision or a noisy layer gives smooth functionals.",
)
def piecewise_constant(output_dir: Path, quick: bool, size: str | None = None) -> ExperimentResult:
    """Exact, binned and remedy functionals along a random line in weight space.

    Parameters
    ----------
    output_dir : Path
        Receives ``piecewise_constant.png``.
    quick : bool
        150 points on the line instead of 1,000; 256 Monte Carlo query points instead of 2,048.
    size : {"tiny", "quick", "default"}, optional
        Overrides ``quick``; ``"tiny"`` (12 points) is for the tests.
    """
    settings = _SIZES[size or ("quick" if quick else "default")]
    relu = _Line(_DIRECTION_SEED, "relu")
    tanh = _Line(_DIRECTION_SEED, "tanh")
    noisy = _NoisyLayerInformation(len(tanh.inputs.x), tanh.theta0[0].shape[0],
                                   settings.query_points, NOISE_SIGMA, _QUERY_SEED)
    rows: list[dict[str, Any]] = []
    zero: dict[tuple, list[bool]] = {}
    values_along: dict[tuple, set] = {}
    for t in np.linspace(-1.0, 1.0, settings.points):
        here = _functionals(relu, tanh, noisy, float(t))
        there = _functionals(relu, tanh, noisy, float(t) + STEP)
        for key, value in here.items():
            family, network, layer = key
            difference = there[key] - value
            zero.setdefault(key, []).append(difference == 0.0)
            values_along.setdefault(key, set()).add(value)
            truth = {"exact-entropy": value, "argmax-rule": value, "softmax-rule": value,
                     "binning": here.get(("exact-entropy", network, layer))}.get(family)
            rows.append({
                "estimator": family, "params": _PARAMS[family], "seed": _DIRECTION_SEED,
                "estimate_nats": value, "truth_nats": truth, "t": float(t), "network": network,
                "layer": layer, "finite_difference": difference, "step": STEP,
                "gradient_magnitude": abs(difference) / STEP,
            })
    fraction = {key: float(np.mean(flags)) for key, flags in zero.items()}
    distinct = {key: len(values) for key, values in values_along.items()}

    def over_layers(family, network, which=min, table=fraction):
        return which(v for (f, n, _), v in table.items() if f == family and n == network)

    one = {family: fraction[(family, "tanh", None)] for family in ("argmax-rule", "softmax-rule")}
    noisy_fraction = fraction[("noisy-layer", "tanh", 1)]
    verdicts = [
        checked_verdict(
            "ReLU network, exact H(L_l): fraction of zero finite differences, lowest over the 5 "
            "layers", over_layers("exact-entropy", "relu"), ">= 0.95 (zero gradient a.e.)",
            lambda v: v >= 0.95, "the same fraction, noisy layer I(X; T_1) (smooth)",
            noisy_fraction),
        checked_verdict(
            "ReLU network, exact H(L_l): distinct values along the line, fewest over the 5 "
            "layers", over_layers("exact-entropy", "relu", table=distinct),
            ">= 3 (steps, not a constant)", lambda v: v >= 3,
            "the same count, tanh network (injective), most over the 5 layers",
            over_layers("exact-entropy", "tanh", max, table=distinct)),
        checked_verdict(
            "tanh network, 30-bin estimate: fraction of zero finite differences, lowest over "
            "the 5 layers", over_layers("binning", "tanh"), ">= 0.95",
            lambda v: v >= 0.95, "the same fraction, stochastic (softmax) decision rule",
            one["softmax-rule"]),
        checked_verdict(
            "arg-max decision rule I(X; Y_hat) = H(Y_hat): fraction of zero finite differences",
            one["argmax-rule"], ">= 0.95 (a deterministic decision is a staircase too)",
            lambda v: v >= 0.95, "the same fraction, stochastic (softmax) decision rule",
            one["softmax-rule"]),
        checked_verdict(
            "stochastic (softmax-sampled) decision rule I(X; Y_hat): fraction of zero finite "
            "differences", one["softmax-rule"], "<= 0.05 (smooth)", lambda v: v <= 0.05,
            "the same fraction, arg-max decision rule", one["argmax-rule"]),
        checked_verdict(
            "noisy layer I(X; T_1): fraction of zero finite differences", noisy_fraction,
            "<= 0.05 (smooth)", lambda v: v <= 0.05,
            "the same fraction, exact H(L_1) of the deterministic ReLU layer",
            fraction[("exact-entropy", "relu", 1)]),
    ]
    shown = {_label(key): f for key, f in fraction.items()
             if not (key[0] == "exact-entropy" and key[1] == "tanh" and key[2] != 1)}
    zoom = ((_ZOOM_LAYER, _ZOOM_START),
            _zoom(tanh, _ZOOM_LAYER, _ZOOM_START, _ZOOM_WIDTH, settings.zoom_points))
    figure = _plot(rows, shown, zoom, Path(output_dir) / "piecewise_constant.png")
    gradients = {}
    for key in fraction:
        magnitudes = [r["gradient_magnitude"] for r in rows if r["estimator"] == key[0]
                      and r["network"] == key[1] and r["layer"] == key[2]]
        gradients[key] = float(np.median(magnitudes))
    table = [{"functional": _label(key), "fraction_zero": fraction[key],
              "distinct_values": distinct[key], "median_gradient_magnitude": gradients[key]}
             for key in fraction]
    exact_tanh = [r["estimate_nats"] for r in rows
                  if r["estimator"] == "exact-entropy" and r["network"] == "tanh"]
    lines = [
        "| functional | zero finite differences | distinct values | median gradient "
        "magnitude [nats per unit t] |",
        "|---|---:|---:|---:|",
        *(f"| {row['functional']} | {100 * row['fraction_zero']:.1f}% | "
          f"{row['distinct_values']} | {row['median_gradient_magnitude']:.3g} |" for row in table),
        "",
        f"{settings.points} points on the line. Exact H(L_l) of the tanh network ranges over "
        f"[{min(exact_tanh):.4f}, {max(exact_tanh):.4f}] nats (log 4096 = {math.log(4096):.4f}): "
        "a constant, not steps; the ReLU network's takes the distinct values above.",
    ]
    return ExperimentResult(
        tables={"functionals": table},
        figures=[figure],
        summary="\n".join(lines),
        rows=rows,
        verdicts=verdicts,
        settings={"points": settings.points, "t_range": [-1.0, 1.0], "step": STEP,
                  "direction_seed": _DIRECTION_SEED, "noise_sigma": NOISE_SIGMA,
                  "noisy_query_points": settings.query_points, "query_seed": _QUERY_SEED,
                  "bins": _BINS, "networks": "szt12 12-10-7-5-4-3-2, ReLU and tanh, "
                  "deterministic, trained 40 epochs (net-szt12-relu-det, net-szt12-tanh-det)"},
    )
