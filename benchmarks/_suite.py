"""What the asv suite measures, in one place: estimators, their settings, datasets and sizes.

The estimator list is read from the registry at import, so a new estimator is benchmarked
without touching this suite. Only the public API, the dataset tags and
:func:`mibench.results.report.aggregate` are used, so the same suite also runs against other versions of
mibench: an estimator or dataset that a version lacks is skipped there (asv shows "n/a"), never
an error.

A combination that makes no sense (an estimator of a noisy layer on a ground-truth task, a
plug-in estimator of discrete data on continuous samples) is skipped by raising
``NotImplementedError`` in ``setup``, with the reason, which asv prints.
"""

from __future__ import annotations

import inspect
import os

import mibench
from mibench.datasets import DEFAULT_SUITE_TAG as DEFAULT_TAG
from mibench.datasets import dataset_tags
from mibench.estimators import get_estimator_class

#: Set to a comma-separated list of estimator names to benchmark only those (the CI smoke, or
#: a quick look at one estimator). Published results come from runs without it.
ESTIMATORS_VARIABLE = "MIBENCH_ASV_ESTIMATORS"

#: The neural (variational-bound) estimators: each estimate trains a network.
NEURAL = frozenset({"mine", "dv", "nwj", "infonce", "smile"})
# The rest of the zoo (issue 23), trained by the same loop.
NEURAL = NEURAL | {"js", "tuba", "flo", "club", "l1out", "doe"}

#: Settings that differ from the registry defaults (only those an estimator accepts are
#: passed). The neural estimators train for 500 steps instead of 2000: about 1.2 s instead of
#: 5-15 s per estimate on 2 CPU cores; on 1v1-normal-0.75 (0.413 nats) and
#: multinormal-dense-25-25-0.5 (1.292 nats) at n = 5000, MINE reads 0.428 and 1.117 with 500
#: steps, 0.429 and 1.008 with 2000.
PARAMS: dict[str, dict] = {name: {"steps": 500} for name in NEURAL}

#: Ground-truth tasks the speed is measured on: one, five and twenty-five dimensions per side.
SPEED_TASKS = ("1v1-normal-0.75", "multinormal-sparse-5-5-2-2.0", "multinormal-dense-25-25-0.5")
SPEED_SIZES = (1000, 10000)
#: A neural estimator's time is set by its training steps, hardly by n: one size is enough.
NEURAL_SPEED_SIZES = (1000,)

#: The accuracy grid: every ground-truth task at this n, estimates averaged over these seeds.
#: Two seeds keep the grid of the classical estimators to about 4 minutes on 2 cores; the
#: estimates are deterministic given the seed, so a change from one version to the next is the
#: code's, not sampling noise.
ACCURACY_N = 5000
ACCURACY_SEEDS = (0, 1)
#: Neural estimators cost ~1.2 s per estimate even at 500 steps: one seed.
NEURAL_ACCURACY_SEEDS = (0,)

#: Sample sizes of the deterministic-layer tracks: the estimate of an infinite (or
#: log|X|) true MI, followed as n quadruples.
LAYER_SIZES = (500, 2000, 8000)

#: Estimators of I(X; Y) whose error on the ground-truth tasks is not tracked, and why. (The
#: estimators of another quantity, such as noisy-sp, are left out by their declared quantity.)
NO_GROUND_TRUTH = {
    "discrete": "it counts distinct rows; on continuous samples every row is its own symbol "
    "and it reads log n, whatever the MI",
}

#: The value of a parameter list that would otherwise be empty (asv needs one value); the
#: benchmark is then skipped.
PLACEHOLDER = "none"


def estimator_names() -> list[str]:
    """The estimators to benchmark: the registry, or those named in $MIBENCH_ASV_ESTIMATORS."""
    chosen = os.environ.get(ESTIMATORS_VARIABLE, "").strip()
    if chosen:
        return [name.strip() for name in chosen.split(",") if name.strip()]
    return mibench.list_estimators()


def classical_estimators() -> list[str]:
    return [name for name in estimator_names() if name not in NEURAL]


def estimates_mutual_information(name: str) -> bool:
    """Whether the estimator estimates I(X; Y) (all do in versions before quantities)."""
    quantity = getattr(get_estimator_class(name), "quantity", None)
    return quantity in (None, "I(X;Y)")


def neural_estimators() -> list[str]:
    return [name for name in estimator_names() if name in NEURAL]


def network_datasets(*tags: str) -> list[str]:
    """Network-layer datasets carrying all ``tags`` (none, in some versions).

    The representative ones, those in the default suite of ``mibench run``, come first.
    """
    found = [
        name for name in mibench.list_datasets("network") if set(tags) <= dataset_tags(name)
    ]
    return sorted(found, key=lambda name: DEFAULT_TAG not in dataset_tags(name))


def layer_track_datasets() -> list[str]:
    """The deterministic layers whose estimate is tracked against n: those in the default
    suite (the network developers' representative choice; all 92 layers times every estimator
    and n would be thousands of tracks), or every deterministic layer if none is."""
    layers = network_datasets("deterministic")
    chosen = [name for name in layers if DEFAULT_TAG in dataset_tags(name)]
    return chosen or layers


def speed_datasets() -> list[str]:
    """The speed tasks, plus one deterministic and one noisy network layer if any."""
    layers = [network_datasets("deterministic")[:1], network_datasets("stochastic")[:1]]
    return list(SPEED_TASKS) + [name for found in layers for name in found]


