"""The ground-truth suites: Beyond-Normal v1 (40 tasks), the v1 tasks Beyond-Normal v2 keeps, and
independent pairs (MI 0).

Czyz, Grabowski, Vogt, Beerenwinkel & Marx, "Beyond Normal: On the Evaluation of Mutual
Information Estimators", NeurIPS 2023, and "The Mixtures and the Neural Critics", AISTATS 2024.
Each task id is read from the right: a base distribution (``1v1-normal-0.75``,
``multinormal-sparse-5-5-2-2.0``, ...) and, to its left, the transforms applied to its samples,
outermost first (``spiral-normal_cdf-...`` applies ``normal_cdf`` and then ``spiral``).
Transforms are bijections of X and of Y (``swissroll_x`` an injective embedding of X), so a
transformed task has its base task's MI exactly. Every parameter is that of the reference
implementation (the ``bmi`` package); the new mixture distributions of v2 are in
:mod:`mibench.datasets.fine_distributions`.

Like the published benchmarks, the Beyond-Normal tasks standardize each coordinate over the
sample before returning it (``Dataset.standardized``); ``sample(n, seed, standardize=False)``
gives the raw draw.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from mibench.core.closed_form import (
    additive_uniform_mutual_information,
    gaussian_mutual_information,
    student_t_mutual_information_correction,
)
from mibench.core.contracts import Dataset
from mibench.core.validation import InputError
from mibench.datasets import transforms
from mibench.datasets.registry import DEFAULT_SUITE_TAG, register_dataset

__all__ = [
    "BEYOND_NORMAL_TASKS",
    "BEYOND_NORMAL_V1_TAG",
    "BEYOND_NORMAL_V2_TAG",
    "BEYOND_NORMAL_V2_TASKS",
    "INDEPENDENT_TASKS",
    "dense_covariance",
    "make_task",
    "sparse_covariance",
    "suite_tags",
]

#: The tag of the 40 tasks of Beyond-Normal v1 (``mibench run --suite beyond-normal-v1``).
BEYOND_NORMAL_V1_TAG = "beyond-normal-v1"
#: The tag of the 26 tasks of Beyond-Normal v2.
BEYOND_NORMAL_V2_TAG = "beyond-normal-v2"

#: The 40 task ids of Beyond-Normal v1, in the order of the paper's table.
BEYOND_NORMAL_TASKS = (
    "1v1-normal-0.75",
    "normal_cdf-1v1-normal-0.75",
    "1v1-additive-0.1",
    "1v1-additive-0.75",
    "1v1-bimodal-0.75",
    "wiggly-1v1-normal-0.75",
    "half_cube-1v1-normal-0.75",
    "student-identity-1-1-1",
    "asinh-student-identity-1-1-1",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    "multinormal-dense-2-2-0.5",
    "multinormal-dense-3-3-0.5",
    "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5",
    "multinormal-dense-50-50-0.5",
    "multinormal-sparse-2-2-2-2.0",
    "multinormal-sparse-3-3-2-2.0",
    "multinormal-sparse-5-5-2-2.0",
    "multinormal-sparse-25-25-2-2.0",
    "student-identity-2-2-1",
    "student-identity-2-2-2",
    "student-identity-3-3-2",
    "student-identity-3-3-3",
    "student-identity-5-5-2",
    "student-identity-5-5-3",
    "normal_cdf-multinormal-sparse-3-3-2-2.0",
    "normal_cdf-multinormal-sparse-5-5-2-2.0",
    "normal_cdf-multinormal-sparse-25-25-2-2.0",
    "half_cube-multinormal-sparse-3-3-2-2.0",
    "half_cube-multinormal-sparse-5-5-2-2.0",
    "half_cube-multinormal-sparse-25-25-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-25-25-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0",
    "asinh-student-identity-2-2-1",
    "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
)

#: The 26 task ids of Beyond-Normal v2, in the order of bmi's v2 workflow: 13 new mixture
#: ("fine") distributions and 13 v1 tasks with the same definitions.
BEYOND_NORMAL_V2_TASKS = (
    "1v1-additive-0.75",
    "asinh-student-identity-1-1-1",
    "1v1-X-0.9",
    "1v1-AI",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    "2v1-waves-12-5.0-3.0",
    "2v1-galaxy-0.5-3.0",
    "3v1-concentric_gaussians-5",
    "5v1-concentric_gaussians-5",
    "3v1-concentric_gaussians-10",
    "5v1-concentric_gaussians-10",
    "25v1-concentric_gaussians-5",
    "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5",
    "multinormal-dense-50-50-0.5",
    "multinormal-sparse-5-5-2-2.0",
    "multinormal-sparse-25-25-2-2.0",
    "mult-sparse-w-inliers-5-5-2-2.0-0.2",
    "mult-sparse-w-inliers-25-25-2-2.0-0.2",
    "mult-sparse-w-inliers-5-5-2-2.0-0.5",
    "mult-sparse-w-inliers-25-25-2-2.0-0.5",
    "asinh-student-identity-2-2-1",
    "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
)

#: Independent pairs (true MI 0): they expose each estimator's bias where there is nothing to find.
INDEPENDENT_TASKS = (
    "independent-normal-1-1",
    "independent-normal-5-5",
    "independent-normal-25-25",
    "independent-uniform-2-2",
)


def dense_covariance(dim_x: int, dim_y: int, correlation: float) -> np.ndarray:
    """Unit variances and the same correlation between every pair of coordinates."""
    dim = dim_x + dim_y
    return np.full((dim, dim), correlation) + (1.0 - correlation) * np.eye(dim)


def sparse_covariance(dim_x: int, dim_y: int, n_interacting: int, strength: float) -> np.ndarray:
    """Unit variances; Corr(X_i, Y_i) = s^2 / (s^2 + 1) for i < n_interacting; all else 0.

    bmi's sparse task: the latent model X_i = s Z_i + E_i, Y_i = s Z_i + E'_i (standard normal
    Z, E, E'), of which bmi keeps the *correlation* matrix, so every coordinate has variance 1
    and each interacting pair correlation 0.8 for s = 2.
    """
    covariance = np.eye(dim_x + dim_y)
    correlation = strength**2 / (strength**2 + 1.0)
    for i in range(n_interacting):
        covariance[i, dim_x + i] = covariance[dim_x + i, i] = correlation
    return covariance


def _multinormal(name, dim_x, dim_y, covariance, tags, description) -> Dataset:
    cholesky = np.linalg.cholesky(covariance)

    def sample(n, rng):
        joint = rng.standard_normal((n, dim_x + dim_y)) @ cholesky.T
        return joint[:, :dim_x], joint[:, dim_x:]

    return Dataset(
        name=name,
        dim_x=dim_x,
        dim_y=dim_y,
        mutual_information=gaussian_mutual_information(covariance, dim_x),
        sampler=sample,
        tags=frozenset({"multinormal", *tags}),
        description=description,
    )


def _student_identity(name, dim_x, dim_y, dof) -> Dataset:
    def sample(n, rng):
        # t = Z / sqrt(W / dof) with one chi-square scale W shared by X and Y.
        normal = rng.standard_normal((n, dim_x + dim_y))
        scale = np.sqrt(rng.chisquare(dof, size=(n, 1)) / dof)
        joint = normal / scale
        return joint[:, :dim_x], joint[:, dim_x:]

    return Dataset(
        name=name,
        dim_x=dim_x,
        dim_y=dim_y,
        mutual_information=student_t_mutual_information_correction(dof, dim_x, dim_y),
        sampler=sample,
        tags=frozenset({"student"}),
        description=(
            f"multivariate Student-t with identity dispersion and {dof:g} degrees of freedom; "
            "the shared scale makes X and Y dependent though uncorrelated"
        ),
    )


def _additive_uniform(name, epsilon) -> Dataset:
    def sample(n, rng):
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        return x, x + rng.uniform(-epsilon, epsilon, size=(n, 1))

    return Dataset(
        name=name,
        dim_x=1,
        dim_y=1,
        mutual_information=additive_uniform_mutual_information(epsilon),
        sampler=sample,
        tags=frozenset({"additive"}),
        description=f"Y = X + N, X ~ U[0, 1], N ~ U[-{epsilon:g}, {epsilon:g}]",
    )


def _independent(name, kind, dim_x, dim_y) -> Dataset:
    def sample(n, rng):
        if kind == "normal":
            return rng.standard_normal((n, dim_x)), rng.standard_normal((n, dim_y))
        return rng.uniform(size=(n, dim_x)), rng.uniform(size=(n, dim_y))

    return Dataset(
        name=name,
        dim_x=dim_x,
        dim_y=dim_y,
        mutual_information=0.0,
        sampler=sample,
        tags=frozenset({"independent"}),
        description=f"independent {kind} X and Y: true MI 0",
    )


def _transformed(name: str, transform_name: str, base: Dataset) -> Dataset:
    """Apply a named transform to the base task's samples; the MI is the base task's."""
    transform_x, transform_y = transforms.transform_pair(transform_name, base.dim_x, base.dim_y)
    dim_x = 2 if transform_name == "swissroll_x" else base.dim_x

    def sample(n, rng):
        x, y = base.sampler(n, rng)
        return transform_x(x), transform_y(y)

    return Dataset(
        name=name,
        dim_x=dim_x,
        dim_y=base.dim_y,
        mutual_information=base.mutual_information,
        sampler=sample,
        tags=base.tags | {"transformed", transform_name},
        description=f"{transform_name} of {base.name}: {base.description}",
        standardized=base.standardized,
    )


def _bimodal(name: str, rho: float) -> Dataset:
    """bmi's 1v1-bimodal: the Gaussian copula of correlation rho with two bimodal margins.

    bmi maps the uniform margins of ``normal_cdf-1v1-normal-rho`` through the inverse CDFs of
    0.3 N(0, 1) + 0.7 N(5, 1) (X) and 0.5 N(-1, 1) + 0.5 N(3, 1) (Y); F^-1 o Phi on the
    normal sample is the same map.
    """
    normal = _bivariate_normal(f"1v1-normal-{rho:g}", rho)

    def sample(n, rng):
        x, y = normal.sampler(n, rng)
        return transforms.bimodal_x(x), transforms.bimodal_y(y)

    return Dataset(
        name=name,
        dim_x=1,
        dim_y=1,
        mutual_information=normal.mutual_information,
        sampler=sample,
        tags=frozenset({"bimodal", "transformed"}),
        description=(
            f"bivariate normal of correlation {rho:g} with margins sent to "
            "0.3 N(0, 1) + 0.7 N(5, 1) (X) and 0.5 N(-1, 1) + 0.5 N(3, 1) (Y)"
        ),
    )


def _bivariate_normal(name: str, rho: float) -> Dataset:
    return _multinormal(
        name, 1, 1, np.array([[1.0, rho], [rho, 1.0]]), (), f"bivariate normal with correlation {rho:g}"
    )


#: A number in a task id (``0.75``, ``2.0``, ``5``), as one regex group.
NUMBER_PATTERN = r"(\d+(?:\.\d+)?)"
_BASE_PATTERNS = {
    "normal": re.compile(rf"1v1-normal-{NUMBER_PATTERN}"),
    "bimodal": re.compile(rf"1v1-bimodal-{NUMBER_PATTERN}"),
    "additive": re.compile(rf"1v1-additive-{NUMBER_PATTERN}"),
    "dense": re.compile(rf"multinormal-dense-(\d+)-(\d+)-{NUMBER_PATTERN}"),
    "sparse": re.compile(rf"multinormal-sparse-(\d+)-(\d+)-(\d+)-{NUMBER_PATTERN}"),
    "student": re.compile(rf"student-identity-(\d+)-(\d+)-{NUMBER_PATTERN}"),
    "independent": re.compile(r"independent-(normal|uniform)-(\d+)-(\d+)"),
}


def _base_task(task_id: str) -> Dataset:
    for family, pattern in _BASE_PATTERNS.items():
        match = pattern.fullmatch(task_id)
        if match is None:
            continue
        groups = match.groups()
        if family == "normal":
            return _bivariate_normal(task_id, float(groups[0]))
        if family == "bimodal":
            return _bimodal(task_id, float(groups[0]))
        if family == "additive":
            return _additive_uniform(task_id, float(groups[0]))
        if family == "dense":
            dim_x, dim_y, rho = int(groups[0]), int(groups[1]), float(groups[2])
            return _multinormal(
                task_id,
                dim_x,
                dim_y,
                dense_covariance(dim_x, dim_y, rho),
                ("dense",),
                f"joint normal, every pair of coordinates correlated {rho:g}",
            )
        if family == "sparse":
            dim_x, dim_y, pairs = int(groups[0]), int(groups[1]), int(groups[2])
            strength = float(groups[3])
            correlation = strength**2 / (strength**2 + 1.0)
            return _multinormal(
                task_id,
                dim_x,
                dim_y,
                sparse_covariance(dim_x, dim_y, pairs, strength),
                ("sparse",),
                f"joint normal with unit variances, Corr(X_i, Y_i) = {correlation:g} for the "
                f"first {pairs} pairs, every other coordinate independent",
            )
        if family == "student":
            return _student_identity(task_id, int(groups[0]), int(groups[1]), float(groups[2]))
        return _independent(task_id, groups[0], int(groups[1]), int(groups[2]))
    raise InputError(f"{task_id!r} is not a known ground-truth task id")


def _build(task_id: str) -> Dataset:
    for prefix in transforms.TRANSFORM_NAMES:
        if task_id.startswith(prefix + "-"):
            return _transformed(task_id, prefix, _build(task_id[len(prefix) + 1 :]))
    return _base_task(task_id)


def make_task(task_id: str, *, standardized: bool | None = None) -> Dataset:
    """Build a ground-truth task from its id: a base distribution with transforms on its left.

    Any composition of the known transforms with a known base is accepted, so tasks beyond the
    registered ones can be made (``make_task("asinh-multinormal-dense-5-5-0.5")``).

    ``standardized`` sets whether ``sample`` standardizes each coordinate over the sample by
    default (see :class:`~mibench.core.contracts.Dataset`); it defaults to True, the Beyond-Normal
    protocol, except for the independent pairs, which are not Beyond-Normal tasks.
    """
    task = _build(task_id)
    if standardized is None:
        standardized = "independent" not in task.tags
    return dataclasses.replace(task, standardized=bool(standardized))


def _tagged(task_id: str, suite_tags: frozenset[str]) -> Dataset:
    task = make_task(task_id)
    return dataclasses.replace(task, tags=task.tags | suite_tags)


def suite_tags(task_id: str) -> frozenset[str]:
    """The suite tags of a registered ground-truth id (known without building the task)."""
    tags = {"ground-truth"}
    if task_id in BEYOND_NORMAL_TASKS:
        tags |= {"beyond-normal", BEYOND_NORMAL_V1_TAG, DEFAULT_SUITE_TAG}
    if task_id in BEYOND_NORMAL_V2_TASKS:
        tags |= {"beyond-normal", BEYOND_NORMAL_V2_TAG}
    if task_id in INDEPENDENT_TASKS:
        tags |= {"independent", DEFAULT_SUITE_TAG}
    return frozenset(tags)


def _register_suite() -> None:
    for task_id in BEYOND_NORMAL_TASKS + INDEPENDENT_TASKS:
        tags = suite_tags(task_id)
        register_dataset(task_id, lambda task_id=task_id, tags=tags: _tagged(task_id, tags), tags=tags)


_register_suite()
