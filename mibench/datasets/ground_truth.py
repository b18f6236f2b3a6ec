"""The ground-truth suite: the 40 tasks of Beyond-Normal v1, and independent pairs (MI 0).

Czyz, Grabowski, Vogt, Beerenwinkel & Marx, "Beyond Normal: On the Evaluation of Mutual
Information Estimators", NeurIPS 2023. Each task id is read from the right: a base distribution
(``1v1-normal-0.75``, ``multinormal-sparse-5-5-2-2.0``, ...) and, to its left, the transforms
applied to its samples, outermost first (``spiral-normal_cdf-...`` applies ``normal_cdf`` and
then ``spiral``). Transforms are bijections of X and of Y (``swissroll_x`` an injective
embedding of X), so a transformed task has its base task's MI exactly.
"""

from __future__ import annotations

import re

import numpy as np

from mibench.closed_form import (
    additive_uniform_mutual_information,
    gaussian_mutual_information,
    student_t_mutual_information_correction,
)
from mibench.datasets import transforms
from mibench.datasets.registry import DEFAULT_SUITE_TAG, register_dataset
from mibench.interface import Dataset

__all__ = [
    "BEYOND_NORMAL_TASKS",
    "INDEPENDENT_TASKS",
    "dense_covariance",
    "make_task",
    "sparse_covariance",
]

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
    """X_i = s Z_i + e_i and Y_i = s Z_i + e'_i for i < n_interacting; all else independent.

    Z, e, e' are standard normal, so each interacting pair has correlation s^2 / (s^2 + 1)
    (0.8 for s = 2) and variance s^2 + 1; the other coordinates are standard normal.
    """
    covariance = np.eye(dim_x + dim_y)
    for i in range(n_interacting):
        covariance[i, i] = covariance[dim_x + i, dim_x + i] = strength**2 + 1.0
        covariance[i, dim_x + i] = covariance[dim_x + i, i] = strength**2
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
    if transform_name == "swissroll_x":
        if base.dim_x != 1:
            raise ValueError(f"swissroll_x embeds a one-dimensional X, got dim_x={base.dim_x}")
        dim_x = 2

        def apply(x, y):
            return transforms.swissroll(x), y

    else:
        function = transforms.TRANSFORMS[transform_name]
        if transform_name == "spiral" and min(base.dim_x, base.dim_y) < 2:
            raise ValueError("spiral rotates a plane: it needs X and Y of at least 2 dimensions")
        dim_x = base.dim_x

        def apply(x, y):
            return function(x), function(y)

    def sample(n, rng):
        return apply(*base.sampler(n, rng))

    return Dataset(
        name=name,
        dim_x=dim_x,
        dim_y=base.dim_y,
        mutual_information=base.mutual_information,
        sampler=sample,
        tags=base.tags | {"transformed", transform_name},
        description=f"{transform_name} of {base.name}: {base.description}",
    )


_TRANSFORM_PREFIXES = ("swissroll_x", *transforms.TRANSFORMS)
_NUMBER = r"(\d+(?:\.\d+)?)"
_BASE_PATTERNS = {
    "normal": re.compile(rf"1v1-normal-{_NUMBER}"),
    "bimodal": re.compile(rf"1v1-bimodal-{_NUMBER}"),
    "additive": re.compile(rf"1v1-additive-{_NUMBER}"),
    "dense": re.compile(rf"multinormal-dense-(\d+)-(\d+)-{_NUMBER}"),
    "sparse": re.compile(rf"multinormal-sparse-(\d+)-(\d+)-(\d+)-{_NUMBER}"),
    "student": re.compile(rf"student-identity-(\d+)-(\d+)-{_NUMBER}"),
    "independent": re.compile(r"independent-(normal|uniform)-(\d+)-(\d+)"),
}


def _base_task(task_id: str) -> Dataset:
    for family, pattern in _BASE_PATTERNS.items():
        match = pattern.fullmatch(task_id)
        if match is None:
            continue
        groups = match.groups()
        if family in ("normal", "bimodal"):
            rho = float(groups[0])
            normal = _multinormal(
                f"1v1-normal-{groups[0]}",
                1,
                1,
                np.array([[1.0, rho], [rho, 1.0]]),
                (),
                f"bivariate normal with correlation {rho:g}",
            )
            if family == "normal":
                return normal
            return _transformed(task_id, "bimodal", normal)
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
            return _multinormal(
                task_id,
                dim_x,
                dim_y,
                sparse_covariance(dim_x, dim_y, pairs, strength),
                ("sparse",),
                f"joint normal, {pairs} pairs (X_i, Y_i) = ({strength:g} Z_i + noise, "
                f"{strength:g} Z_i + noise), every other coordinate independent",
            )
        if family == "student":
            return _student_identity(task_id, int(groups[0]), int(groups[1]), float(groups[2]))
        return _independent(task_id, groups[0], int(groups[1]), int(groups[2]))
    raise ValueError(f"{task_id!r} is not a known ground-truth task id")


def make_task(task_id: str) -> Dataset:
    """Build a ground-truth task from its id: a base distribution with transforms on its left.

    Any composition of the known transforms with a known base is accepted, so tasks beyond the
    registered ones can be made (``make_task("asinh-multinormal-dense-5-5-0.5")``).
    """
    for prefix in _TRANSFORM_PREFIXES:
        if task_id.startswith(prefix + "-"):
            return _transformed(task_id, prefix, make_task(task_id[len(prefix) + 1 :]))
    return _base_task(task_id)


def _tagged(task_id: str, suite_tags: tuple[str, ...]) -> Dataset:
    task = make_task(task_id)
    return Dataset(
        name=task.name,
        dim_x=task.dim_x,
        dim_y=task.dim_y,
        mutual_information=task.mutual_information,
        sampler=task.sampler,
        tags=task.tags | set(suite_tags),
        description=task.description,
    )


def _register_suite() -> None:
    suites = [
        (BEYOND_NORMAL_TASKS, ("ground-truth", "beyond-normal", "beyond-normal-v1", DEFAULT_SUITE_TAG)),
        (INDEPENDENT_TASKS, ("ground-truth", "independent", DEFAULT_SUITE_TAG)),
    ]
    for task_ids, suite_tags in suites:
        for task_id in task_ids:
            register_dataset(
                task_id,
                lambda task_id=task_id, suite_tags=suite_tags: _tagged(task_id, suite_tags),
                tags=suite_tags,
            )


_register_suite()
