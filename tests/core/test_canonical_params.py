"""What identifies an estimator setting: its identity, a plugin's version, canonical params."""

import importlib.metadata

import pytest

import mibench
from mibench.core.contracts import (
    Estimator,
    canonical_params,
    estimator_identity,
    estimator_version,
)
from mibench.estimators.ksg import KSG


def test_one_zero_point_zero_and_true_are_one_setting_of_an_int_parameter():
    settings = [canonical_params(mibench.get_estimator("ksg", variant=v)) for v in (1, 1.0, True)]
    assert settings[0] == settings[1] == settings[2]
    assert settings[0]["variant"] == 1 and type(settings[0]["variant"]) is int
    # The control: another value is another setting.
    assert canonical_params(mibench.get_estimator("ksg", variant=2))["variant"] == 2


def test_values_take_the_declared_type_float_and_bool_alike():
    assert canonical_params(mibench.get_estimator("kde", bandwidth=1)) == canonical_params(
        mibench.get_estimator("kde", bandwidth=1.0))
    assert type(canonical_params(mibench.get_estimator("kde", bandwidth=1))["bandwidth"]) is float
    assert canonical_params(mibench.get_estimator("ksg", standardize=1))["standardize"] is True
    # A string stays a string, whatever the declaration.
    assert canonical_params(mibench.get_estimator("kde"))["bandwidth"] == "scott"


def test_parameters_declared_by_a_base_class_are_canonical_too():
    mine = canonical_params(mibench.get_estimator("mine", learning_rate=1))
    assert mine["learning_rate"] == 1.0 and type(mine["learning_rate"]) is float


class _Constant(Estimator):
    def __init__(self, *, value: float = 0.0):
        self.value = value

    def _estimate(self, x, y):
        return self.value


class _OtherConstant(_Constant):
    pass


class _UnregisteredKSG(KSG):
    pass


def test_unregistered_estimators_are_named_by_module_and_qualname():
    assert _Constant.name == "" and _OtherConstant.name == ""
    first, second = estimator_identity(_Constant()), estimator_identity(_OtherConstant())
    assert first == f"{__name__}:_Constant" and second == f"{__name__}:_OtherConstant"
    # A subclass does not inherit its registered parent's identity.
    assert estimator_identity(_UnregisteredKSG()) != "ksg"
    # The control: a registered estimator is its registry name.
    assert estimator_identity(mibench.get_estimator("ksg")) == "ksg"


def test_a_plugins_version_is_its_distributions():
    plugin = type("Plugin", (_Constant,), {"__module__": "pytest"})
    assert estimator_version(plugin()) == importlib.metadata.version("pytest")
    # The controls: mibench's own estimators, and code from no distribution, have none.
    assert estimator_version(mibench.get_estimator("ksg")) is None
    assert estimator_version(_Constant()) is None


@pytest.mark.parametrize("bad", [None, "x"])
def test_values_the_declared_type_cannot_take_are_left_as_they_are(bad):
    class Takes(_Constant):
        def __init__(self, *, value: float = 0.0, label: str | None = None):
            super().__init__(value=value)
            self.label = label

    assert canonical_params(Takes, {"value": 2, "label": bad}) == {"value": 2.0, "label": bad}
