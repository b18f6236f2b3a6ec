"""The KSG blocked brute force in torch, for a CUDA device (and on the CPU, to test it).

Rows are taken a block at a time: the block's distances to all samples in each margin (the
max-norm: torch.cdist with p=inf, exact in float64, a maximum of absolute differences; the
Euclidean norm: squares summed in coordinate order, then the square root, as the plain
references compute it, never cdist's matrix-product shortcut), the k-th joint distance, the
marginal counts. Memory is a few block x n matrices, never n x n. On the CPU the compiled
kernels of ``_ksg_kernels`` are several times faster; this path is for accelerators.
"""

from __future__ import annotations

import numpy as np

__all__ = ["torch_counts"]

# Bytes of one block x n float64 matrix; about six such matrices are alive at once. On a GPU,
# a sixteenth of the free memory (within these bounds) keeps the device busy with few launches.
_BLOCK_BYTES_CPU = 16 * 2**20
_BLOCK_BYTES_CUDA_MIN = 64 * 2**20
_BLOCK_BYTES_CUDA_MAX = 2 * 2**30


def _block_bytes(device) -> int:
    import torch

    if device.type != "cuda":
        return _BLOCK_BYTES_CPU
    free, _ = torch.cuda.mem_get_info(device)
    return int(min(_BLOCK_BYTES_CUDA_MAX, max(_BLOCK_BYTES_CUDA_MIN, free // 16)))


def _block_counts(dist_x, dist_y, rows, k: int, variant: int):
    import torch

    block = dist_x.shape[0]
    local = torch.arange(block, device=dist_x.device)
    joint = torch.maximum(dist_x, dist_y)
    joint[local, rows] = torch.inf  # a sample is not its own neighbour
    kth = torch.topk(joint, k, dim=1, largest=False, sorted=True).values[:, -1:]
    if variant == 1:
        counts_x = (dist_x < kth).sum(dim=1) - 1
        counts_y = (dist_y < kth).sum(dim=1) - 1
        return counts_x, counts_y
    # The neighbours are the k smallest joint distances, ties broken by the smaller index (a
    # stable sort's order): all those closer than the k-th, then the first tied ones in index
    # order. topk alone leaves the choice among ties unspecified.
    closer = joint < kth
    tied = joint == kth
    wanted = k - closer.sum(dim=1, keepdim=True)
    chosen = closer | (tied & (torch.cumsum(tied, dim=1) <= wanted))
    zero = torch.zeros((), dtype=dist_x.dtype, device=dist_x.device)
    radius_x = torch.where(chosen, dist_x, zero).amax(dim=1, keepdim=True)
    radius_y = torch.where(chosen, dist_y, zero).amax(dim=1, keepdim=True)
    counts_x = (dist_x <= radius_x).sum(dim=1) - 1
    counts_y = (dist_y <= radius_y).sum(dim=1) - 1
    return counts_x, counts_y


def _distances(block, values, metric: str):
    """(block, n) distances from the rows of ``block`` to those of ``values`` in one margin."""
    import torch

    if metric == "chebyshev" or values.shape[1] == 1:
        return torch.cdist(block, values, p=float("inf"))
    squares = torch.zeros(block.shape[0], values.shape[0], dtype=values.dtype, device=values.device)
    for c in range(values.shape[1]):
        difference = block[:, c, None] - values[None, :, c]
        squares += difference * difference
    return torch.sqrt(squares)


def torch_counts(
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    variant: int,
    device: str = "cpu",
    metric: str = "chebyshev",
) -> tuple[np.ndarray, np.ndarray]:
    """Marginal counts n_x, n_y (sample itself excluded) computed with torch on ``device``,
    with ``metric`` "chebyshev" or "euclidean" within each margin."""
    import torch

    device = torch.device(device)
    n = x.shape[0]
    tx = torch.as_tensor(x, dtype=torch.float64, device=device)
    ty = torch.as_tensor(y, dtype=torch.float64, device=device)
    block = max(1, min(n, _block_bytes(device) // (8 * n)))
    counts_x = torch.empty(n, dtype=torch.int64, device=device)
    counts_y = torch.empty(n, dtype=torch.int64, device=device)
    with torch.no_grad():
        for start in range(0, n, block):
            stop = min(n, start + block)
            rows = torch.arange(start, stop, device=device)
            dist_x = _distances(tx[start:stop], tx, metric)
            dist_y = _distances(ty[start:stop], ty, metric)
            counts_x[start:stop], counts_y[start:stop] = _block_counts(
                dist_x, dist_y, rows, k, variant
            )
    return counts_x.cpu().numpy(), counts_y.cpu().numpy()
