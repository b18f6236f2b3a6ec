"""The dataset registry: stable names to lazily built Datasets.

Datasets are registered as factories so that expensive ones (network layers, which need a
trained network) are only built when asked for, and then only once per process.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mibench.interface import Dataset
from mibench.validation import InputError

__all__ = ["DEFAULT_SUITE_TAG", "register_dataset", "get_dataset", "list_datasets", "dataset_tags"]

#: Datasets carrying this tag make up the suite ``mibench run`` uses when no dataset is named.
DEFAULT_SUITE_TAG = "default"


@dataclass
class _Entry:
    factory: Callable[[], Dataset]
    tags: frozenset[str]
    built: Dataset | None = None


_REGISTRY: dict[str, _Entry] = {}


def register_dataset(name: str, factory: Callable[[], Dataset], tags: Iterable[str] = ()) -> None:
    """Register ``factory`` (called with no arguments, at most once) under ``name``.

    ``tags`` are known without building the dataset, so suites can be selected cheaply; the
    built dataset carries them too, and may add more (its family, for instance).
    """
    if name in _REGISTRY:
        raise ValueError(f"dataset name {name!r} is already registered")
    _REGISTRY[name] = _Entry(factory, frozenset(tags))


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
