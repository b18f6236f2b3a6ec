"""The one torch thread guard: a count, the MIBENCH_THREADS variable, and the caller's setting
put back."""

import pytest
import torch

from mibench.core.threads import THREADS_VARIABLE, threads_from_environment, torch_threads


@pytest.fixture
def caller_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(previous)


def test_a_count_holds_inside_and_the_callers_setting_comes_back(caller_threads, monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "1")  # an explicit count wins over the variable
    with torch_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == caller_threads
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("the setting comes back on an error too")
    assert torch.get_num_threads() == caller_threads


def test_none_reads_the_variable_and_otherwise_changes_nothing(caller_threads, monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "1")
    assert THREADS_VARIABLE == "MIBENCH_THREADS"
    with torch_threads(None):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == caller_threads
    monkeypatch.delenv(THREADS_VARIABLE)
    assert threads_from_environment() is None
    with torch_threads(None):
        assert torch.get_num_threads() == caller_threads


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5"])
def test_a_bad_variable_is_a_value_error_naming_it(monkeypatch, text):
    monkeypatch.setenv(THREADS_VARIABLE, text)
    with pytest.raises(ValueError, match=f"MIBENCH_THREADS must be a positive integer, got '{text}'"):
        threads_from_environment()


def test_process_threads_is_the_variable_else_the_cores(monkeypatch):
    from mibench.core.threads import available_cores, process_threads

    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert process_threads() == 3
    monkeypatch.delenv(THREADS_VARIABLE)
    assert process_threads() == available_cores()


def test_mixture_density_runs_on_the_process_threads_with_the_same_values(
    monkeypatch, torch_threads_seen
):
    """The kernel sums run on MIBENCH_THREADS threads (a grid worker's one; control: the count
    recorded follows the variable), and the density does not depend on how many."""
    import numpy as np

    import mibench.core.gaussian_mixture as mixture

    seen = torch_threads_seen(mixture, "_log_kernel_sums")
    rng = np.random.default_rng(0)
    centres, points = rng.standard_normal((3000, 6)), rng.standard_normal((500, 6))
    densities = {}
    for threads in (1, 2):
        monkeypatch.setenv(THREADS_VARIABLE, str(threads))
        densities[threads] = mixture.gaussian_mixture_log_density(points, centres, 0.3)
    assert seen == [1, 2]
    np.testing.assert_allclose(densities[2], densities[1], rtol=1e-13, atol=0)
