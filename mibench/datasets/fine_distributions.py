"""The 13 new distributions of Beyond-Normal v2: mixtures of normals, some with a bijection of X.

Czyz, Grabowski, Vogt, Beerenwinkel & Marx, "The Mixtures and the Neural Critics: On the
Pointwise Mutual Information Profiles of Fine Distributions", AISTATS 2024; parameters as in
the reference implementation (``bmi.benchmark.tasks.mixtures``). Their MI has no closed form:
it is the Monte Carlo mean of the exact pointwise MI (:mod:`mibench.datasets.mixtures`),
computed when a task is first built (never at import), from a fixed seed, with a standard error
of at most 0.004 nats, and cached for the process. A bijection of X does not change the MI,
so it is computed on the mixture before the bijection.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable

import numpy as np

from mibench.core.cache import read_json_fields, write_json
from mibench.core.contracts import Dataset
from mibench.core.validation import InputError
from mibench.datasets import transforms
from mibench.datasets.ground_truth import (
    BEYOND_NORMAL_TASKS,
    BEYOND_NORMAL_V2_TASKS,
    NUMBER_PATTERN,
    sparse_covariance,
    suite_tags,
)
from mibench.datasets.mixtures import NormalMixture, monte_carlo_mutual_information
from mibench.datasets.registry import DatasetSummary, register_dataset

__all__ = ["FINE_TASKS", "TRUTH_SEED", "TRUTH_STDERR", "make_fine_task", "mixture_of"]

#: The v2 ids that are not v1 tasks: the 13 fine distributions.
FINE_TASKS = tuple(task_id for task_id in BEYOND_NORMAL_V2_TASKS if task_id not in BEYOND_NORMAL_TASKS)

#: Seed of the Monte Carlo that computes each truth, and the standard error it runs to (nats).
TRUTH_SEED = 20240502
TRUTH_STDERR = 0.004


def _x_mixture(rho: float) -> NormalMixture:
    correlations = [[[1.0, sign * rho], [sign * rho, 1.0]] for sign in (-1.0, 1.0)]
    return NormalMixture([0.5, 0.5], np.zeros((2, 2)), np.array(correlations), dim_x=1)


def _ai_mixture() -> NormalMixture:
    c = 0.95 * math.sqrt(0.04 * 0.2)
    means = [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-0.8, -0.2], [-1.2, 0.0], [-0.4, 0.0]]
    covariances = [
        np.diag([0.01, 0.2]),
        np.diag([0.05, 0.001]),
        np.diag([0.05, 0.001]),
        np.diag([0.03, 0.001]),
        np.array([[0.04, c], [c, 0.2]]),
        np.array([[0.04, -c], [-c, 0.2]]),
    ]
    return NormalMixture(np.full(6, 1 / 6), np.array(means), np.array(covariances), dim_x=1)


def _galaxy_mixture(distance: float) -> NormalMixture:
    means = np.array([[-1.0] * 3, [1.0] * 3]) * distance / 2
    return NormalMixture([0.5, 0.5], means, np.array([np.eye(3)] * 2), dim_x=2)


def _waves_mixture(n_components: int) -> NormalMixture:
    means = np.array([[1.5 * i, 0.0, 1.5 * (i % 4)] for i in range(n_components)])
    covariances = np.array([np.diag([0.1, 1.0, 0.1])] * n_components)
    return NormalMixture(np.full(n_components, 1 / n_components), means, covariances, dim_x=2)


def _concentric_mixture(dim_x: int, n_components: int) -> NormalMixture:
    scales = np.arange(1, n_components + 1, dtype=np.float64)
    means = np.zeros((n_components, dim_x + 1))
    means[:, -1] = scales
    covariances = np.array([np.diag([s**2] * dim_x + [1e-4]) for s in scales])
    return NormalMixture(np.full(n_components, 1 / n_components), means, covariances, dim_x=dim_x)


def _sparse_with_inliers_mixture(dim_x, dim_y, pairs, strength, fraction) -> NormalMixture:
    # The sparse normal, and the product of its margins: both margins are N(0, I) (unit
    # variances, no correlation within X or within Y), so the product is N(0, I).
    signal = sparse_covariance(dim_x, dim_y, pairs, strength)
    dim = dim_x + dim_y
    return NormalMixture(
        [1.0 - fraction, fraction], np.zeros((2, dim)), np.array([signal, np.eye(dim)]), dim_x=dim_x
    )


def _galaxy_spiral(speed: float) -> Callable[[np.ndarray], np.ndarray]:
    return functools.partial(transforms.spiral, speed=speed, plane=(0, 1))


def _waves_map(amplitude: float, frequency: float) -> Callable[[np.ndarray], np.ndarray]:
    def waves(x: np.ndarray) -> np.ndarray:
        # x -> (x1 + a sin(f x2), x2), then (0.1 x1 - 0.8, 0.5 x2): a bijection of the plane.
        return np.column_stack([0.1 * (x[:, 0] + amplitude * np.sin(frequency * x[:, 1])) - 0.8,
                                0.5 * x[:, 1]])

    return waves


_PATTERNS = {
    "X": re.compile(rf"1v1-X-{NUMBER_PATTERN}"),
    "AI": re.compile(r"1v1-AI"),
    "galaxy": re.compile(rf"2v1-galaxy-{NUMBER_PATTERN}-{NUMBER_PATTERN}"),
    "waves": re.compile(rf"2v1-waves-(\d+)-{NUMBER_PATTERN}-{NUMBER_PATTERN}"),
    "concentric": re.compile(r"(\d+)v1-concentric_gaussians-(\d+)"),
    "inliers": re.compile(rf"mult-sparse-w-inliers-(\d+)-(\d+)-(\d+)-{NUMBER_PATTERN}-{NUMBER_PATTERN}"),
}


def _parse(task_id: str):
    """(family, mixture, bijection of X or None, description) of a fine task id."""
    for family, pattern in _PATTERNS.items():
        match = pattern.fullmatch(task_id)
        if match is None:
            continue
        g = match.groups()
        if family == "X":
            rho = float(g[0])
            return family, _x_mixture(rho), None, (
                f"equal mixture of bivariate normals with correlations -{rho:g} and +{rho:g}")
        if family == "AI":
            return family, _ai_mixture(), None, "six bivariate normals drawing the letters A and I"
        if family == "galaxy":
            speed, distance = float(g[0]), float(g[1])
            return family, _galaxy_mixture(distance), _galaxy_spiral(speed), (
                f"two unit balls at +-{distance / 2:g} (1, 1, 1) on (x1, x2, y), X spiralled at "
                f"speed {speed:g}")
        if family == "waves":
            count, amplitude, frequency = int(g[0]), float(g[1]), float(g[2])
            return family, _waves_mixture(count), _waves_map(amplitude, frequency), (
                f"{count} normals along x1 with y = 1.5 (i mod 4), x1 bent by "
                f"{amplitude:g} sin({frequency:g} x2)")
        if family == "concentric":
            dim_x, count = int(g[0]), int(g[1])
            return family, _concentric_mixture(dim_x, count), None, (
                f"{count} components: X ~ N(0, i^2 I_{dim_x}) with Y ~ N(i, 1e-4), i = 1..{count}")
        dim_x, dim_y, pairs = int(g[0]), int(g[1]), int(g[2])
        strength, fraction = float(g[3]), float(g[4])
        return "sparse-with-inliers", _sparse_with_inliers_mixture(
            dim_x, dim_y, pairs, strength, fraction), None, (
            f"{1 - fraction:g} of multinormal-sparse-{dim_x}-{dim_y}-{pairs}-{strength:g} and "
            f"{fraction:g} of the product of its margins")
    raise InputError(f"{task_id!r} is not a Beyond-Normal v2 mixture task id")


def mixture_of(task_id: str) -> NormalMixture:
    """The normal mixture of a fine task before its bijection of X (if it has one)."""
    return _parse(task_id)[1]


def _truth_key(task_id: str) -> dict:
    """Everything that determines a truth (the cache adds the library versions)."""
    return {"what": "beyond-normal-v2 truth", "task": task_id, "seed": TRUTH_SEED,
            "target_stderr": TRUTH_STDERR}


def cached_truth(task_id: str) -> tuple[float, float] | None:
    """The truth of a fine task if a process on this machine computed it before, else None."""
    # A damaged or foreign entry is missing (computed again), never an error on every run.
    stored = read_json_fields("truths", _truth_key(task_id), {"value": float, "stderr": float})
    return None if stored is None else (stored["value"], stored["stderr"])


@functools.cache
def _truth(task_id: str) -> tuple[float, float]:
    """(MI, its standard error) in nats, computed once per machine (disk cache), then read."""
    stored = cached_truth(task_id)
    if stored is not None:
        return stored
    value, stderr = monte_carlo_mutual_information(
        mixture_of(task_id), seed=TRUTH_SEED, target_stderr=TRUTH_STDERR
    )
    write_json("truths", _truth_key(task_id), {"value": value, "stderr": stderr})
    return value, stderr


def _summary(task_id: str) -> DatasetSummary:
    """Dimensions and, where this machine computed it before, the truth; computes nothing."""
    mixture = mixture_of(task_id)
    truth = cached_truth(task_id)
    return DatasetSummary(
        dim_x=mixture.dim_x,
        dim_y=mixture.dim - mixture.dim_x,
        mutual_information=None if truth is None else truth[0],
        mutual_information_stderr=None if truth is None else truth[1],
    )


def make_fine_task(task_id: str, *, standardized: bool = True) -> Dataset:
    """Build a v2 mixture task; its truth is computed (once per process) here."""
    family, mixture, bijection, description = _parse(task_id)
    mutual_information, stderr = _truth(task_id)

    def sample(n, rng):
        x, y = mixture.sample(n, rng)
        return (x if bijection is None else bijection(x)), y

    return Dataset(
        name=task_id,
        dim_x=mixture.dim_x,
        dim_y=mixture.dim - mixture.dim_x,
        mutual_information=mutual_information,
        sampler=sample,
        mutual_information_stderr=stderr,
        tags=frozenset({"mixture", family}),
        description=description,
        standardized=standardized,
    )


def _tagged(task_id: str) -> Dataset:
    task = make_fine_task(task_id)
    return dataclasses.replace(task, tags=task.tags | suite_tags(task_id))


def _register() -> None:
    for task_id in FINE_TASKS:
        register_dataset(task_id, functools.partial(_tagged, task_id), tags=suite_tags(task_id),
                         summary=functools.partial(_summary, task_id))


_register()
