"""The remedy's mechanism: in a noisy network, "compression" is geometric clustering.

Goldfeld et al. (ICML 2019), after their single-neuron example: T = tanh(w X) + Z with X uniform
on {-3, -1, 1, 3} and Z ~ N(0, 0.1^2). For small w the four images tanh(w x) sit within the
noise of each other and I(X; T) is small; as w grows they separate and I(X; T) rises towards
log 4; as w grows further tanh saturates, the images of 1 and 3 (and of -1 and -3) merge into
two clusters near +-1, and I(X; T) falls towards log 2. The MI of the noisy neuron tracks the
clustering of the representation, a geometric fact, not a loss of information about X that a
deterministic network could ever show.

Rows (MI in nats), for w from 0.05 to 5 (log-spaced; 0.05, 0.2, 0.5, 1, 2, 3 and 5 always):

- ``exact``: I(X; T) = h(T) - h(Z) by one-dimensional quadrature of the four-component mixture
  (:mod:`mibench.experiments.quadrature`, independent of every estimator);
- ``noisy-sp``: the sample-propagation estimator on n clean samples (x, tanh(w x)), sigma 0.1;
- ``binning`` (30 bins over the range of T, x as symbols) and ``ksg`` (k = 3) on n samples
  of (x, T);

at n = 500 and 5,000, over seeds (the figure shows the mean and its sd over seeds).

Verdicts, each with its control (the same check on a counterfactual where it must fail): the
exact curve's rise from w = 0.05 to its peak >= 0.5 nats (control: noise sd 1, where the images
never clear the noise); the peak's w between 0.2 and 1 (control: a linear neuron w X + Z with
noise sd 1, which never saturates, so its MI rises up to the largest w); the peak above log 2
(control: two inputs {-1, 1}, at most log 2); the fall from the peak to w = 5 >= 0.5 nats
(control: the same linear neuron); ``noisy-sp``'s largest error against the exact value over the
w grid at the largest n
<= 0.02 nats (control: ``noisy-sp`` told the wrong noise sd 0.05). The four exact-curve verdicts
are properties of a closed form (quadrature); their controls show the check would see a neuron
that does not cluster.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mibench.experiments._common import checked_verdict, estimate_row, mean_and_sd
from mibench.experiments.contract import ExperimentResult, register_experiment
from mibench.experiments.quadrature import noisy_discrete_channel_mi

__all__ = ["INPUT_VALUES", "SIGMA", "clustering", "exact_information"]

#: The four equally likely inputs.
INPUT_VALUES = (-3.0, -1.0, 1.0, 3.0)
#: Noise standard deviation.
SIGMA = 0.1
_REQUIRED_W = (0.05, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0)
#: (label, estimator, params, what it is fed): "clean" = (x, tanh(w x)), "noisy" = (x, T).
ESTIMATORS = (
    # 4 noise draws per sample: n * 4 Monte Carlo points keep the draws' error near 0.005 nats
    # at n = 5,000 (the estimator's default may change; accuracy here must not).
    ("noisy-sp", "noisy-sp", {"sigma": SIGMA, "draws": 4, "seed": 0}, "clean"),
    ("binning 30", "binning", {"n_bins": 30, "discrete_x": True}, "noisy"),
    ("ksg k=3", "ksg", {"k": 3}, "noisy"),
)


@dataclass(frozen=True)
class _Settings:
    weights: tuple[float, ...]
    sizes: tuple[int, ...]
    seeds: tuple[int, ...]


def _grid(count: int) -> tuple[float, ...]:
    spaced = np.geomspace(0.05, 5.0, count)
    return tuple(sorted({round(float(w), 4) for w in spaced} | set(_REQUIRED_W)))


_SIZES = {
    "default": _Settings(weights=_grid(25), sizes=(500, 5000), seeds=(0, 1, 2)),
    "quick": _Settings(weights=_grid(6), sizes=(500, 5000), seeds=(0, 1)),
    "tiny": _Settings(weights=_REQUIRED_W, sizes=(500,), seeds=(0, 1)),
}
#: The controls: a noise that swamps the images, and a wrong noise told to noisy-sp.
LOUD_SIGMA = 1.0
WRONG_SIGMA = 0.05


def exact_information(w: float, sigma: float = SIGMA, inputs=INPUT_VALUES,
                      activation=np.tanh) -> float:
    """I(X; activation(w X) + Z) in nats, X uniform on ``inputs``, Z ~ N(0, sigma^2), by quadrature."""
    return noisy_discrete_channel_mi(activation(w * np.asarray(inputs)), sigma)


def _linear(values):
    return values


def _curve_numbers(exact: dict[float, float]) -> dict[str, float]:
    """Rise to the peak, the peak's w, the peak, the fall from it to the largest w."""
    peak_w = max(exact, key=exact.get)
    return {"rise": exact[peak_w] - exact[min(exact)], "peak_w": peak_w, "peak": exact[peak_w],
            "fall": exact[peak_w] - exact[max(exact)]}


