"""Accuracy on the ground-truth suite, in nats, tracked from version to version.

Every estimator runs on every ground-truth task (the 40 Beyond-Normal tasks and the
independent pairs) at n = ``ACCURACY_N``, once per seed; the seeds are averaged exactly as the
leaderboard does (:func:`mibench.results.scoring.aggregate`), and the solved count is the one
:func:`mibench.results.scoring.score_suites` gives, as in the CLI summary and ``mibench report``.
A task's error track fails when any of its runs failed (a diverged training, say), rather
than report the mean of the runs that survived; the failed runs are counted by
``track_runs_failed``. The grid is run once per asv run, in
``setup_cache``; the tracks only read it. Neural estimators have their own grid (fewer seeds, a
shorter training), so selecting the others never trains a network.
"""

import mibench

from . import _suite

_TASKS = _suite.or_placeholder(mibench.list_datasets("ground-truth"))
# Estimators of another quantity than I(X; Y) (their declared quantity), and those of I(X; Y)
# on discrete data only (_suite.NO_GROUND_TRUTH), are left out altogether rather than listed
# with every task skipped.
_CLASSICAL = _suite.or_placeholder(
    name for name in _suite.classical_estimators()
    if name not in _suite.NO_GROUND_TRUTH and _suite.estimates_mutual_information(name)
)
_NEURAL = _suite.or_placeholder(_suite.neural_estimators())


def _grid(estimators, seeds):
    return _suite.run_grid(estimators, _TASKS, [_suite.ACCURACY_N], seeds)


class _AbsoluteError:
    param_names = ("estimator", "task")
    unit = "nats"
    timeout = 120

    def setup(self, records, estimator, task):
        self.cell = _suite.checked_cell(_suite.cells_of(records), estimator, task, _suite.ACCURACY_N)

    def track_abs_error(self, records, estimator, task):
        """|mean estimate - true MI| in nats (for the independent pairs: |mean estimate|)."""
        return abs(self.cell.estimate - self.cell.truth)


class _Solved:
    param_names = ("estimator",)
    unit = "tasks"
    timeout = 120

    def setup(self, records, estimator):
        self.records = [r for r in records if r.estimator == estimator]
        self.scores = _suite.solved_scores(records, estimator)
        if not self.scores:
            raise NotImplementedError(f"{estimator} did not run on the ground-truth tasks")

    def track_tasks_solved(self, records, estimator):
        """Beyond-Normal v1 tasks solved (seed-averaged estimate within a factor 1.5 of the
        truth, no failed run), by :func:`mibench.results.scoring.score_suites`."""
        return _suite.tasks_solved(self.scores, "beyond-normal-v1")

    def track_runs_failed(self, records, estimator):
        """Runs that failed on the ground-truth tasks (an error track fails for such a task)."""
        # From the records, not the suite scores: a task in two suites is in two scores.
        return sum(record.status == "failed" for record in self.records)

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
