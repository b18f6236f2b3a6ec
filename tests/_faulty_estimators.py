"""Estimators that misbehave in every way a run can, for the executor tests.

They live in a module of their own so that worker processes can import them by reference.
Their class attribute ``name`` stands in for registration: they are not in mibench's registry,
so no other test sees them.
"""

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from mibench.core.contracts import Estimator
from mibench.grid.runner import RecordWork


class Correlation(Estimator):
    """A well-behaved estimator: the Gaussian MI of the first columns' correlation, in nats."""

    name = "test-correlation"

    def __init__(self, *, shift: float = 0.0):
        self.shift = shift

    def _estimate(self, x, y):
        rho = np.corrcoef(x[:, 0], y[:, 0])[0, 1]
        return -0.5 * math.log1p(-rho**2) + self.shift


class Raises(Estimator):
    name = "test-raises"

    def __init__(self):
        pass

    def _estimate(self, x, y):
        raise RuntimeError("this estimator always fails")


class ReturnsNaN(Estimator):
    name = "test-returns-nan"

    def __init__(self):
        pass

    def _estimate(self, x, y):
        return math.nan


class Sleeps(Estimator):
    name = "test-sleeps"

    def __init__(self, *, seconds: float = 60.0):
        self.seconds = seconds

    def _estimate(self, x, y):
        time.sleep(self.seconds)
        return 0.0


class ExitsProcess(Estimator):
    name = "test-exits-process"

    def __init__(self):
        pass

    def _estimate(self, x, y):
        os._exit(3)


class Spins(Estimator):
    """CPU-bound work of a set size (for the speed benchmarks)."""

    name = "test-spins"

    def __init__(self, *, rounds: int = 200):
        self.rounds = rounds

    def _estimate(self, x, y):
        total = 0.0
        for _ in range(self.rounds):
            total += float(np.sort(x[:, 0] * y[:, 0]).sum())
        return 0.1 + 0.0 * total


@dataclass(frozen=True)
class DrawLoggingWork(RecordWork):
    """The runner's work, noting each sample drawn as one line in the file ``log``."""

    log: str = ""

    def draw(self, key):
        with open(self.log, "a") as handle:
            handle.write(f"{key.dataset_name} {key.n} {key.seed}\n")
        return super().draw(key)


@dataclass(frozen=True)
class SlowToStartWork(RecordWork):
    """The runner's work, taking ``seconds`` to unpickle: a worker process that starts slowly,
    as a fresh interpreter importing torch does on a loaded machine."""

    seconds: float = 0.0

    def __setstate__(self, state):
        time.sleep(state["seconds"])
        super().__setstate__(state)


class FailsUntilFileExists(Estimator):
    """Fails while the file ``path`` does not exist; then the Gaussian MI of the correlation."""

    name = "test-fails-until-file-exists"

    def __init__(self, *, path: str = ""):
        self.path = path

    def _estimate(self, x, y):
        if not os.path.exists(self.path):
            raise RuntimeError(f"{self.path} does not exist yet")
        return Correlation()._estimate(x, y)


class ReportsThreads(Estimator):
    """Returns the thread cap its process was given (``MIBENCH_THREADS``), 0 where unset."""

    name = "test-reports-threads"

    def __init__(self):
        pass

    def _estimate(self, x, y):
        from mibench.core.threads import threads_from_environment

        return float(threads_from_environment() or 0)


class BatchesSeeds(Correlation):
    """:class:`Correlation` with a ``seed`` parameter and an ``estimate_seeds`` method, as the
    neural bounds have, so the runner trains its seeds together.

    A batch of more than one sample sleeps ``batch_sleep`` seconds first (to make a batch time
    out where single runs do not), and each batched estimate says how many seeds shared it.
    """

    name = "test-batches-seeds"

    def __init__(self, *, shift: float = 0.0, seed: int = 0, batch_sleep: float = 0.0):
        super().__init__(shift=shift)
        self.seed = seed
        self.batch_sleep = batch_sleep

    def estimate_seeds(self, samples, seeds, *, return_exceptions=False):
        from mibench.core.contracts import Estimate

        if len(samples) > 1:
            time.sleep(self.batch_sleep)
        return [Estimate(self.estimate(x, y), {"seeds_in_batch": len(samples),
                                               "training_seed": seed})
                for (x, y), seed in zip(samples, seeds)]
