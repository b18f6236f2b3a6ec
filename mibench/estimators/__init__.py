"""MI estimators, one module per family, and the registry that names them.

Importing this package registers every built-in estimator.
"""

from mibench.estimators.registry import (
    ENTRY_POINT_GROUP,
    get_estimator,
    get_estimator_class,
    list_estimators,
    register,
)

# Importing the family modules registers their estimators.
from mibench.estimators import (  # noqa: E402, F401  isort: skip
    binning,
    command,
    discrete,
    gaussian,
    kde,
    kde_pairwise,
    ksg,
    ksg_lnc,
    ksg_mixed,
    neural,
    noisy_channel,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "get_estimator",
    "get_estimator_class",
    "list_estimators",
    "register",
]
