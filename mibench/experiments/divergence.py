"""The talk's first claim: the MI of a deterministic layer with a continuous input is infinite.

For X with a density and an injective, smooth layer L = f(X), I(X; L) = infinity, so whatever
finite number an estimator returns is set by its resolution (k, bins, bandwidth, critic) and by
n, not by the network. With Gaussian noise, T = f(X) + Z, the MI is finite and the consistent
estimators settle on it.

Layers
------
- ``tanh-1d``: X uniform on [-1, 1], L = tanh(2 X) (true MI infinite);
- ``tanh-1d-noisy``: T = tanh(2 X) + Z, Z ~ N(0, 0.1^2); exact MI by quadrature
  (:mod:`mibench.experiments.quadrature`), independent of every estimator;
- ``mlp``: the first hidden layer (width 6) of a tanh MLP trained on the continuous
  Gaussian-mixture input in R^3 (``net-gaussian-mixture-tanh-det-L1-e40``; infinite MI);
- ``mlp-noisy``: the same recipe trained and sampled with noise sigma = 0.1 after every hidden
  activation (``net-gaussian-mixture-tanh-noisy0.1-L1-e40``); finite MI with no exact value,
  so each estimator's trend is reported and ``noisy-sp``'s convergence is shown, not assumed.

Two sweeps
----------
- against n (10^2 to 3 * 10^4; quick: 10^2, 10^3, 10^4): KSG (k = 3, 10), binning (10, 30, 100
  bins over the data range), KDE (Scott's bandwidth), InfoNCE (200 steps, a small critic), and
  ``noisy-sp`` (sigma = 0.1, fed the clean activations) on the noisy layers;
- against each estimator's resolution at fixed n, on the two 1-d layers: bins 10 to 10^4, k 1 to
  50, KDE bandwidth 0.01 to 1 (in units of the standardized data).

Verdict numbers (MI in nats): the rise per decade of n of every estimator on every layer (the
slope of the mean estimate against log10 n); KSG's on the deterministic 1-d layer (>= 1.5
predicted: a kNN estimate of an infinite MI grows like log n) against the noisy one (levels
off: |rise| <= 0.1); KSG k = 3 and ``noisy-sp`` at the largest n against the quadrature MI
(within 0.1); the slope of the binned estimate against the log of the bin count at fixed n on
the deterministic 1-d layer (about 1: the estimate is the entropy of the binned layer); on the
noisy MLP layer, ``noisy-sp``'s rise over the last decade of n against its rise over the first
(ratio < 0.5: converging; its MI of ~6 nats in 6 dimensions needs many samples) and KSG's
rise over the last decade there against that on the deterministic MLP layer.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mibench.experiments import ExperimentResult, Verdict, register_experiment
from mibench.experiments._common import estimate_row, rise_per_decade
from mibench.experiments.quadrature import noisy_continuous_channel_mi

__all__ = ["SIGMA", "divergence"]

#: Noise standard deviation of the noisy layers.
SIGMA = 0.1
_MLP = "net-gaussian-mixture-tanh-det-L1-e40"
_MLP_NOISY = "net-gaussian-mixture-tanh-noisy0.1-L1-e40"
#: (layer, title, noisy)
LAYERS = (
    ("tanh-1d", "tanh(2X), X ~ U[-1, 1]", False),
    ("tanh-1d-noisy", f"tanh(2X) + N(0, {SIGMA}²)", True),
    ("mlp", "tanh MLP layer 1 (width 6), Gaussian-mixture input", False),
    ("mlp-noisy", f"noisy tanh MLP layer 1, sigma {SIGMA}", True),
)
#: (label, estimator, params) of the n sweep; noisy-sp is added on the noisy layers.
ESTIMATORS = (
    ("ksg k=3", "ksg", {"k": 3}),
    ("ksg k=10", "ksg", {"k": 10}),
    ("binning 10", "binning", {"n_bins": 10}),
    ("binning 30", "binning", {"n_bins": 30}),
    ("binning 100", "binning", {"n_bins": 100}),
    ("kde", "kde", {}),
    ("infonce", "infonce", {"steps": 200, "hidden": (32, 32), "batch_size": 64}),
)
# noisy-sp gets at least this many Monte Carlo points (n * draws), so its own Monte Carlo error
# (about 0.7 / sqrt(points) nats) stays far below the tolerance at every n.
_SP_POINTS = 20_000


@dataclass(frozen=True)
class _Settings:
    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    resolution_n: int
    bins: tuple[int, ...]
    ks: tuple[int, ...]
    bandwidths: tuple[float, ...]
    kde_max_n: int
    infonce_max_n: int
    extra: dict[str, Any] = field(default_factory=dict)


_FULL = _Settings(
    sizes=(100, 300, 1000, 3000, 10_000, 30_000),
    seeds=(0, 1, 2),
    resolution_n=10_000,
    bins=(10, 30, 100, 300, 1000, 3000, 10_000),
    ks=(1, 2, 3, 5, 10, 20, 50),
    bandwidths=(0.01, 0.03, 0.1, 0.3, 1.0),
    kde_max_n=30_000,
    infonce_max_n=30_000,
)
_QUICK = _Settings(
    sizes=(100, 1000, 10_000),
    seeds=(0,),
    resolution_n=3000,
    bins=(10, 30, 100, 300, 1000, 3000),
    ks=(1, 3, 10, 50),
    bandwidths=(0.01, 0.1, 1.0),
    kde_max_n=3000,
    infonce_max_n=10_000,
)


def _sample(layer: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, clean S, observed layer) of n samples; the observed layer is S for a deterministic one."""
    rng = np.random.default_rng([seed, n])
    if layer.startswith("tanh-1d"):
        x = rng.uniform(-1.0, 1.0, size=n)
        clean = np.tanh(2.0 * x)
        observed = clean + SIGMA * rng.standard_normal(n) if layer.endswith("noisy") else clean
        return x, clean, observed
    from mibench.datasets.network_layers import sample_clean_and_noisy

    return sample_clean_and_noisy(_MLP_NOISY if layer == "mlp-noisy" else _MLP, n, rng)


