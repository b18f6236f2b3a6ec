"""The talk's second claim: with a discrete input the IB functional is finite but piecewise
constant in the weights, so its gradient is zero almost everywhere.

The network is the deterministic tanh 12-10-7-5-4-3-2 classifier of ``szt12`` (all 4,096 sign
patterns, X uniform over them), trained as for the ``net-szt12-tanh-det-*`` datasets. Its
weights theta_0 are moved along a random line theta(t) = theta_0 + t d, t in [-1, 1], where d is
Gaussian, rescaled per weight tensor to that tensor's norm (so t = 1 doubles no tensor by more
than its own size). At every point of the line (1,000; 200 with ``quick``), over all 4,096
inputs:

- ``exact-entropy``: the true I(X; L_l) = H(L_l) of each hidden layer l, exactly, by grouping
  identical rows of the layer (float64);
- ``binning``: the 30-bin estimate of Shwartz-Ziv & Tishby (30 equal bins on [-1, 1] per unit,
  X as symbols), = H(binned L_l);
- ``decision-rule``: the remedy of a stochastic decision, Y_hat ~ softmax(logits):
  I(X; Y_hat) = H(mean_x softmax) - mean_x H(softmax), exact over the inputs;
- ``noisy-layer``: the remedy of a noisy layer, I(X; T_1) for T_1 = S_1 + Z, Z ~ N(0, 0.1^2 I),
  by Monte Carlo: h(T_1) from a fixed set of query points T = S_1(x_i) + Z_i, the mixture density
  summed over all 4,096 inputs exactly, and h(T_1 | X) = h(Z). The query inputs and noise are
  the same at every t (common random numbers), so the estimate is a smooth function of theta.

Verdict numbers: at each point, the finite difference f(theta(t + h)) - f(theta(t)) with
h = 1e-8; the fraction of points where it is exactly zero. The exact and binned functionals are
predicted to have zero difference at 95% of the points or more (every layer), the two remedies
at 5% or fewer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mibench.experiments import ExperimentResult, Verdict, register_experiment

__all__ = ["NOISE_SIGMA", "STEP", "piecewise_constant"]

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


_FULL = _Settings(points=1000, query_points=2048, zoom_points=400)
_QUICK = _Settings(points=200, query_points=256, zoom_points=150)


class _Line:
    """The network at theta_0 + t d: hidden layers and logits on all 4,096 inputs."""

    def __init__(self, seed: int):
        import torch

        from mibench.datasets.network_layers import trained_network

        network = trained_network("szt12", "tanh", 0.0)
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

        with torch.no_grad():
            for parameter, start, step in zip(self.model.parameters(), self.theta0, self.direction):
                parameter.copy_(start + t * step)
            clean, _ = self.model.layers(self.x)
            logits = self.model.output(clean[-1])
        return [layer.numpy().copy() for layer in clean], logits.numpy().copy()


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


def _functionals(line: _Line, noisy: _NoisyLayerInformation, t: float) -> dict[tuple, float]:
    from mibench.datasets.network_layers import rows_entropy
    from mibench.estimators import get_estimator

    layers, logits = line.at(t)
    binning = get_estimator("binning", n_bins=_BINS, value_range=(-1.0, 1.0), discrete_x=True)
    values = {}
    for index, layer in enumerate(layers, start=1):
        values[("exact-entropy", index)] = rows_entropy(layer)
        values[("binning", index)] = binning.estimate(line.inputs.x, layer)
    values[("decision-rule", None)] = decision_rule_information(logits)
    values[("noisy-layer", 1)] = noisy(layers[0])
    return values


_PARAMS = {
    "exact-entropy": {},
    "binning": {"n_bins": _BINS, "value_range": [-1.0, 1.0], "discrete_x": True},
    "decision-rule": {"output": "softmax"},
    "noisy-layer": {"sigma": NOISE_SIGMA},
}


def _zoom(line: _Line, layer: int, start: float, width: float, points: int):
    """(t, 30-bin estimate of layer ``layer``) on [start, start + width]: the staircase."""
    from mibench.estimators import get_estimator

    binning = get_estimator("binning", n_bins=_BINS, value_range=(-1.0, 1.0), discrete_x=True)
    ts = np.linspace(start, start + width, points)
    return ts, [binning.estimate(line.inputs.x, line.at(float(t))[0][layer - 1]) for t in ts]


def _plot(rows, fractions, zoom, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(19, 4.8), layout="constrained")
    axes = figure.subplots(1, 4, width_ratios=[1.2, 1, 1.2, 1])
    layers = sorted({r["layer"] for r in rows if r["estimator"] == "binning"})
    colours = dict(zip(layers, ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")))
    for layer in layers:
        for name, style in (("binning", "-"), ("exact-entropy", ":")):
            points = [(r["t"], r["estimate_nats"]) for r in rows
                      if r["estimator"] == name and r["layer"] == layer]
            axes[0].plot(*zip(*points), style, color=colours[layer], lw=1.2 if style == "-" else 2,
                         label=f"L{layer} 30 bins" if name == "binning" else
                         ("exact H(L_l), every layer" if layer == layers[0] else None))
    axes[0].set_title("Deterministic layers: exact I(X; L_l) = H(L_l) and the 30-bin estimate",
                      fontsize=10)
    (zoom_layer, zoom_start), (ts, values) = zoom
    axes[1].step(ts - zoom_start, values, where="post", color=colours[zoom_layer],
                 label=f"L{zoom_layer} 30 bins")
    axes[1].set_title(f"Zoom: t in [{zoom_start}, {zoom_start} + {ts[-1] - zoom_start:.0e}]",
                      fontsize=10)
    axes[1].set_xlabel(f"t - {zoom_start}")
    for name, colour in (("decision-rule", "tab:brown"), ("noisy-layer", "tab:cyan")):
        points = [(r["t"], r["estimate_nats"]) for r in rows if r["estimator"] == name]
        axes[2].plot(*zip(*points), color=colour,
                     label="I(X; Y_hat), softmax decision" if name == "decision-rule"
                     else f"I(X; T_1), noise sigma {NOISE_SIGMA}")
    axes[2].set_title("The remedies: smooth functionals of the weights", fontsize=10)
    for axis in axes[:3]:
        if axis is not axes[1]:
            axis.set_xlabel("t along theta_0 + t d")
        axis.set_ylabel("I [nats]")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, ncol=2 if axis is axes[0] else 1)
    labels = list(fractions)
    bars = axes[3].barh(labels, [100 * fractions[k] for k in labels],
                        color=["tab:grey" if k.startswith(("exact", "binning")) else "tab:green"
                               for k in labels])
    axes[3].bar_label(bars, fmt="%.1f%%", fontsize=8)
    axes[3].axvline(95, color="black", ls="--", lw=0.8)
    axes[3].axvline(5, color="black", ls=":", lw=0.8)
    axes[3].set_xlim(0, 115)
    axes[3].set_xlabel(f"points with zero finite difference (step {STEP:g}) [%]")
    axes[3].set_title("Zero gradient almost everywhere?", fontsize=10)
    axes[3].tick_params(axis="y", labelsize=8)
    figure.suptitle("szt12, tanh 12-10-7-5-4-3-2, along a random line in weight space")
    figure.savefig(path, dpi=110)
    return path


@register_experiment(
    "piecewise-constant",
    claim="With a discrete input, I(X; L) is piecewise constant in the weights (zero gradient "
    "almost everywhere); the decision rule and noise give smooth functionals.",
)
def piecewise_constant(output_dir: Path, quick: bool) -> ExperimentResult:
    """Exact, binned and remedy functionals along a random line in weight space.

    Parameters
    ----------
    output_dir : Path
        Receives ``piecewise_constant.png``.
    quick : bool
        200 points on the line instead of 1,000; 256 Monte Carlo query points instead of 2,048.
    """
    settings = _QUICK if quick else _FULL
    line = _Line(_DIRECTION_SEED)
    noisy = _NoisyLayerInformation(len(line.inputs.x), line.theta0[0].shape[0],
                                   settings.query_points, NOISE_SIGMA, _QUERY_SEED)
    rows: list[dict[str, Any]] = []
    zero: dict[tuple, list[bool]] = {}
    for t in np.linspace(-1.0, 1.0, settings.points):
        here = _functionals(line, noisy, float(t))
        there = _functionals(line, noisy, float(t) + STEP)
        for (name, layer), value in here.items():
            difference = there[(name, layer)] - value
            zero.setdefault((name, layer), []).append(difference == 0.0)
            truth = {"exact-entropy": value, "decision-rule": value,
                     "binning": here.get(("exact-entropy", layer))}.get(name)
            rows.append({
                "estimator": name, "params": _PARAMS[name], "seed": _DIRECTION_SEED,
                "estimate_nats": value, "truth_nats": truth, "t": float(t), "layer": layer,
                "finite_difference": difference, "step": STEP,
            })
    fraction = {key: float(np.mean(flags)) for key, flags in zero.items()}
    by_family = {
        name: [f for (family, _), f in fraction.items() if family == name] for name in _PARAMS
    }
    labels = {("decision-rule", None): "decision rule I(X; Y_hat)",
              ("noisy-layer", 1): "noisy layer I(X; T_1)"}
    shown = {labels.get(key, f"{key[0]} L{key[1]}"): f for key, f in fraction.items()}
    zoom = ((_ZOOM_LAYER, _ZOOM_START),
            _zoom(line, _ZOOM_LAYER, _ZOOM_START, _ZOOM_WIDTH, settings.zoom_points))
    figure = _plot(rows, shown, zoom, Path(output_dir) / "piecewise_constant.png")
    verdicts = [
        Verdict("exact H(L_l): fraction of zero finite differences, lowest over the 5 layers",
                min(by_family["exact-entropy"]), ">= 0.95", min(by_family["exact-entropy"]) >= 0.95),
        Verdict("30-bin estimate: fraction of zero finite differences, lowest over the 5 layers",
                min(by_family["binning"]), ">= 0.95", min(by_family["binning"]) >= 0.95),
        Verdict("decision rule I(X; Y_hat): fraction of zero finite differences",
                by_family["decision-rule"][0], "<= 0.05", by_family["decision-rule"][0] <= 0.05),
        Verdict("noisy layer I(X; T_1): fraction of zero finite differences",
                by_family["noisy-layer"][0], "<= 0.05", by_family["noisy-layer"][0] <= 0.05),
    ]
    binned_values = {
        layer: len({r["estimate_nats"] for r in rows
                    if r["estimator"] == "binning" and r["layer"] == layer})
        for layer in range(1, 6)
    }
    exact = [r["estimate_nats"] for r in rows if r["estimator"] == "exact-entropy"]
    lines = [
        "Fraction of points with a zero finite difference: "
        + ", ".join(f"{label} {100 * f:.1f}%" for label, f in shown.items()) + ".",
        "Distinct values of the 30-bin estimate along the line, by layer: "
        + ", ".join(f"L{layer} {count}" for layer, count in binned_values.items())
        + f" (of {settings.points} points): constant pieces separated by jumps.",
        f"Exact H(L_l) ranges over [{min(exact):.4f}, {max(exact):.4f}] nats "
        f"(log 4096 = {math.log(4096):.4f}).",
    ]
    return ExperimentResult(
        tables={"zero_difference_fraction": [
            {"functional": label, "fraction_zero": f} for label, f in shown.items()
        ]},
        figures=[figure],
        summary="\n".join(lines),
        rows=rows,
        verdicts=verdicts,
        settings={"points": settings.points, "t_range": [-1.0, 1.0], "step": STEP,
                  "direction_seed": _DIRECTION_SEED, "noise_sigma": NOISE_SIGMA,
                  "noisy_query_points": settings.query_points, "query_seed": _QUERY_SEED,
                  "bins": _BINS, "network": "szt12 tanh 12-10-7-5-4-3-2, deterministic, "
                  "trained 40 epochs (net-szt12-tanh-det)"},
    )
