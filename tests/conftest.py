"""Every test runs with its own per-session disk cache, never the user's (mibench.core.cache),
and, unless the user set ``MIBENCH_THREADS``, with one thread per estimator and torch block: the
tests' matrices are tiny, where a second thread costs more than it gives, and two test processes
side by side must not fight over the cores."""

import os

import pytest

from mibench.core.cache import CACHE_DIR_VARIABLE
from mibench.core.threads import THREADS_VARIABLE


@pytest.fixture(scope="session", autouse=True)
def _temporary_cache_dir_and_one_thread(tmp_path_factory):
    # A session-wide directory, so the networks train once per test session (not per test);
    # subprocesses started by tests inherit it, and the thread cap.
    patcher = pytest.MonkeyPatch()
    patcher.setenv(CACHE_DIR_VARIABLE, str(tmp_path_factory.mktemp("mibench-cache")))
    if not os.environ.get(THREADS_VARIABLE, "").strip():
        patcher.setenv(THREADS_VARIABLE, "1")
    yield
    patcher.undo()
