"""Every estimator shares one input check: clear ValueErrors, never a deep stack trace."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mibench
from mibench.core.validation import as_sample_matrix, check_paired_samples


def test_one_dimensional_input_becomes_one_column():
    assert as_sample_matrix([1, 2, 3]).shape == (3, 1)
    assert as_sample_matrix(np.arange(6).reshape(3, 2)).dtype == np.float64


def test_lists_and_torch_tensors_give_the_same_estimate_as_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    y = x + rng.normal(size=500)
    reference = mibench.estimate(x, y)
    assert mibench.estimate(x.tolist(), y.tolist()) == reference
    assert mibench.estimate(torch.from_numpy(x), torch.from_numpy(y).float()) == pytest.approx(
        reference, abs=1e-3
    )
    assert mibench.estimate(torch.from_numpy(x), torch.from_numpy(y)) == reference


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros(10), np.zeros(9), "same number of samples.*10 and 9"),
        (np.r_[np.zeros(9), np.nan], np.zeros(10), "x contains NaN"),
        (np.zeros(10), np.r_[np.inf, np.zeros(9)], "y contains inf"),
        (np.zeros(0), np.zeros(0), "x is empty"),
        (np.array(["a", "b", "c"]), np.zeros(3), "x must hold numbers"),
        (np.zeros(3), np.array([{}, {}, {}], dtype=object), "y must hold numbers"),
        (np.zeros((3, 2, 2)), np.zeros(3), r"shape \(n,\) or \(n, d\)"),
        (np.zeros(3) + 1j, np.zeros(3), "real numbers"),
        (np.float64(3.0), np.zeros(3), "scalar"),
        ([[1, 2], [3]], [1, 2], "could not be read"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_problem(x, y, message):
    with pytest.raises(ValueError, match=message):
        check_paired_samples(x, y)
    with pytest.raises(ValueError, match=message):
        mibench.estimate(x, y, "ksg")


def test_too_few_samples_for_k_names_k():
    with pytest.raises(ValueError, match=r"too few samples.*k=3"):
        mibench.estimate(np.arange(3.0), np.arange(3.0), "ksg", k=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(0, 40),
    dim_x=st.integers(1, 3),
    dim_y=st.integers(1, 3),
    estimator=st.sampled_from(["ksg", "gaussian"]),
)
def test_random_input_gives_a_float_or_a_value_error(data, n, dim_x, dim_y, estimator):
    elements = st.floats(allow_nan=True, allow_infinity=True, width=64)
    x = data.draw(hnp.arrays(np.float64, (n, dim_x), elements=elements))
    n_y = data.draw(st.sampled_from([n, max(n - 1, 0), n + 1]))
    y = data.draw(hnp.arrays(np.float64, (n_y, dim_y), elements=elements))
    try:
        value = mibench.estimate(x, y, estimator)
    except ValueError:
        return
    assert isinstance(value, float)
    assert not math.isnan(value)
