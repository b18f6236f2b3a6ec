"""The talk's first claim, computability: on a deterministic layer the MI estimate is the estimator's.

For X with a density and a deterministic, injective layer L = f(X), I(X; L) is infinite, so a
finite estimate, and its trend with n, reflect the estimator's resolution (k, bins, bandwidth)
rather than the network. Add Gaussian noise (T = f(X) + Z) and the MI is finite: estimators
converge towards the same number. This experiment runs several estimators, at several
resolutions and sample sizes, on a deterministic linear channel T = W X (truth inf), the same
channel with noise (exact truth), and a deterministic tanh layer of a trained network fed a
continuous input (truth inf), and reports how far the estimators disagree and how they move
with n.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path

from mibench.estimators import get_estimator
from mibench.experiments import ExperimentResult, register_experiment
from mibench.runner import run

__all__ = ["DATASETS", "ESTIMATORS", "computability"]

#: (dataset, what it shows)
DATASETS = (
    ("linear-gaussian-channel-3-3-0", "deterministic T = W X"),
    ("linear-gaussian-channel-3-3-0.5", "noisy T = W X + Z, sigma 0.5"),
    ("net-gaussian-mixture-tanh-det-L1-e40", "deterministic tanh layer"),
)

#: (label, estimator name, parameters): each family at two resolutions.
ESTIMATORS = (
    ("ksg k=3", "ksg", {"k": 3}),
    ("ksg k=20", "ksg", {"k": 20}),
    ("binning 10 bins", "binning", {"n_bins": 10}),
    ("binning 30 bins", "binning", {"n_bins": 30}),
    ("kde scott", "kde", {}),
    ("gaussian", "gaussian", {}),
)


def _label_of(record) -> str:
    for label, name, params in ESTIMATORS:
        if record.estimator == name and all(record.params.get(k) == v for k, v in params.items()):
            return label
    return record.estimator


def _plot(rows, sizes, output_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(DATASETS), figsize=(5 * len(DATASETS), 4), sharex=True)
    for axis, (dataset, title) in zip(axes, DATASETS):
        for label, _, _ in ESTIMATORS:
            points = [(r["n"], r["mean estimate"]) for r in rows
                      if r["dataset"] == dataset and r["estimator"] == label]
            if points:
                axis.plot(*zip(*points), marker="o", label=label)
        values = sorted(r["mean estimate"] for r in rows if r["dataset"] == dataset)
        inliers = [v for v in values if v <= 4 * statistics.median(values) + 1.0]
        top = inliers[-1] * 1.1
        off_scale = [r for r in rows if r["dataset"] == dataset and r["mean estimate"] > top]
        for r in off_scale:
            # A near-singular covariance sends the Gaussian estimate to tens of nats.
            axis.annotate(f"{r['estimator']}: {r['mean estimate']:.0f}", (r["n"], top),
                          xytext=(0, -12), textcoords="offset points", ha="right", fontsize=8)
        axis.set_ylim(0, top)
        truth = next(r["truth"] for r in rows if r["dataset"] == dataset)
        if math.isfinite(truth):
            axis.axhline(truth, color="black", linestyle="--", label="true MI")
        axis.set_title(f"{title}\ntrue MI: {'infinite' if math.isinf(truth) else f'{truth:.2f} nats'}")
        axis.set_xscale("log")
        axis.set_xlabel("samples n")
        axis.set_ylabel("estimate of I(X; L) [nats]")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = output_dir / "computability.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


@register_experiment("computability")
def computability(output_dir: Path, quick: bool = False) -> ExperimentResult:
    """Estimates against n on deterministic and noisy layers, for several estimators.

    Tables (MI in nats): ``estimates`` (dataset, estimator, n, mean estimate over seeds) and
    ``disagreement`` (per dataset: the spread across estimators at the largest n, and the
    mean change of the estimates from the smallest to the largest n).
    """
    sizes = (500, 2000) if quick else (500, 2000, 8000)
    seeds = (0,) if quick else (0, 1, 2)
    estimators = [get_estimator(name, **params) for _, name, params in ESTIMATORS]
    records = run(estimators, [name for name, _ in DATASETS], n=sizes, seeds=seeds)

    grouped = defaultdict(list)
    truths = {}
    for record in records:
        truths[record.dataset] = record.truth
        if record.ok:
            grouped[(record.dataset, _label_of(record), record.n)].append(record.estimate)
    rows = [
        {"dataset": dataset, "truth": truths[dataset], "estimator": label, "n": n,
         "mean estimate": statistics.fmean(values)}
        for (dataset, label, n), values in grouped.items()
    ]
    disagreement = []
    for dataset, title in DATASETS:
        at = {(r["estimator"], r["n"]): r["mean estimate"] for r in rows if r["dataset"] == dataset}
        largest = [value for (_, n), value in at.items() if n == sizes[-1]]
        changes = [at[(label, sizes[-1])] - at[(label, sizes[0])] for label, _, _ in ESTIMATORS
                   if (label, sizes[-1]) in at and (label, sizes[0]) in at]
        disagreement.append({
            "dataset": dataset,
            "layer": title,
            "truth": truths[dataset],
            "spread across estimators": max(largest) - min(largest) if largest else math.nan,
            f"mean change n={sizes[0]}->{sizes[-1]}": statistics.fmean(changes) if changes else math.nan,
        })
    figure = _plot(rows, sizes, output_dir)
    failed = sum(not r.ok for r in records)
    summary = "\n".join(
        f"{row['layer']}: estimators disagree by {row['spread across estimators']:.2f} nats "
        f"at n={sizes[-1]} (true MI {row['truth']:.2f})"
        for row in disagreement
    ) + (f"\n{failed} runs failed" if failed else "")
    return ExperimentResult(
        tables={"estimates": rows, "disagreement": disagreement},
        figures=[figure],
        records=records,
        summary=summary,
    )
