"""The estimator registry: short names to Estimator classes, plus third-party entry points."""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points

from mibench.core.contracts import BOUND_KINDS, Estimator
from mibench.core.validation import InputError

__all__ = [
    "ENTRY_POINT_GROUP",
    "bound_kind_of",
    "get_estimator",
    "get_estimator_class",
    "list_estimators",
    "register",
]

#: Third-party packages register estimators under this entry-point group. Each entry point
#: names an Estimator subclass; its entry-point name is the registry name.
ENTRY_POINT_GROUP = "mibench.estimators"

_REGISTRY: dict[str, type[Estimator]] = {}
_plugins_loaded = False


def register(name: str):
    """Class decorator: register an Estimator subclass under ``name``."""

    def decorator(cls: type[Estimator]) -> type[Estimator]:
        _add(name, cls)
        return cls

    return decorator


def _add(name: str, cls: type[Estimator]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Estimator)):
        raise TypeError(f"estimator {name!r} must be a subclass of mibench.Estimator, got {cls!r}")
    if name != name.lower() or not name or " " in name:
        raise ValueError(f"estimator names are short, lowercase and without spaces, got {name!r}")
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"estimator name {name!r} is already taken by {existing.__qualname__}")
    if getattr(cls, "bound_kind", "none") not in BOUND_KINDS:
        raise ValueError(
            f"estimator {name!r} declares bound_kind={cls.bound_kind!r}; "
            f"it must be one of {', '.join(BOUND_KINDS)}"
        )
    cls.name = name
    _REGISTRY[name] = cls


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in _REGISTRY:
            continue
        try:
            cls = entry_point.load()
            _add(entry_point.name, cls)
        except Exception as error:  # a broken plugin must not break mibench itself
            import warnings

            warnings.warn(
                f"could not load mibench estimator plugin {entry_point.name!r} "
                f"({entry_point.value}): {error}",
                RuntimeWarning,
                stacklevel=2,
            )


def list_estimators() -> list[str]:
    """The names of all registered estimators, built-in and plugins, sorted."""
    _load_plugins()
    return sorted(_REGISTRY)


def get_estimator_class(name: str) -> type[Estimator]:
    """The Estimator class registered under ``name``."""
    _load_plugins()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        names = sorted(_REGISTRY)
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"unknown estimator {name!r}.{hint} Valid estimators: {', '.join(names)}"
        ) from None


def get_estimator(name: str, **params) -> Estimator:
    """A configured instance of the estimator registered under ``name``.

    Raises
    ------
    InputError
        For an unknown name, an unknown parameter (the message lists the valid ones), or an
        invalid parameter value.
    """
    cls = get_estimator_class(name)
    valid = cls.parameter_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise InputError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for estimator {name!r}. Valid parameters: "
            + ", ".join(f"{k}={v!r}" for k, v in cls.default_params().items())
        )
    return cls(**params)


def bound_kind_of(name: str) -> str:
    """``"lower"``, ``"upper"`` or ``"none"``: the side of the truth the estimator registered
    under ``name`` bounds (:attr:`mibench.core.contracts.Estimator.bound_kind`), or ``"?"``
    for a name that is not registered (a record of a plugin that is not installed)."""
    try:
        return get_estimator_class(name).bound_kind
    except InputError:
        return "?"
