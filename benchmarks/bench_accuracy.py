"""Accuracy on the ground-truth suite, in nats, tracked from version to version.

Every estimator runs on every ground-truth task (the 40 Beyond-Normal tasks and the
independent pairs) at n = ``ACCURACY_N``, once per seed; the seeds are averaged exactly as the
leaderboard does (:func:`mibench.report.aggregate`). A task's error track fails when any of its
runs failed (a diverged training, say), rather than report the mean of the runs that survived;
the failed runs are counted by ``track_runs_failed``. The grid is run once per asv run, in
``setup_cache``; the tracks only read it. Neural estimators have their own grid (fewer seeds, a
shorter training), so selecting the others never trains a network.
"""

import mibench

from . import _suite

_TASKS = _suite.or_placeholder(mibench.list_datasets("ground-truth"))
# Estimators of something other than I(X; Y) on continuous data are left out altogether
# (see _suite.NO_GROUND_TRUTH for why), rather than listed with every task skipped.
_CLASSICAL = _suite.or_placeholder(
    name for name in _suite.classical_estimators() if name not in _suite.NO_GROUND_TRUTH
)
_NEURAL = _suite.or_placeholder(_suite.neural_estimators())


def _grid(estimators, seeds):
    return _suite.run_grid(estimators, _TASKS, [_suite.ACCURACY_N], seeds)


class _AbsoluteError:
    param_names = ("estimator", "task")
    unit = "nats"
    timeout = 120

    def setup(self, cells, estimator, task):
        self.cell = _suite.checked_cell(cells, estimator, task, _suite.ACCURACY_N)

    def track_abs_error(self, cells, estimator, task):
        """|mean estimate - true MI| in nats (for the independent pairs: |mean estimate|)."""
        return abs(self.cell.estimate - self.cell.truth)


class _Solved:
    param_names = ("estimator",)
    unit = "tasks"
    timeout = 120

    def setup(self, cells, estimator):
        self.cells = [cell for (name, _, _), cell in cells.items() if name == estimator]
        if not self.cells:
            raise NotImplementedError(f"{estimator} did not run on the ground-truth tasks")

    def track_tasks_solved(self, cells, estimator):
        """Tasks solved by the Beyond-Normal criterion (mean estimate within a factor 1.5 of
        the truth, no failed run), of the tasks with a finite, positive true MI."""
        return sum(cell.solved for cell in self.cells if cell.scorable)

    def track_runs_failed(self, cells, estimator):
        """Runs that failed on the ground-truth tasks (an error track fails for such a task)."""
        return sum(cell.failed for cell in self.cells)

    track_runs_failed.unit = "runs"


class GroundTruth(_AbsoluteError):
    params = (_CLASSICAL, _TASKS)

    def setup_cache(self):
        return _grid(_CLASSICAL, _suite.ACCURACY_SEEDS)

    setup_cache.timeout = 3600


class GroundTruthSolved(_Solved):
    params = (_CLASSICAL,)
    # The same function, hence the same asv cache: the grid runs once for both classes.
    setup_cache = GroundTruth.setup_cache


class NeuralGroundTruth(_AbsoluteError):
    params = (_NEURAL, _TASKS)

    def setup_cache(self):
        return _grid(_NEURAL, _suite.NEURAL_ACCURACY_SEEDS)

    setup_cache.timeout = 3600


class NeuralGroundTruthSolved(_Solved):
    params = (_NEURAL,)
    setup_cache = NeuralGroundTruth.setup_cache
