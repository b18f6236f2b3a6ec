"""The information-plane debate, reproduced: whether a layer "compresses" depends on the estimator.

Shwartz-Ziv & Tishby (2017) binned the tanh layers of a 12-10-7-5-4-3-2 network trained on
4,096 patterns and saw I(X; T) rise, then fall: compression. Saxe et al. (2018) saw no such fall
for ReLU, and argued it came from the tanh's saturation meeting the bins. On a deterministic
network with a finite input set both were measuring an estimator: the true I(X; T_l) is the
entropy H(L_l) of the layer's rows, which stays at log 4,096 as long as the layer separates the
inputs, whatever the bins say. On a noisy network (T_l = S_l + Z, Z ~ N(0, sigma^2 I)) the MI
is a real, finite, changing quantity, and there the truth can settle the question.

This experiment trains ``szt12`` networks (12-10-7-5-4-3-2; tanh and ReLU; deterministic and
with noise sigma = 0.1 after every hidden layer), keeps snapshots at log-spaced epochs, and
computes I(X; T_l) and I(Y; T_l) for every layer and snapshot with:

- ``binning`` with 30 equal bins over each unit's range (Shwartz-Ziv & Tishby) and with fixed
  bins of width 0.07 (Saxe et al.);
- ``kde-pairwise`` (Kolchinsky-Tracey upper bound) with noise variances 0.1 and 0.001 (Saxe et
  al.'s "KDE");
- ``ksg`` (k = 3);
- on the deterministic networks, the exact H(L_l) (and the exact I(Y; L_l)), by grouping the
  identical rows of the layer over the 4,096 inputs;
- on the noisy networks, ``noisy-sp`` (sample propagation, from the clean S_l) and, for layer 1,
  the exact value by an independent Monte Carlo of the Gaussian mixture
  (:func:`noisy_first_layer_information`).

Every estimator sees the whole input set once (n = 4,096; X uniform over it), the layer T_l
(clean S_l for ``noisy-sp``), and, for I(Y; T_l), the labels. The noise of the noisy layers is
drawn with the same seed at every snapshot, so the curves do not jitter with the draw.

Compression of a curve I(X; T_l)(epoch): its peak minus its value at the last snapshot is more
than 0.1 nats.

Deeper layers of a noisy network (l >= 2) have no exact value here: S_l depends on the noise of
the layers before, so T_l given X is a mixture whose components are themselves unknown, and
the nested Monte Carlo converges too slowly for this budget (see
:mod:`mibench.datasets.network_layers`). Their truth is left unknown (``truth_nats`` empty), and
``noisy-sp`` there, with one propagated sample per input, estimates h(T_l) - h(Z), an upper
bound on I(X; T_l) rather than the value.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from mibench.core.closed_form import isotropic_gaussian_entropy
from mibench.core.pairwise import row_blocks
from mibench.datasets.network_layers import RECIPES, exact_label_information, rows_entropy
from mibench.estimators import get_estimator
from mibench.experiments import ExperimentResult, Verdict, register_experiment
from mibench.networks.inputs import get_inputs
from mibench.networks.training import TrainedNetwork, log_spaced_epochs, train

__all__ = [
    "COMPRESSION_THRESHOLD",
    "NETWORKS",
    "NetworkSetting",
    "compression",
    "information_plane",
    "kde_pairwise_input_and_label",
    "noisy_first_layer_information",
]

CLAIM = (
    "Whether a layer 'compresses' (I(X; T) falls after its peak) depends on the estimator on "
    "deterministic networks, where the true I(X; T) is flat; on noisy networks the exact MI "
    "decides it."
)

INPUTS = "szt12"
SIGMA = 0.1
#: A fall of I(X; T) from its peak to the last snapshot larger than this is "compression".
COMPRESSION_THRESHOLD = 0.1
SEED = 0


@dataclass(frozen=True)
class NetworkSetting:
    """One of the four networks: activation and noise standard deviation (0: deterministic)."""

    activation: str
    sigma: float

    @property
    def name(self) -> str:
        return f"{self.activation} {'deterministic' if self.sigma == 0 else f'noisy sigma={self.sigma:g}'}"

    @property
    def deterministic(self) -> bool:
        return self.sigma == 0


NETWORKS = (
    NetworkSetting("tanh", 0.0),
    NetworkSetting("relu", 0.0),
    NetworkSetting("tanh", SIGMA),
    NetworkSetting("relu", SIGMA),
)

#: (label, estimator, parameters for I(X; T), parameters for I(Y; T)); the inputs and the
#: labels are finite sets, so binning takes them as symbols.
SAMPLE_ESTIMATORS = (
    ("binning 30 bins", "binning", {"n_bins": 30, "discrete_x": True},
     {"n_bins": 30, "discrete_x": True}),
    ("binning width 0.07", "binning", {"bin_width": 0.07, "discrete_x": True},
     {"bin_width": 0.07, "discrete_x": True}),
    ("ksg k=3", "ksg", {"k": 3}, {"k": 3}),
)
#: Noise variances of ``kde-pairwise`` (Saxe et al.).
KDE_VARIANCES = (0.1, 0.001)
EXACT_DETERMINISTIC = "exact H(L)"
EXACT_NOISY = "exact (Monte Carlo, layer 1)"
NOISY_SP = "noisy-sp"

@dataclass(frozen=True)
class Schedule:
    """How long to train, which snapshots and layers to measure, and the truth's draws."""

    epochs: int
    snapshots: int  # asked of log_spaced_epochs, which may return a few fewer distinct epochs
    layers: tuple[int, ...]
    truth_draws_per_centre: int  # Monte Carlo points per centre of the exact noisy layer-1 MI