def _sample(w: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, n])
    x = rng.choice(np.asarray(INPUT_VALUES), size=n)
    clean = np.tanh(w * x)
    return x, clean, clean + SIGMA * rng.standard_normal(n)


def _values(rows, label: str, n: int | None) -> dict[float, list[float]]:
    values: dict[float, list[float]] = {}
    for row in rows:
        if row["label"] == label and (n is None or row["n"] == n) and row["estimate_nats"] is not None:
            values.setdefault(row["w"], []).append(row["estimate_nats"])
    return dict(sorted(values.items()))


def _mean(rows, label: str, n: int | None) -> dict[float, float]:
    return {w: statistics.fmean(v) for w, v in _values(rows, label, n).items()}


def _plot(rows, settings: _Settings, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 4.8), layout="constrained")
    axes = figure.subplots(1, len(settings.sizes), sharey=True)
    exact = _mean(rows, "exact", None)
    styles = {"noisy-sp": ("tab:green", "o"), "binning 30": ("tab:orange", "s"),
              "ksg k=3": ("tab:blue", "^")}
    for axis, n in zip(np.atleast_1d(axes), settings.sizes):
        axis.plot(list(exact), list(exact.values()), color="black", lw=2.5,
                  label="exact (quadrature)")
        for label, (colour, marker) in styles.items():
            stats = {w: mean_and_sd(v) for w, v in _values(rows, label, n).items()}
            axis.errorbar(list(stats), [m for m, _ in stats.values()],
                          yerr=[sd for _, sd in stats.values()], color=colour, marker=marker,
                          ms=4, lw=1, capsize=2, label=label)
        axis.axhline(math.log(4), color="grey", ls=":", lw=0.8)
        axis.axhline(math.log(2), color="grey", ls=":", lw=0.8)
        axis.text(0.05, math.log(4) + 0.02, "log 4", fontsize=8, color="grey")
        axis.text(0.05, math.log(2) + 0.02, "log 2", fontsize=8, color="grey")
        axis.set_xscale("log")
        axis.set_xlabel("weight w [1]")
        axis.set_ylabel("I(X; T) [nats]")
        axis.set_title(f"n = {n} samples (mean over {len(settings.seeds)} seeds; bars: sd)",
                       fontsize=10)
        axis.grid(alpha=0.3)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    figure.suptitle(f"T = tanh(w X) + N(0, {SIGMA}²), X uniform on {{-3, -1, 1, 3}}: "
                    "I(X; T) rises while the four images separate, falls as they cluster into two")
    figure.savefig(path, dpi=110)
    return path


def _plot_clusters(path: Path) -> Path:
    """The density of T at a few w: four bumps, then two."""
    from matplotlib.figure import Figure
    from scipy import stats

    figure = Figure(figsize=(7, 4), layout="constrained")
    axis = figure.subplots()
    t = np.linspace(-1.5, 1.5, 1201)
    for w in (0.05, 0.5, 1.0, 5.0):
        centres = np.tanh(w * np.asarray(INPUT_VALUES))
        density = stats.norm.pdf(t[:, None], loc=centres[None], scale=SIGMA).mean(axis=1)
        axis.plot(t, density, label=f"w = {w}: I = {exact_information(w):.3f} nats")
    axis.set_xlabel("t [units of the neuron's output]")
    axis.set_ylabel("density of T [1 / unit of t]")
    axis.set_title("Law of T = tanh(w X) + Z: the inputs cluster as w grows", fontsize=10)
    axis.legend(fontsize=8)
    figure.savefig(path, dpi=110)
    return path


