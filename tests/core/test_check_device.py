"""validation.check_device: the device strings every torch-backed estimator accepts."""

import pytest

from mibench.core.validation import check_device

torch = pytest.importorskip("torch")


def test_cpu_is_always_valid():
    assert check_device("cpu") == "cpu"


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:", "cuda:x", "CPU", "auto", 0, None])
def test_other_forms_are_a_value_error_naming_the_valid_ones(device):
    with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda' or 'cuda:N'"):
        check_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_cuda_device_is_a_clear_error(device):
    with pytest.raises(ValueError, match="finds no CUDA device"):
        check_device(device)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_devices_are_checked_against_the_count():
    assert check_device("cuda") == "cuda"
    assert check_device("cuda:0") == "cuda:0"
    with pytest.raises(ValueError, match="finds only"):
        check_device(f"cuda:{torch.cuda.device_count()}")


def test_an_estimator_for_a_gpu_is_built_here_and_fails_only_when_it_runs():
    """A grid naming device='cuda' parses on a CPU machine; the run fails with the reason."""
    import numpy as np
    import pytest as _pytest
    import torch

    import mibench
    from mibench.core.errors import InputError

    if torch.cuda.is_available():
        _pytest.skip("this machine has a CUDA device")
    x = np.random.default_rng(0).normal(size=(500, 1))
    for name in ("mine", "ksg"):
        estimator = mibench.get_estimator(name, device="cuda")
        assert estimator.get_params()["device"] == "cuda"
        with _pytest.raises(InputError, match="CUDA"):
            estimator.estimate(x, x)
    with _pytest.raises(InputError, match="device must be"):
        mibench.get_estimator("mine", device="gpu")
