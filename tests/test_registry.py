"""The estimator registry: names, parameters, and third-party plugins through entry points."""

import textwrap

import numpy as np
import pytest

import mibench
from mibench.estimators import registry


def test_builtin_estimators_are_listed():
    names = mibench.list_estimators()
    assert {"ksg", "gaussian"} <= set(names)
    assert names == sorted(names)


def test_unknown_estimator_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown estimator 'kgs'.*Did you mean 'ksg'.*gaussian"):
        mibench.get_estimator("kgs")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown parameter 'kk' for estimator 'ksg'.*k=3.*variant=1"):
        mibench.get_estimator("ksg", kk=4)
    with pytest.raises(ValueError, match="unknown parameter"):
        mibench.estimate([1.0, 2.0], [1.0, 2.0], "ksg", bogus=1)


def test_parameters_are_keyword_only_and_readable_back():
    estimator = mibench.get_estimator("ksg", k=7, variant=2)
    params = estimator.get_params()
    assert params["k"] == 7 and params["variant"] == 2
    assert mibench.get_estimator("ksg", **params).get_params() == params
    with pytest.raises(TypeError):
        type(estimator)(5)


def test_gaussian_baseline_is_close_on_normal_data_and_blind_to_uncorrelated_dependence():
    dataset = mibench.get_dataset("multinormal-dense-5-5-0.5")
    x, y = dataset.sample(20_000, seed=0)
    assert mibench.estimate(x, y, "gaussian") == pytest.approx(dataset.mutual_information, abs=0.01)
    # Student-t with identity dispersion: dependent (MI 0.18 nats) but uncorrelated.
    x, y = mibench.get_dataset("student-identity-3-3-3").sample(20_000, seed=0)
    assert mibench.estimate(x, y, "gaussian") < 0.01
    with pytest.raises(ValueError, match="collinear"):
        mibench.estimate(np.c_[x, x], y, "gaussian")


def test_third_party_estimator_registers_through_an_entry_point(tmp_path, monkeypatch):
    (tmp_path / "mibench_demo_plugin.py").write_text(textwrap.dedent('''
        from mibench.core.contracts import Estimator

        class ConstantEstimator(Estimator):
            """Always answers the configured value."""

            def __init__(self, *, value=1.5):
                self.value = value

            def _estimate(self, x, y):
                return self.value
    '''))
    dist_info = tmp_path / "mibench_demo_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: mibench-demo-plugin\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        "[mibench.estimators]\ndemo-constant = mibench_demo_plugin:ConstantEstimator\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    assert "demo-constant" in mibench.list_estimators()
    assert mibench.estimate([1.0, 2.0, 3.0], [3.0, 1.0, 2.0], "demo-constant", value=2.5) == 2.5


def test_a_broken_plugin_warns_instead_of_breaking_mibench(tmp_path, monkeypatch):
    dist_info = tmp_path / "mibench_broken-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: mibench-broken\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        "[mibench.estimators]\nbroken = no_such_module_anywhere:Thing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    with pytest.warns(RuntimeWarning, match="broken"):
        names = mibench.list_estimators()
    assert "ksg" in names and "broken" not in names