DEFAULT_SCHEDULE = Schedule(epochs=200, snapshots=25, layers=(1, 2, 3, 4, 5),
                            truth_draws_per_centre=2)
QUICK_SCHEDULE = Schedule(epochs=30, snapshots=4, layers=(1, 3), truth_draws_per_centre=1)


def _kde_label(variance: float) -> str:
    return f"kde-pairwise var {variance:g}"


def estimator_labels(network: NetworkSetting) -> list[str]:
    """The estimators run on ``network``, in the order of the figure's rows."""
    labels = [label for label, *_ in SAMPLE_ESTIMATORS]
    labels += [_kde_label(v) for v in KDE_VARIANCES]
    labels += [EXACT_DETERMINISTIC] if network.deterministic else [NOISY_SP, EXACT_NOISY]
    return labels


def noisy_first_layer_information(
    centres: np.ndarray,
    labels: np.ndarray,
    sigma: float,
    draws_per_centre: int,
    rng: np.random.Generator,
) -> tuple[float, float, float, float]:
    """I(X; S + Z) and I(Y; S + Z) for X uniform over m inputs with clean layer S(x), by Monte Carlo.

    With Z ~ N(0, sigma^2 I), T given X = x_i is N(s_i, sigma^2 I), so T is the equal-weight
    mixture of these m Gaussians and

        I(X; T) = E[log N(t; s_i) - log p(t)],   I(Y; T) = E[log p(t | y_i) - log p(t)],

    where (i, t) is drawn as i uniform, t = s_i + sigma z, and p(t | y) is the mixture over
    the inputs of class y. Both are averages of terms computed exactly (a log-sum-exp over all
    centres), so the only error is the Monte Carlo error, returned as a standard error. This is
    written from scratch with numpy and scipy, apart from the ``noisy-sp`` estimator's code.

    Parameters
    ----------
    centres : ndarray, shape (m, d)
        S(x_i) for each of the m equally likely inputs.
    labels : ndarray of int, shape (m,)
    sigma : float
        Noise standard deviation.
    draws_per_centre : int
    rng : numpy Generator

    Returns
    -------
    (I(X; T), its standard error, I(Y; T), its standard error), in nats.
    """
    centres = np.asarray(centres, dtype=np.float64)
    m = centres.shape[0]
    labels = np.asarray(labels).reshape(-1)
    # Centres sorted by class, so that each class's kernels are one slice of columns.
    order = np.argsort(labels, kind="stable")
    centres, labels = centres[order], labels[order]
    classes, class_of, class_sizes = np.unique(labels, return_inverse=True, return_counts=True)
    bounds = np.concatenate([[0], np.cumsum(class_sizes)])
    owner = np.repeat(np.arange(m), draws_per_centre)
    offsets = sigma * rng.standard_normal((owner.size, centres.shape[1]))
    points = centres[owner] + offsets
    input_terms = np.empty(owner.size)
    label_terms = np.empty(owner.size)
    # Blocks as every pairwise kernel of mibench takes them (the block size has nothing to do
    # with the independence of this truth from noisy-sp: the kernel sums below are our own).
    for rows in row_blocks(owner.size, m):
        start, stop = rows.start, rows.stop
        # log N(t; s_j), up to a constant common to every term (it cancels in the differences),
        # shifted by its row maximum, then exponentiated in place.
        kernels = cdist(points[start:stop], centres, "sqeuclidean")
        kernels *= -1.0 / (2 * sigma**2)
        row_max = kernels.max(axis=1)
        kernels -= row_max[:, None]
        np.exp(kernels, out=kernels)
        class_sums = np.column_stack(
            [kernels[:, a:b].sum(axis=1) for a, b in zip(bounds[:-1], bounds[1:])]
        )
        log_mixture = np.log(class_sums.sum(axis=1)) + row_max - math.log(m)
        own_class = class_of[owner[start:stop]]
        log_class_mixture = (
            np.log(class_sums[np.arange(stop - start), own_class]) + row_max
            - np.log(class_sizes[own_class])
        )
        own = np.sum(offsets[start:stop] ** 2, axis=1) * (-1.0 / (2 * sigma**2))
        input_terms[start:stop] = own - log_mixture
        label_terms[start:stop] = log_class_mixture - log_mixture
    count = owner.size
    return (
        float(input_terms.mean()), float(input_terms.std(ddof=1) / math.sqrt(count)),
        float(label_terms.mean()), float(label_terms.std(ddof=1) / math.sqrt(count)),
    )


