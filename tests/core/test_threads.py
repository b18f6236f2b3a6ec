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