def _sp_params(n: int) -> dict[str, Any]:
    return {"sigma": SIGMA, "draws": max(1, math.ceil(_SP_POINTS / n)), "seed": 0}


def _n_sweep(settings: _Settings, truths: dict[str, float | None]) -> list[dict[str, Any]]:
    rows = []
    for layer, _, noisy in LAYERS:
        for n in settings.sizes:
            for seed in settings.seeds:
                x, clean, observed = _sample(layer, n, seed)
                common = {"sweep": "n", "layer": layer, "n": n, "seed": seed,
                          "truth_nats": truths[layer]}
                for label, name, params in ESTIMATORS:
                    if (name == "kde" and n > settings.kde_max_n) or (
                        name == "infonce" and n > settings.infonce_max_n
                    ):
                        continue
                    rows.append(estimate_row(name, params, x, observed, label=label, **common))
                if noisy:
                    rows.append(estimate_row("noisy-sp", _sp_params(n), x, clean,
                                             label="noisy-sp", **common))
    return rows


def _resolution_sweep(settings: _Settings, truths: dict[str, float | None]) -> list[dict[str, Any]]:
    rows = []
    n = settings.resolution_n
    grids = (
        ("binning", "n_bins", settings.bins),
        ("ksg", "k", settings.ks),
        ("kde", "bandwidth", settings.bandwidths),
    )
    for layer in ("tanh-1d", "tanh-1d-noisy"):
        x, _, observed = _sample(layer, n, seed=0)
        for name, parameter, values in grids:
            for value in values:
                rows.append(estimate_row(
                    name, {parameter: value}, x, observed, label=name, sweep="resolution",
                    layer=layer, n=n, seed=0, truth_nats=truths[layer],
                    resolution_parameter=parameter, resolution=value,
                ))
    return rows


def _mean_by_n(rows, layer: str, label: str) -> dict[int, float]:
    values: dict[int, list[float]] = {}
    for row in rows:
        if (row["sweep"] == "n" and row["layer"] == layer and row["label"] == label
                and row["estimate_nats"] is not None):
            values.setdefault(row["n"], []).append(row["estimate_nats"])
    return {n: statistics.fmean(v) for n, v in sorted(values.items())}


def _rise_table(rows) -> list[dict[str, Any]]:
    table = []
    labels = [label for label, _, _ in ESTIMATORS] + ["noisy-sp"]
    for layer, _, _ in LAYERS:
        for label in labels:
            means = _mean_by_n(rows, layer, label)
            if len(means) >= 2:
                table.append({"layer": layer, "estimator": label,
                              "rise_per_decade_nats": rise_per_decade(list(means), list(means.values())),
                              "at_largest_n_nats": means[max(means)], "largest_n": max(means)})
    return table


