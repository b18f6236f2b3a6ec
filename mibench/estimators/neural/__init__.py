"""Neural estimators of MI: variational lower bounds trained with one shared loop.

Importing this package registers ``mine``, ``dv``, ``nwj``, ``infonce`` and ``smile``
(:mod:`.estimators`), and ``js``, ``tuba``, ``flo``, ``club``, ``l1out`` and ``doe``
(:mod:`.zoo`); torch is only imported when one of them first trains a critic.

Modules: :mod:`.bounds` (the bounds as pure torch functions of a score matrix),
:mod:`.critics` (separable and concatenated critics), :mod:`.training` (the training loop and
the held-out read-out), :mod:`.estimators` (the registered Estimator classes).
"""

from mibench.estimators.neural.estimators import DV, MINE, NWJ, SMILE, InfoNCE, NeuralEstimator
from mibench.estimators.neural.zoo import CLUB, FLO, JS, TUBA, DoE, L1Out

__all__ = ["DV", "MINE", "NWJ", "SMILE", "InfoNCE", "NeuralEstimator"]
__all__ += ["CLUB", "FLO", "JS", "TUBA", "DoE", "L1Out"]