@register_experiment(
    "clustering",
    claim="In a noisy neuron, I(X; T) rises and then falls with the weight as the inputs' "
    "images cluster: compression is geometric clustering (Goldfeld et al. 2019).",
)
def clustering(output_dir: Path, quick: bool, size: str | None = None) -> ExperimentResult:
    """Exact and estimated I(X; tanh(w X) + Z) against w.

    Parameters
    ----------
    output_dir : Path
        Receives ``clustering.png`` and ``clustering_densities.png``.
    quick : bool
        A coarser w grid (the required points and 6 log-spaced ones) and two seeds.
    size : {"tiny", "quick", "default"}, optional
        Overrides ``quick``; ``"tiny"`` (the 7 required w, n = 500) is for the tests.
    """
    settings = _SIZES[size or ("quick" if quick else "default")]
    output_dir = Path(output_dir)
    rows: list[dict[str, Any]] = []
    for w in settings.weights:
        truth = exact_information(w)
        rows.append({"estimator": "exact", "params": {"method": "quadrature"}, "seed": None,
                     "estimate_nats": truth, "truth_nats": truth, "w": w, "n": None,
                     "label": "exact", "seconds": None, "error": None})
        for n in settings.sizes:
            for seed in settings.seeds:
                x, clean, noisy = _sample(w, n, seed)
                for label, name, params, fed in ESTIMATORS:
                    rows.append(estimate_row(name, params, x, clean if fed == "clean" else noisy,
                                             sample=f"w={w}", w=w, n=n, seed=seed,
                                             truth_nats=truth, label=label))
                if n == max(settings.sizes):
                    wrong = {**ESTIMATORS[0][2], "sigma": WRONG_SIGMA}
                    rows.append(estimate_row("noisy-sp", wrong, x, clean, sample=f"w={w}",
                                             w=w, n=n, seed=seed,
                                             truth_nats=truth,
                                             label=f"noisy-sp told sigma {WRONG_SIGMA}"))
    exact = _mean(rows, "exact", None)
    main = _curve_numbers(exact)
    weights = list(exact)
    loud = _curve_numbers({w: exact_information(w, sigma=LOUD_SIGMA) for w in weights})
    linear = _curve_numbers({w: exact_information(w, sigma=LOUD_SIGMA, activation=_linear)
                             for w in weights})
    two = _curve_numbers({w: exact_information(w, inputs=(-1.0, 1.0)) for w in weights})
    peak_w = main["peak_w"]
    largest = max(settings.sizes)
    labels = [label for label, *_ in ESTIMATORS] + [f"noisy-sp told sigma {WRONG_SIGMA}"]
    errors = {label: {n: max((abs(v - exact[w]) for w, v in _mean(rows, label, n).items()),
                             default=math.nan)
                      for n in settings.sizes} for label in labels}
    verdicts = [
        checked_verdict(f"exact: rise from w = {min(exact)} to the peak [nats]", main["rise"],
                        ">= 0.5", lambda v: v >= 0.5,
                        f"the same rise, noise sd {LOUD_SIGMA:g} (images never clear the noise)",
                        loud["rise"]),
        checked_verdict("exact: w of the peak", peak_w,
                        "between 0.2 and 1 (images apart, not yet saturated)",
                        lambda v: 0.2 <= v <= 1.0,
                        f"the same, linear neuron w X + Z, noise sd {LOUD_SIGMA:g} (never saturates)",
                        linear["peak_w"]),
        checked_verdict("exact: peak I(X; T) [nats]", main["peak"],
                        "> log 2 = 0.693 (more than two clusters resolved)",
                        lambda v: v > math.log(2) + 1e-9,
                        "the same, two inputs {-1, 1}", two["peak"]),
        checked_verdict(f"exact: fall from the peak to w = {max(exact)} [nats]", main["fall"],
                        ">= 0.5 (four images cluster into two)", lambda v: v >= 0.5,
                        f"the same fall, linear neuron w X + Z, noise sd {LOUD_SIGMA:g}", linear["fall"]),
        checked_verdict(f"noisy-sp: largest |error| over w at n = {largest} [nats]",
                        errors["noisy-sp"][largest], "<= 0.02", lambda v: v <= 0.02,
                        f"the same, noisy-sp told the wrong noise sd {WRONG_SIGMA}",
                        errors[labels[-1]][largest]),
    ]
    figures = [_plot(rows, settings, output_dir / "clustering.png"),
               _plot_clusters(output_dir / "clustering_densities.png")]
    lines = [f"Exact I(X; T): {exact[min(exact)]:.3f} nats at w = {min(exact)}, peak "
             f"{exact[peak_w]:.3f} at w = {peak_w}, {exact[max(exact)]:.3f} at w = {max(exact)} "
             f"(log 2 = {math.log(2):.3f}).",
             "Largest |estimate - exact| over w (nats): "
             + "; ".join(f"{label}: " + ", ".join(f"n={n} {e:.3f}" for n, e in by_n.items())
                         for label, by_n in errors.items()) + "."]
    return ExperimentResult(
        tables={"largest_error": [{"estimator": label, "n": n, "largest_abs_error_nats": e}
                                  for label, by_n in errors.items() for n, e in by_n.items()]},
        figures=figures,
        summary="\n".join(lines),
        rows=rows,
        verdicts=verdicts,
        settings={"w": list(settings.weights), "sizes": list(settings.sizes),
                  "seeds": list(settings.seeds), "sigma": SIGMA, "inputs": list(INPUT_VALUES),
                  "estimators": {label: {"estimator": name, **params}
                                 for label, name, params, _ in ESTIMATORS}},
    )