def _last_decade_rise(rows, layer: str, label: str) -> float:
    """Rise per decade over the sizes from a tenth of the largest to the largest."""
    means = _mean_by_n(rows, layer, label)
    last = [n for n in means if n >= max(means) / 10]
    return rise_per_decade(last, [means[n] for n in last])


def _binning_slope(rows, layer: str, n: int) -> float:
    """Slope of the binned estimate against ln(bins), over bins <= n / 10 (before saturation)."""
    points = [(math.log(r["resolution"]), r["estimate_nats"]) for r in rows
              if r["sweep"] == "resolution" and r["layer"] == layer and r["estimator"] == "binning"
              and r["resolution"] <= n / 10 and r["estimate_nats"] is not None]
    logs, values = np.array(points).T
    return float(np.polyfit(logs, values, 1)[0])


def _verdicts(rows, rise, truths, settings) -> list[Verdict]:
    def rise_of(layer, label):
        return next((r["rise_per_decade_nats"] for r in rise
                     if r["layer"] == layer and r["estimator"] == label), math.nan)

    largest = max(settings.sizes)
    truth = truths["tanh-1d-noisy"]
    ksg_noisy = _mean_by_n(rows, "tanh-1d-noisy", "ksg k=3")[largest]
    sp_noisy = _mean_by_n(rows, "tanh-1d-noisy", "noisy-sp")[largest]
    sp_mlp = _mean_by_n(rows, "mlp-noisy", "noisy-sp")
    first = [n for n in sp_mlp if n <= min(sp_mlp) * 10]
    sp_first = rise_per_decade(first, [sp_mlp[n] for n in first])
    sp_last = _last_decade_rise(rows, "mlp-noisy", "noisy-sp")
    slope = _binning_slope(rows, "tanh-1d", settings.resolution_n)
    verdicts = []
    for label in ("ksg k=3", "ksg k=10"):
        value = rise_of("tanh-1d", label)
        verdicts.append(Verdict(f"{label}: rise per decade of n, deterministic 1-d layer [nats]",
                                value, ">= 1.5 (grows without bound)", value >= 1.5))
    for label in ("ksg k=3", "ksg k=10"):
        value = rise_of("tanh-1d-noisy", label)
        verdicts.append(Verdict(f"{label}: rise per decade of n, noisy 1-d layer [nats]",
                                value, "|rise| <= 0.1 (levels off)", abs(value) <= 0.1))
    verdicts += [
        Verdict(f"ksg k=3 minus exact MI, noisy 1-d layer, n = {largest} [nats]",
                ksg_noisy - truth, "|error| <= 0.1", abs(ksg_noisy - truth) <= 0.1),
        Verdict(f"noisy-sp minus exact MI, noisy 1-d layer, n = {largest} [nats]",
                sp_noisy - truth, "|error| <= 0.1", abs(sp_noisy - truth) <= 0.1),
        Verdict(f"binning at n = {settings.resolution_n}: slope of the estimate against "
                "ln(bins), deterministic 1-d layer, bins <= n/10",
                slope, "between 0.8 and 1.1 (follows log bins)", 0.8 <= slope <= 1.1),
    ]
    det = _last_decade_rise(rows, "mlp", "ksg k=3")
    noisy = _last_decade_rise(rows, "mlp-noisy", "ksg k=3")
    verdicts += [
        Verdict(f"ksg k=3: rise over the last decade of n (to {largest}), deterministic minus "
                "noisy MLP layer [nats]", det - noisy,
                ">= 0.5 (only the deterministic one diverges)", det - noisy >= 0.5),
        Verdict("noisy-sp on the noisy MLP layer (no exact value): rise over the last decade "
                "of n / rise over the first", sp_last / sp_first,
                "< 0.5 (converging)", sp_last / sp_first < 0.5),
    ]
    return verdicts


def _plot_n(rows, truths, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 9), layout="constrained")
    axes = figure.subplots(2, 2).ravel()
    labels = [label for label, _, _ in ESTIMATORS] + ["noisy-sp"]
    markers = dict(zip(labels, "os^v<>Dx"))
    for axis, (layer, title, _) in zip(axes, LAYERS):
        for label in labels:
            means = _mean_by_n(rows, layer, label)
            if means:
                axis.plot(list(means), list(means.values()), marker=markers[label], label=label,
                          lw=2.5 if label == "noisy-sp" else 1.2)
        truth = truths[layer]
        if truth is not None and math.isfinite(truth):
            axis.axhline(truth, color="black", ls="--", label=f"exact (quadrature) {truth:.3f}")
            status = f"true MI {truth:.3f} nats"
        elif truth is None:
            status = "true MI finite, no exact value"
        else:
            status = "true MI infinite"
        axis.set_xscale("log")
        axis.set_title(f"{title}\n{status}", fontsize=10)
        axis.set_xlabel("samples n")
        axis.set_ylabel("estimate of I(X; layer) [nats]")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, ncol=2)
    figure.suptitle("Estimates against n: deterministic layers diverge, noisy ones settle")
    figure.savefig(path, dpi=110)
    return path


