"""Every test runs with its own per-session disk cache, never the user's (mibench.core.cache)."""

import pytest

from mibench.core.cache import CACHE_DIR_VARIABLE


@pytest.fixture(scope="session", autouse=True)
def _temporary_cache_dir(tmp_path_factory):
    # A session-wide directory, so the networks train once per test session (not per test);
    # subprocesses started by tests inherit it.
    patcher = pytest.MonkeyPatch()
    patcher.setenv(CACHE_DIR_VARIABLE, str(tmp_path_factory.mktemp("mibench-cache")))
    yield
    patcher.undo()
