"""Running grids of runs: the runner (which owns its work), executors (which know nothing of the
runner), grid files, the result store and provenance.

``mibench.grid`` was the grid-file module before 0.3; its names stay importable from here for
one release (``from mibench.grid import load_grid``); new code imports :mod:`mibench.grid.files`.
"""

from mibench.grid.files import EstimatorSpec, Grid, load_grid, parse_grid  # noqa: F401  (0.2 path)