def _plot_resolution(rows, truths, n: int, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(14, 4.5), layout="constrained")
    axes = figure.subplots(1, 3)
    panels = (("binning", "number of bins per dimension"), ("ksg", "neighbours k"),
              ("kde", "bandwidth (standardized units)"))
    for axis, (name, xlabel) in zip(axes, panels):
        for layer, title, _ in LAYERS[:2]:
            points = sorted((r["resolution"], r["estimate_nats"]) for r in rows
                            if r["sweep"] == "resolution" and r["layer"] == layer
                            and r["estimator"] == name and r["estimate_nats"] is not None)
            if points:
                axis.plot(*zip(*points), marker="o", label=title)
        if name == "binning":
            bins = sorted({r["resolution"] for r in rows if r["estimator"] == "binning"
                           and r["sweep"] == "resolution"})
            axis.plot(bins, np.log(bins), color="grey", ls=":", label="log(bins)")
            axis.axhline(math.log(n), color="grey", ls="-.", lw=0.8, label=f"log n = {math.log(n):.2f}")
        axis.axhline(truths["tanh-1d-noisy"], color="black", ls="--",
                     label="exact MI, noisy layer")
        axis.set_xscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel("estimate [nats]")
        axis.set_title(f"{name} at n = {n}", fontsize=10)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle("On the deterministic layer the resolution decides the number; on the "
                    "noisy one KSG hardly depends on k (binning still does once bins near n)")
    figure.savefig(path, dpi=110)
    return path


@register_experiment(
    "divergence",
    claim="The MI of a deterministic layer with a continuous input is infinite: estimates grow "
    "with n and with resolution; with noise they settle on the exact MI.",
)
def divergence(output_dir: Path, quick: bool) -> ExperimentResult:
    """Estimates against n and against resolution on deterministic and noisy layers.

    Parameters
    ----------
    output_dir : Path
        Receives ``divergence_n.png`` and ``divergence_resolution.png``.
    quick : bool
        n in {10^2, 10^3, 10^4}, one seed, shorter resolution grids at n = 3,000.
    """
    settings = _QUICK if quick else _FULL
    output_dir = Path(output_dir)
    truths = {
        "tanh-1d": math.inf,
        "tanh-1d-noisy": noisy_continuous_channel_mi(lambda x: np.tanh(2.0 * x), -1.0, 1.0, SIGMA),
        "mlp": math.inf,
        "mlp-noisy": None,
    }
    rows = _n_sweep(settings, truths) + _resolution_sweep(settings, truths)
    rise = _rise_table(rows)
    verdicts = _verdicts(rows, rise, truths, settings)
    figures = [
        _plot_n(rows, truths, output_dir / "divergence_n.png"),
        _plot_resolution(rows, truths, settings.resolution_n,
                         output_dir / "divergence_resolution.png"),
    ]
    lines = ["Rise per decade of n (nats), by layer:"]
    for layer, _, _ in LAYERS:
        cells = ", ".join(f"{r['estimator']} {r['rise_per_decade_nats']:+.2f}" for r in rise
                          if r["layer"] == layer)
        lines.append(f"- {layer}: {cells}")
    lines.append(f"Exact MI of the noisy 1-d layer (quadrature): {truths['tanh-1d-noisy']:.4f} nats.")
    return ExperimentResult(
        tables={"rise_per_decade": rise},
        figures=figures,
        summary="\n".join(lines),
        rows=rows,
        verdicts=verdicts,
        settings={
            "sizes": list(settings.sizes), "seeds": list(settings.seeds), "sigma": SIGMA,
            "resolution_n": settings.resolution_n, "bins": list(settings.bins),
            "ks": list(settings.ks), "bandwidths": list(settings.bandwidths),
            "kde_max_n": settings.kde_max_n, "infonce_max_n": settings.infonce_max_n,
            "noisy_sp_points": _SP_POINTS,
            "estimators": {label: {"estimator": name, **params}
                           for label, name, params in ESTIMATORS},
        },
    )
