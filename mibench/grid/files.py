"""Grid files: a benchmark grid written down in TOML, checked before any run starts.

A grid names estimators (one estimator may appear several times with different parameters),
datasets by name and/or by tag, sample sizes and seeds::

    name = "beyond-normal-v1"
    description = "The 40 Beyond-Normal v1 tasks at n = 5000, ten seeds."
    suites = ["beyond-normal-v1"]     # the datasets of these suites, scored under them ...
    tags = ["independent"]            # ... every dataset with one of these tags ...
    datasets = ["1v1-normal-0.75"]    # ... and these by name (any two may be left out)
    n = [5000]                        # an integer or a list of them
    seeds = { first = 0, last = 9 }   # an integer, a list, or an inclusive range

    [[estimators]]
    name = "ksg"
    params = { k = 3 }

    [[estimators]]
    name = "ksg"
    params = { k = 10 }

:func:`load_grid` returns a :class:`Grid`; every problem (an unknown key, estimator, parameter,
dataset or tag, a bad size or seed, the same estimator setting twice) is a ValueError that names
the file and the entry.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from mibench.core.contracts import Estimator, canonical_params
from mibench.core.records import params_text
from mibench.core.validation import InputError

__all__ = ["MAX_RUNS", "EstimatorSpec", "Grid", "load_grid", "parse_grid"]

#: The most runs a grid may have without ``--yes`` (``allow_large=True``): ten times the
#: largest published grid, and few enough that a typo (``last = 99999999``) is caught before
#: it starts.
MAX_RUNS = 100_000

_TOP_KEYS = {"name", "description", "suites", "tags", "datasets", "n", "seeds", "estimators"}
_ESTIMATOR_KEYS = {"name", "params"}
_SEED_RANGE_KEYS = {"first", "last"}


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator setting of a grid: a registry name and its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Estimator:
        from mibench.estimators import get_estimator

        return get_estimator(self.name, **self.params)


@dataclass(frozen=True)
class Grid:
    """A checked grid: estimators x datasets x sizes x seeds.

    Attributes
    ----------
    estimators : list of EstimatorSpec
    datasets : list of str
        Registered dataset names: those of the suites, then the tagged ones (in registry
        order), then the named ones; each once.
    suite_of : dict of str to str
        The suite each dataset selected through a suite is scored under (the others are
        scored under the first suite that holds them).
    sizes, seeds : list of int
    name, description : str
    source : dict
        The grid as written in the file (for provenance).
    """

    estimators: list[EstimatorSpec]
    datasets: list[str]
    sizes: list[int]
    seeds: list[int]
    suite_of: dict[str, str] = field(default_factory=dict)
    name: str = ""
    description: str = ""
    source: dict[str, Any] = field(default_factory=dict)

    def build_estimators(self) -> list[Estimator]:
        """A configured instance of each estimator setting."""
        return [spec.build() for spec in self.estimators]

    @property
    def runs(self) -> int:
        """How many runs the grid holds (counted without building them)."""
        return len(self.estimators) * len(self.datasets) * len(self.sizes) * len(self.seeds)


def load_grid(path: str | Path) -> Grid:
    """Read and check a TOML grid file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such grid file: {path}") from None
    except OSError as error:
        raise InputError(f"cannot read grid file {path}: {error}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"grid file {path} is not UTF-8 text (byte {error.start}: "
                         f"{error.reason}); save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"grid file {path} is not valid TOML: {error}") from None
    return parse_grid(data, where=str(path))


def parse_grid(data: dict[str, Any], where: str = "grid") -> Grid:
    """Check a grid given as a dict (the parsed TOML); ``where`` names it in error messages."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: a grid is a table of keys, got {type(data).__name__}")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; a grid has {', '.join(sorted(_TOP_KEYS))}")
    texts = {}
    for key in ("name", "description"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise InputError(f"{where}: {key} must be a string, got {value!r}")
        texts[key] = value
    datasets, suite_of = _datasets(data.get("datasets", []), data.get("tags", []),
                                   data.get("suites", []), where)
    return Grid(
        estimators=_estimators(data.get("estimators"), where),
        datasets=datasets,
        suite_of=suite_of,
        sizes=_integers(data.get("n"), "n", 1, where),
        seeds=_seeds(data.get("seeds", 0), where),
        source=data,
        **texts,
    )


def _estimators(entries: Any, where: str) -> list[EstimatorSpec]:
    from mibench.estimators import get_estimator

    if not entries:
        raise InputError(f"{where}: no estimators; add [[estimators]] tables with a name "
                         "(`mibench list estimators` shows them)")
    if not isinstance(entries, list):
        raise InputError(f"{where}: estimators must be [[estimators]] tables, got {entries!r}")
    specs, seen = [], {}
    for number, entry in enumerate(entries, 1):
        label = f"{where}: estimators entry {number}"
        if not isinstance(entry, dict):
            raise InputError(f"{label} must be a table with a name, got {entry!r}")
        unknown = sorted(set(entry) - _ESTIMATOR_KEYS)
        if unknown:
            raise InputError(f"{label}: unknown key{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; an entry has name and params")
        name, params = entry.get("name"), entry.get("params", {})
        if not isinstance(name, str) or not name:
            raise InputError(f"{label} needs a name (a string)")
        if not isinstance(params, dict):
            raise InputError(f"{label} ({name}): params must be a table, got {params!r}")
        try:
            estimator = get_estimator(name, **params)
        except (ValueError, TypeError) as error:
            raise InputError(f"{label} ({name}): {error}") from None
        # One setting whatever the spelling: variant = 1 and variant = 1.0 repeat each other.
        identity = (name, params_text(canonical_params(estimator)))
        if identity in seen:
            raise InputError(f"{label} ({name} {params}) repeats entry {seen[identity]}")
        seen[identity] = number
        specs.append(EstimatorSpec(name, dict(params)))
    return specs


def _datasets(names: Any, tags: Any, suites: Any, where: str) -> tuple[list[str], dict[str, str]]:
    from mibench.datasets import get_dataset, list_datasets
    from mibench.datasets.suites import get_suite

    for key, value in (("datasets", names), ("tags", tags), ("suites", suites)):
        if isinstance(value, str):
            raise InputError(f"{where}: {key} must be a list of strings, e.g. {key} = [{value!r}]")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{where}: {key} must be a list of strings, got {value!r}")
    if not names and not tags and not suites:
        raise InputError(f"{where}: no datasets; give suites, tags and/or datasets (names); "
                         "`mibench list suites` and `mibench list datasets` show them")
    chosen: dict[str, None] = {}
    suite_of: dict[str, str] = {}
    for name in suites:
        try:
            suite = get_suite(name)
        except ValueError as error:
            raise InputError(f"{where}: {error}") from None
        for dataset in suite.datasets():
            suite_of.setdefault(dataset, suite.name)
            chosen[dataset] = None
    for tag in tags:
        tagged = list_datasets(tag)
        if not tagged:
            raise InputError(f"{where}: no dataset has the tag {tag!r}")
        chosen.update(dict.fromkeys(tagged))
    for name in names:
        if name not in list_datasets():
            try:
                get_dataset(name)  # raises with close matches
            except ValueError as error:
                raise InputError(f"{where}: {error}") from None
        chosen[name] = None
    return list(chosen), suite_of


def _integers(value: Any, key: str, minimum: int, where: str) -> list[int]:
    if value is None:
        raise InputError(f"{where}: {key} is missing (an integer or a list of integers)")
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InputError(f"{where}: {key} is an empty list")
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int) or item < minimum:
            raise InputError(f"{where}: each {key} must be an integer >= {minimum}, got {item!r}")
    if len(set(values)) != len(values):
        raise InputError(f"{where}: {key} lists a value twice: {values}")
    return list(values)


def _seeds(value: Any, where: str) -> list[int]:
    if isinstance(value, dict):
        if set(value) != _SEED_RANGE_KEYS:
            raise InputError(f"{where}: a seed range is {{ first = A, last = B }}, got {value!r}")
        first, last = value["first"], value["last"]
        for item in (first, last):
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise InputError(f"{where}: seed range bounds must be integers >= 0, got {item!r}")
        if last < first:
            raise InputError(f"{where}: seed range runs backwards: first {first} > last {last}")
        seeds = range(first, last + 1)
        # A huge range (a typo) stays a range: the runner counts it and refuses the grid
        # before anything is built.
        return list(seeds) if len(seeds) <= MAX_RUNS else seeds
    return _integers(value, "seeds", 0, where)
