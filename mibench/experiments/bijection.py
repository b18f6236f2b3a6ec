"""The talk's invariance claim: MI cannot see how decodable (P3) or robust (P4) a layer is.

For any bijection (any injective map) g, I(X; g(L)) = I(X; L) and I(Y; g(L)) = I(Y; L): mutual
information is blind to what the map does to the geometry of the layer. Take a trained layer L
of the deterministic ``szt12`` network (X uniform over its 4,096 input patterns, so the true
values are exact entropies of the layer's rows) and six injective maps: scaling by 10, a cube, a
random rotation, a spiral, a fast monotone wiggle, and an "off-data jump" (the identity on the
4,096 clean rows, every other point moved by +10 in every coordinate: injective, since the two
pieces' images do not meet). The exact MI stays put to the last bit, while

- every estimator's number moves (binning, KSG, KDE, InfoNCE measure the geometry of the
  sample, not the MI of the deterministic layer);
- P3, the cross-validated accuracy of a linear probe of Y from g(L) (5 folds; the spread over
  folds is shown), moves with the geometry;
- P4, the drop of that same probe's accuracy when Gaussian noise (sd 0.3) perturbs the input X
  before the network, relative to its accuracy without noise, moves too: the off-data jump
  leaves the clean rows, hence P3 and the MI, exactly as they were, and ruins P4.

And the talk's point about approximations: the estimators' I(Y; g(L)) follow decodability (P3)
across the maps, although the true I(Y; g(L)) does not move.

Verdicts, each with its control (the same check where it must fail): the true I(X; g(L)) and
I(Y; g(L)) do not change (control: a non-injective map, rounding to one decimal, that merges
rows); each estimator's I(X; g(L)) spreads by more than 0.2 nats across the maps (control: its
spread over re-runs on the identity, three row orders and seeds); P3 spreads by more than 0.02
(control: the maps a standardized linear probe cannot see, identity and scale x10); the
off-data jump raises the P4 drop by >= 0.1 (control: scale x10) while moving P3 and the true
I(Y; g(L)) by nothing (control: the cube); the estimators' mean I(Y; g(L)) rises with P3 across
the maps by more than 0.2 nats per unit of accuracy (control: the exact I(Y; g(L)), slope 0).

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
from mibench.experiments._common import checked_verdict, estimate_value, mean_and_sd
from mibench.experiments.contract import ExperimentResult, register_experiment
from mibench.networks.inputs import get_inputs

__all__ = [
    "BIJECTIONS",
    "ESTIMATORS",
    "bijection",
    "cube",
    "OffDataJump",
    "probe_accuracies",
    "random_rotation",
    "round_to_tenth",
    "scale_by_ten",
    "spiral",
    "wiggle",
]

CLAIM = (
    "MI is blind to bijections: the true I(X; g(L)) and I(Y; g(L)) do not change, while "
    "every estimator's number, the linear-probe accuracy (P3) and its robustness (P4) do; "
    "the estimators' I(Y; g(L)) follows P3 although the true MI does not."
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


def round_to_tenth(values: np.ndarray) -> np.ndarray:
    """L rounded to one decimal: NOT injective (it merges rows); the control of the truth."""
    return np.round(values, 1)


class OffDataJump:
    """The identity on a given set of rows, every other point moved by +``offset`` per coordinate.

    Injective (so I(X; g(L)) and I(Y; g(L)) are unchanged) as long as the rows lie within
    ``offset / 2`` of the origin in every coordinate: the moved points then never meet them. On
    the clean rows of the layer it changes nothing, so P3 is exactly the identity's; any
    perturbed row is thrown far away, so P4 collapses.
    """

    def __init__(self, rows: np.ndarray, offset: float = 10.0):
        rows = np.asarray(rows, dtype=np.float64)
        if np.abs(rows).max() >= offset / 2:
            raise ValueError("the rows must lie within offset / 2 of 0 for the map to be injective")
        self.rows = {row.tobytes() for row in np.ascontiguousarray(rows)}
        self.offset = offset

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.ascontiguousarray(values, dtype=np.float64)
        on_data = np.array([row.tobytes() in self.rows for row in values])
        return np.where(on_data[:, None], values, values + self.offset)


#: (name, bijection); ``identity`` is the layer itself, the reference of every change. The
#: off-data jump is built per layer (it needs the clean rows): see :func:`_maps`.
BIJECTIONS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("identity", lambda values: values),
    ("scale x10", scale_by_ten),
    ("cube", cube),
    ("rotation", random_rotation),
    ("spiral", spiral),
    ("wiggle", wiggle),
)
OFF_DATA_JUMP = "off-data jump"


def _maps(layer: np.ndarray) -> list[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
    return [*BIJECTIONS, (OFF_DATA_JUMP, OffDataJump(layer))]

#: (label, estimator, parameters): one of each family. The inputs and the labels are finite
#: sets, so binning takes them as symbols (``discrete_x``).
ESTIMATORS: tuple[tuple[str, str, dict], ...] = (
    ("binning 30 bins", "binning", {"n_bins": 30, "discrete_x": True}),
    ("ksg k=3", "ksg", {"k": 3}),
    ("kde", "kde", {}),
    ("infonce", "infonce", {"steps": 300, "seed": SEED}),
)
QUICK_INFONCE_STEPS = 150
#: Re-runs on the identity (row orders, and seeds of the seeded estimators): the control of
#: "the estimate sees the bijection".
EXTRA_SEEDS = (1, 2)
#: Smallest spread across bijections that counts as "the estimate sees the bijection", nats.
MIN_SPREAD = 0.2
#: Smallest spread of P3 across bijections that counts as "decodability changes".
MIN_P3_SPREAD = 0.02
#: Smallest rise of the P4 drop that counts as "robustness hurt".
MIN_P4_HURT = 0.1
#: Smallest slope of the estimators' I(Y; g(L)) against P3, nats per unit of accuracy.
MIN_SLOPE = 0.2

TARGETS = ("I(X; g(L))", "I(Y; g(L))")


def probe_accuracies(
    features: np.ndarray, perturbed: np.ndarray, labels: np.ndarray, seed: int = SEED
) -> dict[str, list[float]]:
    """P3 and P4 per fold: a linear probe's accuracy on clean features and its drop under noise.

    The probe (standardization, then L2 logistic regression) is fitted on the clean features of
    each training fold and scored on the held-out fold, once with its clean features (P3) and
    once with ``perturbed`` (the features of the same inputs after input noise).

    Parameters
    ----------
    features, perturbed : ndarray, shape (m, d)
        g(L(x)) and g(L(x + noise)) for the same m inputs.
    labels : ndarray, shape (m,)

    Returns
    -------
    dict of lists, one value per fold
        ``p3`` (clean accuracy), ``noisy`` (accuracy on perturbed features), ``p4_drop``
        (p3 - noisy: the same decoder's loss under input noise) and ``stability`` (the fraction
        of inputs whose prediction the noise does not change).
    """
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    result: dict[str, list[float]] = {"p3": [], "noisy": [], "p4_drop": [], "stability": []}
    for train, test in folds.split(features, labels):
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        probe.fit(features[train], labels[train])
        clean = probe.predict(features[test])
        noisy = probe.predict(perturbed[test])
        result["p3"].append(float(np.mean(clean == labels[test])))
        result["noisy"].append(float(np.mean(noisy == labels[test])))
        result["p4_drop"].append(result["p3"][-1] - result["noisy"][-1])
        result["stability"].append(float(np.mean(clean == noisy)))
    return result


def _plot(table: list[dict], estimators: list[str], chance: float, output_dir: Path) -> Path:
    from matplotlib.figure import Figure

    names = [row["bijection"] for row in table]
    positions = np.arange(len(names))
    figure = Figure(figsize=(18, 5.6), layout="constrained")
    axes = figure.subplots(1, 3)
    width = 0.8 / len(estimators)
    colours = dict(zip(estimators, ("tab:blue", "tab:orange", "tab:green", "tab:red")))
    for axis, target in zip(axes[:2], TARGETS):
        for index, label in enumerate(estimators):
            values = [row[f"{label}: {target}"] for row in table]
            axis.bar(positions - 0.4 + (index + 0.5) * width, values, width, label=label,
                     color=colours[label])
        truth = [row[f"true {target}"] for row in table]
        axis.plot(positions, truth, color="black", marker="_", markersize=30, linestyle="none",
                  markeredgewidth=2.5, label="true MI (exact)")
        axis.set_xticks(positions, names, rotation=25)
        axis.set_xlabel("injective map g applied to the layer")
        axis.set_ylabel(f"{target} [nats]")
        axis.set_title(f"{target}: the truth is flat, the estimates are not", fontsize=10)
    for key, marker, colour, label in (
        ("p3", "o", "tab:purple", "P3: linear-probe accuracy, clean input"),
        ("noisy", "s", "tab:brown",
         f"same probe, input noise sd {INPUT_NOISE:g} (P4 drop = P3 minus this)"),
    ):
        axes[2].errorbar(positions, [row[f"{key} mean"] for row in table],
                         yerr=[row[f"{key} sd"] for row in table], marker=marker, color=colour,
                         capsize=3, label=label)
    axes[2].axhline(chance, color="grey", ls="--", label=f"chance (majority class) {chance:.3f}")
    axes[2].set_ylim(0, 1)
    axes[2].set_xticks(positions, names, rotation=25)
    axes[2].set_xlabel("injective map g applied to the layer")
    axes[2].set_ylabel("accuracy [fraction of held-out inputs]")
    axes[2].set_title(f"P3 and P4 change with the map (bars: sd over {FOLDS} folds)",
                      fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    more_handles, more_labels = axes[2].get_legend_handles_labels()
    figure.legend(handles + more_handles, labels + more_labels, loc="outside lower center",
                  ncol=4, fontsize=8)
    figure.suptitle(f"Injective maps of layer {LAYER} of the deterministic {INPUTS} "
                    f"{ACTIVATION} network")
    path = output_dir / "bijection.png"
    figure.savefig(path, dpi=100)
    return path


def _slope(xs, ys) -> float:
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if np.ptp(xs) == 0:
        return float("nan")
    return float(np.polyfit(xs, ys, 1)[0])


_TINY_ESTIMATORS = ("binning", "ksg")


@register_experiment("bijection", claim=CLAIM)
def bijection(output_dir: Path, quick: bool = False, size: str | None = None) -> ExperimentResult:
    """True MI, each estimator, P3 and P4 for every injective map of one trained layer.

    Tables (MI in nats): ``by bijection`` (one row per map: the true I(X; g(L)) and I(Y; g(L)),
    each estimator's two numbers, P3 and the noisy-input accuracy with their means and sds over
    the folds, the P4 drop, the prediction stability) and ``spreads`` (per quantity, its largest
    minus its smallest value across the maps). ``rows``: one row per estimate, the exact
    values under the estimator name ``exact``.

    ``size="tiny"`` (the tests) runs binning and KSG only.
    """
    size = size or ("quick" if quick else "default")
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
    chance = float(np.bincount(labels).max() / labels.size)

    estimators = []
    for label, name, params in ESTIMATORS:
        if size == "tiny" and name not in _TINY_ESTIMATORS:
            continue
        if size != "default" and name == "infonce":
            params = {**params, "steps": QUICK_INFONCE_STEPS}
        estimators.append((label, name, params, get_estimator(name, **params)))

    rows, table = [], []
    maps = _maps(layer)
    for name, function in maps:
        mapped = function(layer)
        truths = {TARGETS[0]: rows_entropy(mapped), TARGETS[1]: exact_label_information(mapped, labels)}
        probe = probe_accuracies(mapped, function(layer_of_noisy), labels)
        entry = {"bijection": name}
        entry.update({f"true {target}": value for target, value in truths.items()})
        for target, value in truths.items():
            rows.append({"estimator": "exact", "params": {}, "seed": None, "estimate_nats": value,
                         "truth_nats": value, "bijection": name, "target": target,
                         "n": labels.size, "label": "exact (grouping identical rows)"})
        for label, estimator_name, params, estimator in estimators:
            for target, x in zip(TARGETS, (inputs.x, label_column)):
                value = estimate_value(estimator, x, mapped, truth=truths[target],
                                       sample=f"{name}: {target}", bijection=name,
                                       target=target, label=label)
                entry[f"{label}: {target}"] = value
                rows.append({"estimator": estimator_name, "params": params,
                             "seed": estimator.get_params().get("seed"),
                             "estimate_nats": value, "truth_nats": truths[target],
                             "bijection": name, "target": target, "n": labels.size,
                             "label": label})
        for key, values in probe.items():
            entry[f"{key} mean"], entry[f"{key} sd"] = mean_and_sd(values)
        table.append(entry)
    by_name = {row["bijection"]: row for row in table}
    bijections = [row for row in table if row["bijection"] != OFF_DATA_JUMP]

    def spread(column: str, among=bijections) -> float:
        values = [row[column] for row in among]
        return max(values) - min(values)

    def largest_change(column: str, among=table) -> float:
        return max(abs(row[column] - table[0][column]) for row in among)

    labels_of_estimators = [label for label, *_ in estimators]
    spreads = [{"quantity": f"true {t}", "spread": spread(f"true {t}", table)} for t in TARGETS]
    spreads += [{"quantity": f"{label}: {t}", "spread": spread(f"{label}: {t}")}
                for label in labels_of_estimators for t in TARGETS]
    spreads += [{"quantity": q, "spread": spread(q)}
                for q in ("p3 mean", "p4_drop mean", "stability mean")]

    # The control of the truth: a map that is not injective.
    rounded = round_to_tenth(layer)
    not_injective = {TARGETS[0]: rows_entropy(rounded),
                     TARGETS[1]: exact_label_information(rounded, labels)}
    verdicts = []
    for target in TARGETS:
        verdicts.append(checked_verdict(
            f"largest change of the true {target} across the injective maps [nats]",
            largest_change(f"true {target}"), "0 up to float rounding (<= 1e-9)",
            lambda v: v <= 1e-9, "the same change under a non-injective map (rounding to 0.1)",
            abs(not_injective[target] - table[0][f"true {target}"])))
    reruns = _reruns(estimators, inputs.x, layer, table[0], rows)
    for label in labels_of_estimators:
        verdicts.append(checked_verdict(
            f"spread of {label} {TARGETS[0]} across the bijections [nats]",
            spread(f"{label}: {TARGETS[0]}"), f"> {MIN_SPREAD} (the estimate sees the bijection)",
            lambda v: v > MIN_SPREAD,
            "the same spread over re-runs on the identity (3 row orders"
            + (", 3 seeds)" if "seed" in dict(estimators_params(estimators))[label] else ")"),
            reruns[label]))
    invisible = [by_name["identity"], by_name["scale x10"]]
    verdicts.append(checked_verdict(
        "spread of P3 (linear-probe accuracy) across the bijections",
        spread("p3 mean"), f"> {MIN_P3_SPREAD} (decodability changes)",
        lambda v: v > MIN_P3_SPREAD,
        "the same spread over identity and scale x10 (a standardized linear probe cannot see "
        "them)", spread("p3 mean", invisible)))
    identity, jump, cube_row = by_name["identity"], by_name[OFF_DATA_JUMP], by_name["cube"]
    verdicts.append(checked_verdict(
        "off-data jump: P4 drop (accuracy lost under input noise) minus the identity's",
        jump["p4_drop mean"] - identity["p4_drop mean"], f">= {MIN_P4_HURT} (robustness hurt)",
        lambda v: v >= MIN_P4_HURT, "the same, scale x10",
        by_name["scale x10"]["p4_drop mean"] - identity["p4_drop mean"]))

    def unchanged(row):
        return max(abs(row["p3 mean"] - identity["p3 mean"]),
                   abs(row[f"true {TARGETS[1]}"] - identity[f"true {TARGETS[1]}"]))

    verdicts.append(checked_verdict(
        "off-data jump: largest change of P3 and of the true I(Y; g(L)) against the identity",
        unchanged(jump), "<= 1e-9 (P3 and the MI untouched)", lambda v: v <= 1e-9,
        "the same change, cube", unchanged(cube_row)))
    p3 = [row["p3 mean"] for row in bijections]
    mean_label_estimate = [float(np.mean([row[f"{label}: {TARGETS[1]}"]
                                          for label in labels_of_estimators]))
                           for row in bijections]
    verdicts.append(checked_verdict(
        "estimators' mean I(Y; g(L)) against P3 across the bijections: least-squares slope "
        "[nats per unit of accuracy]", _slope(p3, mean_label_estimate),
        f">= {MIN_SLOPE} (the estimates follow decodability)", lambda v: v >= MIN_SLOPE,
        "the same slope, exact I(Y; g(L))",
        _slope(p3, [row[f"true {TARGETS[1]}"] for row in bijections])))

    figure = _plot(table, labels_of_estimators, chance, output_dir)
    truth_x, truth_y = table[0][f"true {TARGETS[0]}"], table[0][f"true {TARGETS[1]}"]
    summary_lines = [
        f"Layer {LAYER} of the deterministic {INPUTS} {ACTIVATION} network (epoch {epoch}): "
        f"true I(X; L) = {truth_x:.4f} nats (log 4096 = {math.log(4096):.4f}), "
        f"true I(Y; L) = {truth_y:.4f} nats, under every injective map; rounding to 0.1 (not "
        f"injective) gives {not_injective[TARGETS[0]]:.4f} and {not_injective[TARGETS[1]]:.4f}. "
        f"Chance accuracy (majority class) {chance:.3f}.",
        "",
        "| map | " + " | ".join(
            [f"{label}: I(X) / I(Y)" for label in labels_of_estimators]
            + ["P3 (sd over folds)", "P4 drop", "stability"]) + " |",
        "|---|" + "---:|" * (len(labels_of_estimators) + 3),
    ]
    for row in table:
        cells = [f"{row[f'{label}: {TARGETS[0]}']:.3f} / {row[f'{label}: {TARGETS[1]}']:.3f}"
                 for label in labels_of_estimators]
        cells += [f"{row['p3 mean']:.3f} ({row['p3 sd']:.3f})", f"{row['p4_drop mean']:.3f}",
                  f"{row['stability mean']:.3f}"]
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
            "n": int(labels.size), "maps": [name for name, _ in maps],
            "estimators": [[label, name, params] for label, name, params, _ in estimators],
            "input_noise_sd_for_P4": INPUT_NOISE, "probe_folds": FOLDS, "seed": SEED,
            "reruns_on_identity": 1 + len(EXTRA_SEEDS),
            "spiral_twist_rad_per_unit_radius": SPIRAL_TWIST,
        },
    )


def estimators_params(estimators) -> list[tuple[str, dict]]:
    """(label, the estimator's parameters) of each configured estimator."""
    return [(label, estimator.get_params()) for label, _, _, estimator in estimators]


def _reruns(estimators, x, layer, identity_row, rows: list[dict]) -> dict[str, float]:
    """Per estimator label: max - min of I(X; L) over re-runs on the untransformed layer.

    Each re-run shuffles the order of the samples (seeded); a seeded estimator also gets a new
    seed. The extra estimates are appended to ``rows``.
    """
    ranges = {}
    truth = identity_row[f"true {TARGETS[0]}"]
    for label, name, params, estimator in estimators:
        values = [identity_row[f"{label}: {TARGETS[0]}"]]
        seeded = "seed" in estimator.get_params()
        for seed in EXTRA_SEEDS:
            order = np.random.default_rng(seed).permutation(layer.shape[0])
            rerun = {**params, "seed": seed} if seeded else params
            values.append(estimate_value(get_estimator(name, **rerun), x[order], layer[order],
                                         truth=truth, seed=seed if seeded else None,
                                         sample=f"identity: {TARGETS[0]}",
                                         bijection="identity (re-run, rows shuffled)",
                                         target=TARGETS[0], label=label, row_order_seed=seed))
            rows.append({"estimator": name, "params": rerun, "seed": seed if seeded else None,
                         "estimate_nats": values[-1], "truth_nats": truth,
                         "bijection": "identity (re-run, rows shuffled)", "target": TARGETS[0],
                         "n": layer.shape[0], "label": label, "row_order_seed": seed})
        ranges[label] = max(values) - min(values)
    return ranges