def or_placeholder(values) -> list:
    values = list(values)
    return values if values else [PLACEHOLDER]


def skip_reason(estimator: str, dataset: str, n: int | None = None) -> str | None:
    """Why ``estimator`` is not run on ``dataset`` at ``n`` in this version, or None."""
    if PLACEHOLDER in (estimator, dataset):
        return "nothing of this kind is registered in this version of mibench"
    if estimator not in mibench.list_estimators():
        return f"estimator {estimator!r} is not in this version of mibench"
    if dataset not in mibench.list_datasets():
        return f"dataset {dataset!r} is not in this version of mibench"
    quantity = getattr(get_estimator_class(estimator), "quantity", None)
    if quantity is not None:
        provided = getattr(mibench.get_dataset(dataset), "quantities", {quantity})
        if quantity not in provided:
            return f"{estimator} estimates {quantity}; {dataset} provides {', '.join(provided)}"
    if estimator in NEURAL and n is not None and n not in NEURAL_SPEED_SIZES:
        return f"{estimator} is timed at n in {NEURAL_SPEED_SIZES} only (training dominates)"
    return None


def make_estimator(name: str):
    """The estimator configured as this suite runs it; NotImplementedError (asv: skipped) when
    this version lacks it or it needs a parameter the suite does not give."""
    if name == PLACEHOLDER or name not in mibench.list_estimators():
        raise NotImplementedError(f"estimator {name!r} is not in this version of mibench")
    cls = get_estimator_class(name)
    params = {k: v for k, v in PARAMS.get(name, {}).items() if k in cls.parameter_names()}
    missing = [
        key for key, default in cls.default_params().items()
        if default is inspect.Parameter.empty and key not in params
    ]
    if missing:
        raise NotImplementedError(
            f"estimator {name!r} needs {', '.join(missing)}: set it in benchmarks/_suite.py PARAMS"
        )
    return mibench.get_estimator(name, **params)


def sample(pairs) -> dict[tuple[str, int, str], tuple]:
    """Samples (seed 0) of each registered (dataset, n), for every quantity the dataset
    provides: (x, y), and (x, S) with the clean activations of a noisy layer, keyed by
    ``(dataset, n, quantity)``: the work shared by every timing.

    Network-layer datasets train their network here, once, not in the timed code.
    """
    registered = set(mibench.list_datasets())
    samples = {}
    for dataset, n in pairs:
        if dataset not in registered:
            continue
        data = mibench.get_dataset(dataset)
        for quantity in getattr(data, "quantities", ["I(X;Y)"]):
            draw = data.sample_for(quantity, n, 0) if hasattr(data, "sample_for") else data.sample(n, 0)
            samples[(dataset, n, quantity)] = draw
    return samples


def configured_for(estimator, dataset: str):
    """The estimator as the runner configures it for ``dataset`` (a noisy-channel estimator
    takes the layer's noise scale), where this version of mibench pairs them so."""
    try:
        from mibench.grid.runner import prepare
    except ImportError:
        return estimator
    configured, _ = prepare(estimator, mibench.get_dataset(dataset))
    return configured or estimator


def run_grid(estimators, datasets, sizes, seeds) -> dict[tuple[str, str, int], object]:
    """Run the grid.

    Parameters
    ----------
    estimators, datasets : list of str
        Names; those this version lacks, and pairs :func:`skip_reason` rules out, are left
        out.
    sizes, seeds : sequence of int

    Returns
    -------
    list of Record
        Every run (:func:`cells_of` combines the seeds).
    """
    records = []
    for name in estimators:
        try:
            estimator = make_estimator(name)
        except NotImplementedError:
            continue
        usable = [d for d in datasets if skip_reason(name, d) is None]
        if usable:
            records += mibench.run(estimator, usable, n=list(sizes), seeds=list(seeds))
    return records


def cells_of(records) -> dict[tuple[str, str, int], object]:
    """``(estimator, dataset, n)`` to :class:`mibench.results.scoring.Cell`: seeds combined as the
    leaderboard combines them."""
    from mibench.results.scoring import aggregate

    return {(cell.estimator, cell.dataset, cell.n): cell for cell in aggregate(records)}


def solved_scores(records, estimator: str):
    """:func:`mibench.results.scoring.score_suites` of one estimator's runs: the one scoring function
    the CLI summary and ``mibench report`` use too."""
    from mibench.results.scoring import score_suites

    return score_suites(r for r in records if r.estimator == estimator)


def tasks_solved(scores, suite: str) -> int:
    """The solved count of ``suite`` in ``scores`` (0 where the suite did not run)."""
    return sum(score.solved for score in scores if score.suite == suite)


def checked_cell(cells, estimator: str, dataset: str, n: int):
    """The cell of a grid run; NotImplementedError where it was not run (asv: skipped),
    RuntimeError (asv: failed) where any of its runs failed."""
    cell = cells.get((estimator, dataset, n))
    if cell is None:
        reason = skip_reason(estimator, dataset)
        raise NotImplementedError(reason or f"{estimator} was not run on {dataset}")
    if cell.failed:
        raise RuntimeError(
            f"{cell.failed} of {cell.runs} runs of {estimator} on {dataset} (n={n}) failed: "
            f"{cell.error}"
        )
    return cell
