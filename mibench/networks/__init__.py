"""Networks whose layers become datasets: torch MLPs, training, inputs, layer capture.

- :class:`MLP`: deterministic, or with Gaussian noise of standard deviation sigma after every
  hidden activation (T_l = S_l + Z_l, Goldfeld et al. 2019); float64, seeded, no global state.
- :class:`QuantizedMLP`: hidden activations quantized to a few bits, trained straight-through
  (Lorenzen, Igel & Nielsen, ICLR 2022), so that every layer over a finite input is discrete.
- :func:`train`: Adam on cross-entropy, with snapshots at log-spaced epochs
  (:func:`log_spaced_epochs`); the result gives the clean S_l and noisy T_l at any snapshot.
- Inputs: :func:`szt12` (all 4,096 patterns of 12 signs), :func:`digits` (scikit-learn's
  8x8 digits), :func:`gaussian_mixture` (a continuous input with a density).
- :func:`capture`: the activations of the named layers of any torch module, as float64 arrays
  ready for ``mibench.estimate``.
"""

import importlib

# The public names and their modules. They are loaded on first access (PEP 562), so that the
# torch-free parts (inputs, the dataset registry) do not import torch.
_EXPORTS = {
    "capture": "capture",
    "INPUTS": "inputs",
    "Inputs": "inputs",
    "digits": "inputs",
    "gaussian_mixture": "inputs",
    "get_inputs": "inputs",
    "szt12": "inputs",
    "szt12_rule": "inputs",
    "ACTIVATIONS": "_constants",
    "MLP": "models",
    "Quantize": "quantized",
    "QuantizedMLP": "quantized",
    "GaussianNoise": "models",
    "HiddenLayer": "models",
    "LayerActivations": "training",
    "TrainedNetwork": "training",
    "log_spaced_epochs": "training",
    "train": "training",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mibench.networks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mibench.networks.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "ACTIVATIONS",
    "INPUTS",
    "GaussianNoise",
    "HiddenLayer",
    "Inputs",
    "LayerActivations",
    "MLP",
    "Quantize",
    "QuantizedMLP",
    "TrainedNetwork",
    "capture",
    "digits",
    "gaussian_mixture",
    "get_inputs",
    "log_spaced_epochs",
    "szt12",
    "szt12_rule",
    "train",
]
