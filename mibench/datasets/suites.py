"""The suites: named, versioned sets of datasets, each scored in the way that fits it.

A number is only meaningful with its denominator, so no score ever mixes suites: every record
names the suite it was run under, and :mod:`mibench.results.scoring` scores each suite on its own.

- ``beyond-normal-v1`` and ``beyond-normal-v2``: the tasks of Beyond-Normal (Czyz et al.,
  NeurIPS 2023) under their published ids, scored by "solved" (the seed-averaged estimate
  within a factor 1.5 of the finite, positive truth).
- ``independent-v1``: independent pairs, true MI 0; scored by the bias of the estimate.
- ``network-layers-v1`` and ``linear-channels-v1``: layers of networks and linear Gaussian
  channels, deterministic (truth infinite, or H(L) over a finite input set) and noisy; scored
  by the error in nats against a finite truth, and, for an infinite truth, by the estimate and
  its growth with n (a finite, growing number there describes the estimator).
- ``network-layers-v2``: the layers v1 could not score: I(X; T_l) of the deeper layers (l >= 2)
  of the noisy szt12 networks, with a nested Monte Carlo truth, and every layer of szt12
  networks whose activations are quantized to 4 or 8 bits, with the exact H(T_l); scored like
  v1. v1 is unchanged (its layers are not in v2).
- ``staircase-v1``: the staircase of known MI (see :mod:`mibench.datasets.staircase`),
  scored by "solved".

A suite's name carries its version; the version changes when its datasets change.
"""

from __future__ import annotations

from dataclasses import dataclass

from mibench.core.validation import InputError
from mibench.datasets import dataset_tags, list_datasets

__all__ = ["SCORINGS", "SUITES", "Suite", "get_suite", "suite_of", "suite_names"]

#: How a suite is scored (see :func:`mibench.results.scoring.score_suites`).
SCORINGS = ("solved", "bias", "layers")


@dataclass(frozen=True)
class Suite:
    """A named, versioned set of datasets: those carrying ``tag``.

    Attributes
    ----------
    name : str
        With its version, e.g. ``beyond-normal-v1``.
    tag : str
        The dataset tag that selects its members.
    scoring : {"solved", "bias", "layers"}
    description : str
    """

    name: str
    tag: str
    scoring: str
    description: str

    def datasets(self) -> list[str]:
        """The member datasets, in registration order."""
        return list_datasets(self.tag)


#: Every suite, in the order scores are shown. A dataset in several suites (a Beyond-Normal v1
#: task reused by v2) is scored under the suite it was run under, by default the first.
SUITES: tuple[Suite, ...] = (
    Suite("beyond-normal-v1", "beyond-normal-v1", "solved",
          "the 40 tasks of Beyond-Normal v1 (Czyz et al., NeurIPS 2023)"),
    Suite("beyond-normal-v2", "beyond-normal-v2", "solved",
          "the 26 tasks of Beyond-Normal v2"),
    Suite("independent-v1", "independent", "bias",
          "independent pairs: true MI 0, the estimator's bias where there is nothing to find"),
    Suite("network-layers-v1", "network", "layers",
          "hidden layers of deterministic and noisy networks, with the true I(X; L) or I(Y; L)"),
    Suite("linear-channels-v1", "linear-gaussian-channel", "layers",
          "T = W X + Z, X Gaussian: exact MI, infinite without noise"),
    Suite("staircase-v1", "staircase", "solved",
          "Gaussian tasks with MI on a staircase, for the neural bounds"),
    Suite("network-layers-v2", "network-layers-v2", "layers",
          "deep noisy layers (I(X; T_l), l >= 2, by nested Monte Carlo) and layers of "
          "quantized networks (exact H(T_l)), szt12"),
)

_BY_NAME = {suite.name: suite for suite in SUITES}


def suite_names() -> list[str]:
    return [suite.name for suite in SUITES]


def get_suite(name: str) -> Suite:
    """The suite called ``name``; an unknown name raises a ValueError listing the valid ones."""
    suite = _BY_NAME.get(name)
    if suite is None:
        raise InputError(f"unknown suite {name!r}. Valid suites: {', '.join(_BY_NAME)}")
    return suite


def suite_of(dataset: str, preferred: str | None = None) -> str | None:
    """The suite a run of ``dataset`` is scored under: ``preferred`` if the dataset is in it,
    else the first suite that holds it; None for a dataset in no suite."""
    try:
        tags = dataset_tags(dataset)
    except ValueError:
        return None
    if preferred is not None and get_suite(preferred).tag in tags:
        return preferred
    return next((suite.name for suite in SUITES if suite.tag in tags), None)
