"""One tiny run of each experiment per test session, shared by every test file that needs it."""

import pytest

from mibench.experiments import run_experiment


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``tiny_run(name) -> (output_dir, result)``: the experiment at ``size="tiny"``, run once."""
    cache = {}

    def get(name):
        if name not in cache:
            output_dir = tmp_path_factory.mktemp(f"tiny-{name}")
            cache[name] = (output_dir, run_experiment(name, output_dir, size="tiny"))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def quick_run_of(tmp_path_factory):
    """``quick_run_of(name) -> (output_dir, result)``: the ``--quick`` run, once per session.

    Only the slow tests use it (the quick runs take up to minutes each).
    """
    cache = {}

    def get(name):
        if name not in cache:
            output_dir = tmp_path_factory.mktemp(f"quick-{name}")
            cache[name] = (output_dir, run_experiment(name, output_dir, quick=True))
        return cache[name]

    return get