def compression(values_by_epoch: list[tuple[int, float]]) -> dict:
    """Peak, last value and whether I(X; T) fell by more than the threshold after its peak.

    Parameters
    ----------
    values_by_epoch : list of (epoch, nats), in increasing epoch order
    """
    values = [value for _, value in values_by_epoch]
    peak_index = int(np.argmax(values))
    fall = values[peak_index] - values[-1]
    return {
        "peak [nats]": values[peak_index],
        "peak epoch": values_by_epoch[peak_index][0],
        "last [nats]": values[-1],
        "fall after peak [nats]": fall,
        "compression": bool(fall > COMPRESSION_THRESHOLD),
    }


def kde_pairwise_input_and_label(labels, layer: np.ndarray, variance: float) -> tuple[float, float]:
    """(I(X; T), I(Y; T)) of ``kde-pairwise`` (upper bound) from one call of the estimator.

    The call with ``target="label"`` computes the bound on H(T) over all the samples on its
    way; I(X; T) = H(T) - h(noise) is what ``target="input"`` would return, without computing
    the O(n^2) mixture a second time.

    Parameters
    ----------
    labels : ndarray, shape (n, 1)
    layer : ndarray, shape (n, d)
    variance : float
        The noise variance s^2 of the estimator.
    """
    estimator = get_estimator("kde-pairwise", noise_variance=variance, target="label")
    result = estimator.estimate_with_extras(labels, layer)
    on_input = result.extras["entropy_upper"] - isotropic_gaussian_entropy(layer.shape[1], variance)
    return float(on_input), float(result.value)


