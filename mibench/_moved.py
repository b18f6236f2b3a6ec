"""The import paths of mibench 0.2, kept working for one release (removed in 0.4).

0.3 put the modules in layers (core, estimators, networks, datasets, grid, results,
experiments). Each old module is a two-line file that makes its name an alias of the new module
(the same object, so monkeypatching either name patches both) and warns once.
"""

from __future__ import annotations

import importlib
import sys
import warnings

#: old module -> new module
MOVED = {
    "mibench.interface": "mibench.core.contracts",
    "mibench.validation": "mibench.core.validation",
    "mibench.preprocessing": "mibench.core.preprocessing",
    "mibench.pairwise": "mibench.core.pairwise",
    "mibench.closed_form": "mibench.core.closed_form",
    "mibench.gaussian_mixture": "mibench.core.gaussian_mixture",
    "mibench.torch_threads": "mibench.core.threads",
    "mibench.cache": "mibench.core.cache",
    "mibench.records_io": "mibench.core.records",
    "mibench.suites": "mibench.datasets.suites",
    "mibench.runner": "mibench.grid.runner",
    "mibench.executors": "mibench.grid.executors",
    "mibench.store": "mibench.grid.store",
    "mibench.provenance": "mibench.grid.provenance",
    "mibench.scoring": "mibench.results.scoring",
    "mibench.tables": "mibench.results.tables",
    "mibench.report": "mibench.results.report",
}


def alias(old: str) -> None:
    """Make module ``old`` the module it moved to, with a DeprecationWarning."""
    new = MOVED[old]
    warnings.warn(f"{old} moved to {new} in mibench 0.3; the old path goes in 0.4",
                  DeprecationWarning, stacklevel=3)
    sys.modules[old] = importlib.import_module(new)
