"""The dataset registry: stable names to lazily built Datasets.

Datasets are registered as factories so that expensive ones (network layers, which need a
trained network) are only built when asked for, and then only once per process.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from mibench.core.contracts import Dataset
from mibench.core.validation import InputError

__all__ = [
    "DEFAULT_SUITE_TAG",
    "DatasetSummary",
    "dataset_summary",
    "dataset_tags",
    "get_dataset",
    "list_datasets",
    "register_dataset",
]

#: Datasets carrying this tag make up the suite ``mibench run`` uses when no dataset is named.
DEFAULT_SUITE_TAG = "default"


@dataclass(frozen=True)
class DatasetSummary:
    """What a listing shows of a dataset: its dimensions and truth (nats), if known yet.

    ``tags`` are the registered ones and those of the built dataset, where it was built.
    ``mutual_information`` is None where the truth is costly and not computed yet (a network
    layer before its network was trained and its truth computed on this machine).
    """

    dim_x: int
    dim_y: int
    mutual_information: float | None
    mutual_information_stderr: float | None
    tags: frozenset[str] = frozenset()


@dataclass
class _Entry:
    factory: Callable[[], Dataset]
    tags: frozenset[str]
    summary: Callable[[], DatasetSummary] | None = None
    built: Dataset | None = None


_REGISTRY: dict[str, _Entry] = {}


def register_dataset(
    name: str,
    factory: Callable[[], Dataset],
    tags: Iterable[str] = (),
    summary: Callable[[], DatasetSummary] | None = None,
) -> None:
    """Register ``factory`` (called with no arguments, at most once) under ``name``.

    ``tags`` are known without building the dataset, so suites can be selected cheaply; the
    built dataset carries them too, and may add more (its family, for instance). ``summary``,
    for datasets that are costly to build, tells a listing their dimensions and whatever is
    already known of the truth, without building them.
    """
    if name in _REGISTRY:
        raise ValueError(f"dataset name {name!r} is already registered")
    _REGISTRY[name] = _Entry(factory, frozenset(tags), summary)


def get_dataset(name: str) -> Dataset:
    """The dataset registered under ``name``; an unknown name raises an InputError with hints."""
    entry = _REGISTRY.get(name) if isinstance(name, str) else None
    if entry is None:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise InputError(
            f"unknown dataset {name!r}.{hint} `mibench list datasets` shows all "
            f"{len(_REGISTRY)} datasets."
        )
    if entry.built is None:
        dataset = entry.factory()
        if dataset.name != name:
            raise RuntimeError(f"the factory of dataset {name!r} built {dataset.name!r}")
        entry.built = dataset
    return entry.built


def list_datasets(tag: str | None = None) -> list[str]:
    """Names of the registered datasets, in registration order; only those tagged ``tag`` if given."""
    return [name for name, entry in _REGISTRY.items() if tag is None or tag in entry.tags]


def dataset_tags(name: str) -> frozenset[str]:
    """The tags of a registered dataset, without building it."""
    if name not in _REGISTRY:
        get_dataset(name)  # raises the helpful error
    return _REGISTRY[name].tags


def dataset_summary(name: str) -> DatasetSummary:
    """Dimensions and truth of a dataset, without building it where building is costly."""
    if name not in _REGISTRY:
        get_dataset(name)  # raises the helpful error
    entry = _REGISTRY[name]
    if entry.built is None and entry.summary is not None:
        summary = entry.summary()
        return replace(summary, tags=summary.tags | entry.tags)
    dataset = get_dataset(name)
    return DatasetSummary(
        dataset.dim_x,
        dataset.dim_y,
        dataset.mutual_information,
        dataset.mutual_information_stderr,
        entry.tags | dataset.tags,
    )