def _train(setting: NetworkSetting, epochs: int, snapshots: int) -> TrainedNetwork:
    recipe = RECIPES[INPUTS]
    return train(
        get_inputs(INPUTS),
        widths=recipe.widths,
        activation=setting.activation,
        sigma=setting.sigma,
        epochs=epochs,
        batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        checkpoints=log_spaced_epochs(epochs, snapshots),
        seed=recipe.seed,
    )


def _network_rows(setting: NetworkSetting, network: TrainedNetwork, schedule: Schedule) -> list[dict]:
    """One row per (epoch, layer, estimator, target) of one network."""
    inputs = get_inputs(INPUTS)
    x, labels = inputs.x, inputs.labels
    label_column = labels[:, None].astype(np.float64)
    rows = []

    def add(label, name, params, seed, epoch, layer, target, value, truth, **extra):
        rows.append({"estimator": name, "params": params, "seed": seed, "estimate_nats": value,
                     "truth_nats": truth, "epoch": epoch, "layer": layer,
                     "network": setting.name, "label": label, "target": target, **extra})

    estimators = [(label, name, get_estimator(name, **px), get_estimator(name, **py), px, py)
                  for label, name, px, py in SAMPLE_ESTIMATORS]
    noisy_sp = get_estimator("noisy-sp", sigma=setting.sigma) if not setting.deterministic else None
    truth_rng_seed = SEED + 1
    for epoch in network.epochs:
        activations = network.activations(x, epoch, seed=SEED)
        for layer in schedule.layers:
            clean, observed = activations.clean[layer - 1], activations.noisy[layer - 1]
            if setting.deterministic:
                truth_x = rows_entropy(clean)
                truth_y = exact_label_information(clean, labels)
                add(EXACT_DETERMINISTIC, "exact", {}, None, epoch, layer, "I(X; T)", truth_x, truth_x)
                add(EXACT_DETERMINISTIC, "exact", {}, None, epoch, layer, "I(Y; T)", truth_y, truth_y)
            elif layer == 1:
                # The same Monte Carlo draws at every epoch: the curve's wiggles are the network's.
                truth_x, se_x, truth_y, se_y = noisy_first_layer_information(
                    clean, labels, setting.sigma, schedule.truth_draws_per_centre,
                    np.random.default_rng(truth_rng_seed))
                params = {"draws_per_centre": schedule.truth_draws_per_centre}
                add(EXACT_NOISY, "exact", params, truth_rng_seed, epoch, layer, "I(X; T)",
                    truth_x, truth_x, stderr_nats=se_x)
                add(EXACT_NOISY, "exact", params, truth_rng_seed, epoch, layer, "I(Y; T)",
                    truth_y, truth_y, stderr_nats=se_y)
            else:
                truth_x = truth_y = None
            for label, name, on_input, on_label, px, py in estimators:
                seed = on_input.get_params().get("seed")
                add(label, name, px, seed, epoch, layer, "I(X; T)",
                    float(on_input.estimate(x, observed)), truth_x)
                add(label, name, py, seed, epoch, layer, "I(Y; T)",
                    float(on_label.estimate(label_column, observed)), truth_y)
            for variance in KDE_VARIANCES:
                on_input, on_label = kde_pairwise_input_and_label(label_column, observed, variance)
                label = _kde_label(variance)
                add(label, "kde-pairwise", {"noise_variance": variance, "target": "input"}, None,
                    epoch, layer, "I(X; T)", on_input, truth_x)
                add(label, "kde-pairwise", {"noise_variance": variance, "target": "label"}, None,
                    epoch, layer, "I(Y; T)", on_label, truth_y)
            if noisy_sp is not None:
                params = noisy_sp.get_params()
                add(NOISY_SP, "noisy-sp", params, params["seed"], epoch, layer, "I(X; T)",
                    float(noisy_sp.estimate(x, clean)), truth_x)
                add(NOISY_SP, "noisy-sp", params, params["seed"], epoch, layer, "I(Y; T)",
                    float(noisy_sp.estimate(label_column, clean)), truth_y)
    return rows


