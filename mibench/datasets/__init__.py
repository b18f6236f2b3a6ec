"""Datasets: distributions with known MI, and network layers as datasets.

Importing this package registers every built-in dataset.
"""

from mibench.datasets.registry import (
    DEFAULT_SUITE_TAG,
    dataset_tags,
    get_dataset,
    list_datasets,
    register_dataset,
)

from mibench.datasets import ground_truth, fine_distributions, network_layers, staircase  # noqa: E402, F401  isort: skip

__all__ = ["DEFAULT_SUITE_TAG", "dataset_tags", "get_dataset", "list_datasets", "register_dataset"]
