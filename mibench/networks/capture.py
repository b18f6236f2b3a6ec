"""Bring your own model: the activations of any torch module's named layers, for estimation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mibench.core.validation import InputError

__all__ = ["capture"]


def capture(
    model: nn.Module,
    inputs,
    layers: str | Sequence[str],
    *,
    batch_size: int | None = None,
) -> dict[str, np.ndarray]:
    """Run ``model`` on ``inputs`` and return the outputs of its named layers.

    Forward hooks record each named module's output; nothing about the model is changed
    (it runs in whatever train/eval mode it is in: call ``model.eval()`` first if it has
    dropout or batch normalisation, and the hooks are removed afterwards).

    Parameters
    ----------
    model : torch.nn.Module
    inputs : array-like or tensor of shape (n, ...)
        Converted to a tensor of the dtype and device of the model's first parameter.
    layers : str or sequence of str
        Names from ``model.named_modules()``, e.g. ``"hidden.0.activation"`` or ``"fc1"``.
    batch_size : int, optional
        Run the inputs in chunks of this many rows (memory); default all at once.

    Returns
    -------
    dict of str to ndarray of float64, shape (n, features)
        Each layer's output with everything after the first axis flattened, in the order of
        ``layers``: ready for ``mibench.estimate(x, activations[name])``.

    Raises
    ------
    ValueError
        For an unknown layer name (the message lists the valid ones), or a layer whose output
        is not a single tensor with one row per input.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise InputError("layers is empty: name at least one module of the model")
    modules = dict(model.named_modules())
    unknown = [name for name in names if name not in modules]
    if unknown:
        valid = [name for name in modules if name]
        raise InputError(
            f"unknown layer{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the model's named modules are: {', '.join(valid)}"
        )
    parameter = next(model.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    device = parameter.device if parameter is not None else torch.device("cpu")
    if isinstance(inputs, torch.Tensor):
        x = inputs.detach().to(device=device, dtype=dtype)
    else:
        x = torch.tensor(np.asarray(inputs), dtype=dtype, device=device)
    n = x.shape[0]
    step = n if batch_size is None else int(batch_size)
    if step < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")

    chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}

    def recorder(name: str):
        def hook(module, args, output):
            if not isinstance(output, torch.Tensor):
                raise InputError(
                    f"layer {name!r} returns {type(output).__name__}, not a tensor; "
                    "capture a submodule that returns a tensor"
                )
            chunks[name].append(output.detach().to("cpu", torch.float64).numpy())

        return hook

    handles = [modules[name].register_forward_hook(recorder(name)) for name in names]
    try:
        with torch.no_grad():
            for start in range(0, n, step):
                before = {name: len(chunks[name]) for name in names}
                model(x[start : start + step])
                for name in names:
                    if len(chunks[name]) != before[name] + 1:
                        raise InputError(
                            f"layer {name!r} ran {len(chunks[name]) - before[name]} times in one "
                            "forward pass; capture needs a layer that runs exactly once"
                        )
    finally:
        for handle in handles:
            handle.remove()

    result = {}
    for name in names:
        values = np.concatenate(chunks[name], axis=0)
        if values.ndim == 0 or values.shape[0] != n:
            raise InputError(
                f"layer {name!r} gave an output of shape {values.shape}, not one row per input ({n})"
            )
        result[name] = np.ascontiguousarray(values.reshape(n, -1), dtype=np.float64)
    return result