def _curve(rows, network, label, layer, target="I(X; T)") -> list[tuple[int, float]]:
    points = [(r["epoch"], r["estimate_nats"]) for r in rows
              if r["network"] == network and r["label"] == label and r["layer"] == layer
              and r["target"] == target]
    return sorted(points)


def _plot(rows, layers, output_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colors

    labels = [label for label, *_ in SAMPLE_ESTIMATORS] + [_kde_label(v) for v in KDE_VARIANCES]
    labels += [f"{EXACT_DETERMINISTIC} / {NOISY_SP}", "exact (noisy layer 1)"]
    epochs = sorted({r["epoch"] for r in rows})
    norm = colors.LogNorm(vmin=max(epochs[1], 1), vmax=max(epochs[-1], 2))
    markers = "os^Dv<>"
    fig, axes = plt.subplots(len(labels), len(NETWORKS), figsize=(4.0 * len(NETWORKS),
                             3.0 * len(labels)), squeeze=False, layout="constrained")
    scatter = None
    for row_index, label in enumerate(labels):
        for column, setting in enumerate(NETWORKS):
            axis = axes[row_index][column]
            if label == f"{EXACT_DETERMINISTIC} / {NOISY_SP}":
                label_here = EXACT_DETERMINISTIC if setting.deterministic else NOISY_SP
            elif label == "exact (noisy layer 1)":
                label_here = None if setting.deterministic else EXACT_NOISY
            else:
                label_here = label
            if label_here is None:
                axis.text(0.5, 0.5, "deterministic network:\nsee 'exact H(L)' above",
                          ha="center", va="center", transform=axis.transAxes)
                axis.set_axis_off()
                continue
            for layer_index, layer in enumerate(layers):
                ix = _curve(rows, setting.name, label_here, layer)
                iy = dict(_curve(rows, setting.name, label_here, layer, "I(Y; T)"))
                if not ix:
                    continue
                xs = [value for _, value in ix]
                ys = [iy[epoch] for epoch, _ in ix]
                axis.plot(xs, ys, color="grey", linewidth=0.6, zorder=1)
                scatter = axis.scatter(xs, ys, c=[max(e, norm.vmin) for e, _ in ix], norm=norm,
                                       cmap="viridis", marker=markers[layer_index % len(markers)],
                                       s=22, zorder=2, label=f"layer {layer}")
            # Shared limits: every panel on the scale of the truth (log 4096 and log 2 nats).
            axis.axvline(math.log(4096), color="black", linestyle=":", linewidth=0.8)
            axis.axhline(math.log(2), color="black", linestyle=":", linewidth=0.8)
            axis.set_xlim(0, math.log(4096) + 0.3)
            axis.set_ylim(0, math.log(2) + 0.05)
            axis.set_title(f"{label_here} | {setting.name}", fontsize=9)
            axis.set_xlabel("I(X; T) [nats]", fontsize=8)
            axis.set_ylabel("I(Y; T) [nats]", fontsize=8)
            if row_index == 0 and column == 0:
                axis.legend(fontsize=7, loc="lower right")
    if scatter is not None:
        colorbar = fig.colorbar(scatter, ax=axes, shrink=0.25, location="right")
        colorbar.set_label("training epoch (epoch 0 drawn at 1)")
    fig.suptitle("Information planes of szt12 12-10-7-5-4-3-2: estimator (rows) by network "
                 "(columns); dotted: log 4096 and log 2 nats", fontsize=13)
    path = output_dir / "information_plane.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _plot_first_layer(rows, output_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(NETWORKS), figsize=(4.5 * len(NETWORKS), 4.2), sharex=True)
    for axis, setting in zip(axes, NETWORKS):
        for label in estimator_labels(setting):
            curve = _curve(rows, setting.name, label, 1)
            if curve:
                # The truth thick and underneath, so that an estimate on top of it still shows.
                style = ({"color": "black", "linewidth": 4, "alpha": 0.5, "zorder": 1}
                         if label.startswith("exact") else {"zorder": 2})
                axis.plot([max(e, 0.5) for e, _ in curve], [v for _, v in curve], marker=".",
                          label=label, **style)
        axis.set_xscale("log")
        axis.set_xlabel("training epoch (epoch 0 drawn at 0.5)")
        axis.set_ylabel("I(X; T_1) [nats]")
        axis.set_title(f"layer 1, {setting.name}", fontsize=10)
        axis.legend(fontsize=7, loc="best")
    fig.suptitle("I(X; T) of the first layer across training: the truth against the estimators")
    fig.tight_layout()
    path = output_dir / "information_plane_layer1.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@register_experiment("information-plane", claim=CLAIM)
def information_plane(output_dir: Path, quick: bool = False) -> ExperimentResult:
    """Information planes of four szt12 networks under six estimators and the truth.

    Tables: ``compression`` (per network, estimator and layer: the peak of I(X; T), its epoch,
    the last value, the fall, and the verdict; also written to ``compression.csv``),
    ``disagreement`` (per network and layer: the
    estimators that see compression and those that do not).
    """
    output_dir = Path(output_dir)
    schedule = QUICK_SCHEDULE if quick else DEFAULT_SCHEDULE
    layers = schedule.layers
    rows = []
    trained_epochs = {}
    for setting in NETWORKS:
        network = _train(setting, schedule.epochs, schedule.snapshots)
        trained_epochs[setting.name] = list(network.epochs)
        rows += _network_rows(setting, network, schedule)

    table = []
    for setting in NETWORKS:
        for label in estimator_labels(setting):
            for layer in layers:
                curve = _curve(rows, setting.name, label, layer)
                if curve:
                    table.append({"network": setting.name, "estimator": label, "layer": layer,
                                  **compression(curve)})

    disagreement = []
    for setting in NETWORKS:
        for layer in layers:
            entries = [e for e in table if e["network"] == setting.name and e["layer"] == layer]
            truth = [e for e in entries if e["estimator"].startswith("exact")]
            estimates = [e for e in entries if not e["estimator"].startswith("exact")]
            disagreement.append({
                "network": setting.name, "layer": layer,
                "truth says compression": truth[0]["compression"] if truth else None,
                "estimators seeing compression": ", ".join(
                    e["estimator"] for e in estimates if e["compression"]) or "none",
                "estimators seeing none": ", ".join(
                    e["estimator"] for e in estimates if not e["compression"]) or "none",
                "estimators disagree": len({e["compression"] for e in estimates}) > 1,
            })

    verdicts = _verdicts(rows, table, disagreement, layers)
    _write_table(table, output_dir / "compression.csv")
    figures = [_plot(rows, layers, output_dir), _plot_first_layer(rows, output_dir)]
    summary = _summary(rows, disagreement)
    return ExperimentResult(
        tables={"compression": table, "disagreement": disagreement},
        figures=figures,
        summary=summary,
        rows=rows,
        claim=CLAIM,
        verdicts=verdicts,
        settings={
            "inputs": INPUTS, "widths": [12, *RECIPES[INPUTS].widths, 2],
            "networks": [s.name for s in NETWORKS], "epochs": schedule.epochs,
            "snapshot_epochs": trained_epochs[NETWORKS[0].name], "layers": list(layers),
            "n": 4096, "sigma": SIGMA, "kde_noise_variances": list(KDE_VARIANCES),
            "compression_threshold_nats": COMPRESSION_THRESHOLD,
            "truth_draws_per_centre": schedule.truth_draws_per_centre, "seed": SEED,
            "batch_size": RECIPES[INPUTS].batch_size,
            "learning_rate": RECIPES[INPUTS].learning_rate,
        },
    )


def _write_table(table: list[dict], path: Path) -> Path:
    """The compression table as CSV, for readers who want it outside summary.md."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return path


def _flat_fraction(rows, network: str) -> float:
    """Fraction of a deterministic network's (epoch, layer) whose exact H(L) is log 4096."""
    exact = [r["estimate_nats"] for r in rows if r["network"] == network
             and r["label"] == EXACT_DETERMINISTIC and r["target"] == "I(X; T)"]
    return sum(abs(value - math.log(4096)) < 1e-9 for value in exact) / len(exact)


def _verdicts(rows, table, disagreement, layers) -> list[Verdict]:
    verdicts = []
    for setting in NETWORKS:
        if setting.deterministic:
            disagreeing = sum(d["estimators disagree"] for d in disagreement
                              if d["network"] == setting.name)
            verdicts.append(Verdict(
                f"{setting.name}: layers (of {len(layers)}) where the estimators disagree on "
                "compression", disagreeing, ">= 1 (the verdict is the estimator's)",
                disagreeing >= 1))
            if setting.activation == "tanh":
                # tanh is injective: the layer separates the 4,096 inputs unless two of them
                # round to the same float64 row. (ReLU is not: dead units merge inputs, and its
                # exact H(L) sits below log 4096; the table reports it.)
                flat = _flat_fraction(rows, setting.name)
                verdicts.append(Verdict(
                    f"{setting.name}: fraction of (epoch, layer) with exact H(L) = log 4096",
                    flat, ">= 0.9 (flat at log 4096 almost everywhere)", flat >= 0.9))
        else:
            truth = next(e for e in table if e["network"] == setting.name
                         and e["estimator"] == EXACT_NOISY and e["layer"] == 1)
            sp = next(e for e in table if e["network"] == setting.name
                      and e["estimator"] == NOISY_SP and e["layer"] == 1)
            exact = dict(_curve(rows, setting.name, EXACT_NOISY, 1))
            error = max(abs(v - exact[e]) for e, v in _curve(rows, setting.name, NOISY_SP, 1))
            verdicts.append(Verdict(
                f"{setting.name}, layer 1: largest |noisy-sp - exact| I(X; T) over epochs [nats]",
                error, "<= 0.1 (the truth is measurable)", error <= 0.1))
            agrees = float(sp["compression"] == truth["compression"])
            verdicts.append(Verdict(
                f"{setting.name}, layer 1: noisy-sp's compression verdict equals the truth's "
                f"(truth: {'compression' if truth['compression'] else 'none'}; fall "
                f"{truth['fall after peak [nats]']:.3f} nats)",
                agrees, "= 1 (the truth decides)", agrees == 1.0))
    return verdicts


def _summary(rows, disagreement) -> str:
    flat = ", ".join(f"{s.name} {_flat_fraction(rows, s.name):.2f}" for s in NETWORKS
                     if s.deterministic)
    lines = [
        f"Fraction of (epoch, layer) whose exact H(L) is log 4096: {flat}.",
        "",
        f"Compression: I(X; T) at the last snapshot more than {COMPRESSION_THRESHOLD} nats "
        "below its peak.",
        "",
        "| network | layer | truth | estimators seeing compression | estimators seeing none |",
        "|---|---:|---|---|---|",
    ]
    for d in disagreement:
        truth = d["truth says compression"]
        truth_text = "unknown" if truth is None else ("compression" if truth else "none")
        lines.append(f"| {d['network']} | {d['layer']} | {truth_text} | "
                     f"{d['estimators seeing compression']} | {d['estimators seeing none']} |")
    return "\n".join(lines)
