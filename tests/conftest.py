"""Every test runs with its own per-session disk cache, never the user's (mibench.core.cache),
and, unless the user set ``MIBENCH_THREADS``, with one thread per estimator and torch block: the
tests' matrices are tiny, where a second thread costs more than it gives, and two test processes
side by side must not fight over the cores. Under pytest-xdist (the README's ``-n auto``) the
workers share one cache directory and run numpy's BLAS and torch's OpenMP on one thread each."""

import os

import pytest

from mibench.core.cache import CACHE_DIR_VARIABLE
from mibench.core.threads import THREADS_VARIABLE

# Thread pools that read their size once, when their library loads.
_LIBRARY_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config):
    # xdist's controller, before it starts its workers (they inherit the environment): one
    # worker per core, each with a second BLAS or OpenMP thread, made the suite 25 % slower.
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        for variable in _LIBRARY_THREAD_VARIABLES:
            os.environ.setdefault(variable, "1")


def _session_cache_dir(tmp_path_factory):
    if "PYTEST_XDIST_WORKER" in os.environ:
        # The workers' temporary directories share a parent: one cache for all of them, so
        # each network trains once per test session, not once per worker (the cache's writes
        # are atomic, tests/core/test_cache.py).
        shared = tmp_path_factory.getbasetemp().parent / "mibench-cache"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("mibench-cache")


@pytest.fixture(scope="session", autouse=True)
def _temporary_cache_dir_and_one_thread(tmp_path_factory):
    # A session-wide directory, so the networks train once per test session (not per test);
    # subprocesses started by tests inherit it, and the thread cap.
    patcher = pytest.MonkeyPatch()
    patcher.setenv(CACHE_DIR_VARIABLE, str(_session_cache_dir(tmp_path_factory)))
    if not os.environ.get(THREADS_VARIABLE, "").strip():
        patcher.setenv(THREADS_VARIABLE, "1")
    yield
    patcher.undo()


@pytest.fixture
def torch_threads_seen(monkeypatch):
    """``record(module, name)`` wraps ``module.name`` so that each call first notes torch's
    thread count at that moment; returns the list the counts go to, in call order."""

    def record(module, name):
        import torch

        seen: list[int] = []
        original = getattr(module, name)

        def recording(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, recording)
        return seen

    return record

