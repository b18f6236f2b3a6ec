"""The talk's invariance claim: MI cannot see how decodable (P3) or robust (P4) a layer is.

For any bijection g, I(X; g(L)) = I(X; L) and I(Y; g(L)) = I(Y; L): mutual information is
blind to what the map does to the geometry of the layer. Take a trained layer L of the
deterministic ``szt12`` network (X uniform over its 4,096 input patterns, so the true values
are exact entropies of the layer's rows) and five bijections: scaling by 10, a cube, a random
rotation, a spiral and a fast monotone wiggle. The exact MI stays put to the last bit, while

- every estimator's number moves (binning, KSG, KDE, InfoNCE measure the geometry of the
  sample, not the MI of the deterministic layer), and
- so do the properties a representation is wanted for: P3, the cross-validated accuracy of a
  linear probe of Y from g(L), and P4, that probe's accuracy when small Gaussian noise perturbs
  the input X before the network.

The truths are computed by grouping identical rows of g(L) over the input set
(:func:`mibench.datasets.network_layers.rows_entropy`), never by an estimator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.stats import special_ortho_group
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mibench.datasets.network_layers import exact_label_information, rows_entropy, trained_network
from mibench.estimators import get_estimator
from mibench.experiments import ExperimentResult, Verdict, register_experiment
from mibench.networks.inputs import get_inputs

__all__ = [
    "BIJECTIONS",
    "ESTIMATORS",
    "bijection",
    "cube",
    "probe_accuracies",
    "random_rotation",
    "scale_by_ten",
    "spiral",
    "wiggle",
]

CLAIM = (
    "MI is blind to bijections: the true I(X; g(L)) and I(Y; g(L)) do not change, while "
    "every estimator's number, the linear-probe accuracy (P3) and its robustness (P4) do."
)

#: The network and the layer the bijections act on: hidden layer 3 (5 tanh units) of the
#: deterministic szt12 network after its 40 epochs of training.
INPUTS, ACTIVATION, LAYER = "szt12", "tanh", 3
#: Seed of the random rotation, the probe's folds and the input noise of P4.
SEED = 0
#: Standard deviation of the Gaussian noise added to the +-1 inputs for P4.
INPUT_NOISE = 0.3
#: Folds of the cross-validated linear probe.
FOLDS = 5
#: Radians of twist per unit radius of the spiral (a full turn at radius 1).
SPIRAL_TWIST = 2 * math.pi
#: Frequency and amplitude of the wiggle x + a sin(f x) / f; its slope 1 + a cos(f x) >= 1 - a
#: stays positive for a < 1, so the map is strictly increasing.
WIGGLE_FREQUENCY, WIGGLE_AMPLITUDE = 50.0, 0.9


def scale_by_ten(values: np.ndarray) -> np.ndarray:
    """10 L: a linear bijection."""
    return 10.0 * values


def cube(values: np.ndarray) -> np.ndarray:
    """L ** 3 per coordinate: strictly increasing, flat at 0 and steep at +-1."""
    return values**3


def random_rotation(values: np.ndarray, seed: int = SEED) -> np.ndarray:
    """L Q with Q a rotation drawn from the Haar measure on SO(d) (seeded)."""
    rotation = special_ortho_group.rvs(values.shape[1], random_state=seed)
    return values @ rotation


def spiral(values: np.ndarray, twist: float = SPIRAL_TWIST) -> np.ndarray:
    """Each pair of coordinates (2k, 2k + 1) turned by ``twist`` times its radius.

    The radius of every pair is kept, so the inverse turns back by the same angle: a smooth
    bijection of R^d that bends straight lines into spirals. An odd last coordinate is kept.
    """
    result = values.copy()
    for first in range(0, values.shape[1] - 1, 2):
        a, b = values[:, first], values[:, first + 1]
        angle = twist * np.hypot(a, b)
        cos, sin = np.cos(angle), np.sin(angle)
        result[:, first] = cos * a - sin * b
        result[:, first + 1] = sin * a + cos * b
    return result


def wiggle(values: np.ndarray) -> np.ndarray:
    """x + 0.9 sin(50 x) / 50 per coordinate: strictly increasing, but fast-oscillating."""
    return values + WIGGLE_AMPLITUDE * np.sin(WIGGLE_FREQUENCY * values) / WIGGLE_FREQUENCY


#: (name, bijection); ``identity`` is the layer itself, the reference of every change.
BIJECTIONS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("identity", lambda values: values),
    ("scale x10", scale_by_ten),
    ("cube", cube),
    ("rotation", random_rotation),
    ("spiral", spiral),
    ("wiggle", wiggle),
)

#: (label, estimator, parameters): one of each family. The inputs and the labels are finite
#: sets, so binning takes them as symbols (``discrete_x``).
ESTIMATORS: tuple[tuple[str, str, dict], ...] = (
    ("binning 30 bins", "binning", {"n_bins": 30, "discrete_x": True}),
    ("ksg k=3", "ksg", {"k": 3}),
    ("kde", "kde", {}),
    ("infonce", "infonce", {"steps": 300, "seed": SEED}),
)
QUICK_INFONCE_STEPS = 150
#: Extra seeds of the seeded estimators, on the identity only: a bijection's effect must
#: exceed what a different seed does to the same layer.
EXTRA_SEEDS = (1, 2)
#: Smallest spread across bijections that counts as "the estimate sees the bijection", nats.
MIN_SPREAD = 0.05

TARGETS = ("I(X; g(L))", "I(Y; g(L))")


def probe_accuracies(
    features: np.ndarray, perturbed: np.ndarray, labels: np.ndarray, seed: int = SEED
) -> tuple[float, float]:
    """(P3, P4): cross-validated accuracy of a linear probe, on clean and perturbed features.

    The probe (standardization, then L2 logistic regression) is fitted on the clean features of
    each training fold and scored on the held-out fold, once with its clean features (P3) and
    once with ``perturbed`` (the features of the same inputs after input noise, P4).

    Parameters
    ----------
    features, perturbed : ndarray, shape (m, d)
        g(L(x)) and g(L(x + noise)) for the same m inputs.
    labels : ndarray, shape (m,)
    """
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    clean_hits = perturbed_hits = 0
    for train, test in folds.split(features, labels):
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        probe.fit(features[train], labels[train])
        clean_hits += int((probe.predict(features[test]) == labels[test]).sum())
        perturbed_hits += int((probe.predict(perturbed[test]) == labels[test]).sum())
    return clean_hits / labels.size, perturbed_hits / labels.size


def _seed_ranges(estimators, x, layer, identity_row, rows: list[dict]) -> dict:
    """Per estimator label: max - min of I(X; L) over its seeds on the untransformed layer.

    None for an estimator without a seed (its number is a function of the sample). The extra
    estimates are appended to ``rows``.
    """
    ranges = {}
    truth = identity_row[f"true {TARGETS[0]}"]
    for label, name, params, estimator in estimators:
        if "seed" not in estimator.get_params():
            ranges[label] = None
            continue
        values = [identity_row[f"{label}: {TARGETS[0]}"]]
        for seed in EXTRA_SEEDS:
            seeded = {**params, "seed": seed}
            values.append(float(get_estimator(name, **seeded).estimate(x, layer)))
            rows.append({"estimator": name, "params": seeded, "seed": seed,
                         "estimate_nats": values[-1], "truth_nats": truth,
                         "bijection": "identity", "target": TARGETS[0], "n": layer.shape[0],
                         "label": label})
        ranges[label] = max(values) - min(values)
    return ranges


def _plot(table: list[dict], estimators: list[str], output_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row["bijection"] for row in table]
    positions = np.arange(len(names))
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    width = 0.8 / len(estimators)
    for axis, target in zip(axes[:2], TARGETS):
        for index, label in enumerate(estimators):
            values = [row[f"{label}: {target}"] for row in table]
            axis.bar(positions - 0.4 + (index + 0.5) * width, values, width, label=label)
        truth = [row[f"true {target}"] for row in table]
        axis.plot(positions, truth, color="black", marker="_", markersize=30, linestyle="none",
                  markeredgewidth=2.5, label="true MI (exact)")
        axis.set_xticks(positions, names, rotation=20)
        axis.set_xlabel("bijection g applied to the layer")
        axis.set_ylabel(f"{target} [nats]")
        axis.set_title(f"{target}: the truth is flat, the estimates are not")
    handles, names_in_legend = axes[0].get_legend_handles_labels()
    fig.legend(handles, names_in_legend, loc="lower center", ncol=len(handles), fontsize=9)
    axes[2].plot(positions, [row["P3 probe accuracy"] for row in table], marker="o",
                 label="P3: linear probe, clean input")
    axes[2].plot(positions, [row["P4 probe accuracy, noisy input"] for row in table],
                 marker="s", label=f"P4: same probe, input noise sd {INPUT_NOISE:g}")
    axes[2].set_xticks(positions, names, rotation=20)
    axes[2].set_xlabel("bijection g applied to the layer")
    axes[2].set_ylabel("accuracy (fraction of inputs)")
    axes[2].set_title("P3 and P4 change with the bijection")
    axes[2].legend(fontsize=8)
    fig.suptitle(f"Bijections of layer {LAYER} of the deterministic {INPUTS} {ACTIVATION} network")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path = output_dir / "bijection.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


@register_experiment("bijection", claim=CLAIM)
def bijection(output_dir: Path, quick: bool = False) -> ExperimentResult:
    """True MI, each estimator, P3 and P4 for every bijection of one trained layer.

    Tables (MI in nats): ``by bijection`` (one row per bijection: the true I(X; g(L)) and
    I(Y; g(L)), each estimator's two numbers, P3, P4) and ``spreads`` (per quantity, its largest
    minus its smallest value across the bijections). ``rows``: one row per estimate, the exact
    values under the estimator name ``exact``.
    """
    output_dir = Path(output_dir)
    inputs = get_inputs(INPUTS)
    network = trained_network(INPUTS, ACTIVATION, 0.0)
    epoch = network.epochs[-1]
    layer = network.activations(inputs.x, epoch).clean[LAYER - 1]
    noise_rng = np.random.default_rng(SEED)
    noisy_inputs = inputs.x + INPUT_NOISE * noise_rng.standard_normal(inputs.x.shape)
    layer_of_noisy = network.activations(noisy_inputs, epoch).clean[LAYER - 1]
    labels = inputs.labels
    label_column = labels[:, None].astype(np.float64)

    estimators = []
    for label, name, params in ESTIMATORS:
        if quick and name == "infonce":
            params = {**params, "steps": QUICK_INFONCE_STEPS}
        estimators.append((label, name, params, get_estimator(name, **params)))

    rows, table = [], []
    for name, function in BIJECTIONS:
        mapped = function(layer)
        truths = {TARGETS[0]: rows_entropy(mapped), TARGETS[1]: exact_label_information(mapped, labels)}
        p3, p4 = probe_accuracies(mapped, function(layer_of_noisy), labels)
        entry = {"bijection": name}
        entry.update({f"true {target}": value for target, value in truths.items()})
        for target, value in truths.items():
            rows.append({"estimator": "exact", "params": {}, "seed": None, "estimate_nats": value,
                         "truth_nats": value, "bijection": name, "target": target,
                         "n": labels.size, "label": "exact (grouping identical rows)"})
        for label, estimator_name, params, estimator in estimators:
            for target, x in zip(TARGETS, (inputs.x, label_column)):
                value = float(estimator.estimate(x, mapped))
                entry[f"{label}: {target}"] = value
                rows.append({"estimator": estimator_name, "params": params,
                             "seed": estimator.get_params().get("seed"),
                             "estimate_nats": value, "truth_nats": truths[target],
                             "bijection": name, "target": target, "n": labels.size,
                             "label": label})
        entry["P3 probe accuracy"] = p3
        entry["P4 probe accuracy, noisy input"] = p4
        table.append(entry)

    def spread(column: str) -> float:
        values = [row[column] for row in table]
        return max(values) - min(values)

    def largest_change(column: str) -> float:
        return max(abs(row[column] - table[0][column]) for row in table)

    labels_of_estimators = [label for label, *_ in estimators]
    spreads = [{"quantity": f"true {t}", "spread": spread(f"true {t}")} for t in TARGETS]
    spreads += [{"quantity": f"{label}: {t}", "spread": spread(f"{label}: {t}")}
                for label in labels_of_estimators for t in TARGETS]
    spreads += [{"quantity": q, "spread": spread(q)}
                for q in ("P3 probe accuracy", "P4 probe accuracy, noisy input")]

    verdicts = []
    for target in TARGETS:
        change = largest_change(f"true {target}")
        verdicts.append(Verdict(f"largest change of the true {target} across bijections [nats]",
                                change, "0 up to float rounding (<= 1e-9)", change <= 1e-9))
    seed_ranges = _seed_ranges(estimators, inputs.x, layer, table[0], rows)
    for label in labels_of_estimators:
        value = spread(f"{label}: {TARGETS[0]}")
        seed_range = seed_ranges[label]
        threshold = max(MIN_SPREAD, 2 * (seed_range or 0.0))
        why = f"> {MIN_SPREAD}" + ("" if seed_range is None else
                                   f" and > twice its range over seeds {(SEED, *EXTRA_SEEDS)} "
                                   f"on the identity, {seed_range:.3g}")
        verdicts.append(Verdict(
            f"spread of {label} {TARGETS[0]} across bijections [nats]", value,
            f"> {threshold:.3g} (the estimate sees the bijection: {why})", value > threshold))
    for column, short in (("P3 probe accuracy", "P3"), ("P4 probe accuracy, noisy input", "P4")):
        value = spread(column)
        verdicts.append(Verdict(f"spread of {short} across bijections [accuracy]", value,
                                "> 0.01 (the bijection changes it)", value > 0.01))

    figure = _plot(table, labels_of_estimators, output_dir)
    truth_x, truth_y = table[0][f"true {TARGETS[0]}"], table[0][f"true {TARGETS[1]}"]
    summary_lines = [
        f"Layer {LAYER} of the deterministic {INPUTS} {ACTIVATION} network (epoch {epoch}): "
        f"true I(X; L) = {truth_x:.4f} nats (log 4096 = {math.log(4096):.4f}), "
        f"true I(Y; L) = {truth_y:.4f} nats, under every bijection.",
        "",
        "| bijection | " + " | ".join(
            [f"{label}: I(X) / I(Y)" for label in labels_of_estimators] + ["P3", "P4"]) + " |",
        "|---|" + "---:|" * (len(labels_of_estimators) + 2),
    ]
    for row in table:
        cells = [f"{row[f'{label}: {TARGETS[0]}']:.3f} / {row[f'{label}: {TARGETS[1]}']:.3f}"
                 for label in labels_of_estimators]
        cells += [f"{row['P3 probe accuracy']:.3f}", f"{row['P4 probe accuracy, noisy input']:.3f}"]
        summary_lines.append(f"| {row['bijection']} | " + " | ".join(cells) + " |")
    return ExperimentResult(
        tables={"by bijection": table, "spreads": spreads},
        figures=[figure],
        summary="\n".join(summary_lines),
        rows=rows,
        claim=CLAIM,
        verdicts=verdicts,
        settings={
            "network": f"{INPUTS}-{ACTIVATION}-det", "layer": LAYER, "epoch": epoch,
            "n": int(labels.size), "bijections": [name for name, _ in BIJECTIONS],
            "estimators": [[label, name, params] for label, name, params, _ in estimators],
            "input_noise_sd_for_P4": INPUT_NOISE, "probe_folds": FOLDS, "seed": SEED,
            "extra_seeds_on_identity": list(EXTRA_SEEDS),
            "spiral_twist_rad_per_unit_radius": SPIRAL_TWIST,
        },
    )
