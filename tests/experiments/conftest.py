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
