"""How much of a neural run is matrix products, and how fast the machine does them.

    python scripts/batched_step_matmuls.py [--bound infonce] [--steps 300] [--rounds 3]

Issue 22 asks that ten seeds trained together cost at most 3x one seed. This script says what
bounds that ratio on this machine. For one seed alone (on one thread, the estimators' default)
and ten seeds batched (on all cores, as ``mibench run`` trains them), each for a fixed number
of steps without early stopping on one sample of multinormal-dense-5-5-0.5 (n = 5,000):

1. the whole run is timed;
2. the same run is repeated once under a ``TorchDispatchMode`` that records every matrix
   product torch executes (``mm``, ``addmm``, ``bmm``, ``baddbmm``: the critic's layers and
   score matrices, forward and backward, training and evaluation) with its operands' shapes and
   strides;
3. those products alone are replayed with operands of the same shapes and strides, on the same
   threads, and timed twice: *cold*, each product on operands of its own (fresh memory, as if
   nothing were in the cache), and *warm*, each distinct layout's operands made once and used
   again (in the cache, as a training step's freshly written activations mostly are). The run
   spends between the two on its products; the rest is the bound's elementwise work, the
   optimiser, the evaluations' bookkeeping and Python;
4. one large ``bmm`` gives the machine's matrix-product rate on the same threads.

Printed: the run's time, its products' share of it, their FLOP rate against the large ``bmm``'s,
and the ratio of ten seeds to one both as measured and as it would be if only the products
cost time. All in one process, interleaved round by round; medians of the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import mibench
from mibench.core.threads import available_cores, torch_threads

DATASET, N, SEEDS = "multinormal-dense-5-5-0.5", 5000, list(range(10))

_PRODUCTS = {
    torch.ops.aten.mm.default: lambda a, b: 2 * a.shape[0] * a.shape[1] * b.shape[1],
    torch.ops.aten.addmm.default: lambda c, a, b: 2 * a.shape[0] * a.shape[1] * b.shape[1],
    torch.ops.aten.bmm.default: lambda a, b: 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2],
    torch.ops.aten.baddbmm.default: (
        lambda c, a, b: 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    ),
}


class RecordProducts(TorchDispatchMode):
    """Records (op, [(shape, stride) of each tensor operand], flops) of every matrix product."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in _PRODUCTS:
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            layout = [(tuple(t.shape), tuple(t.stride())) for t in tensors]
            self.calls.append((func, layout, _PRODUCTS[func](*tensors)))
        return func(*args, **(kwargs or {}))


def replay(calls, warm: bool) -> float:
    """Seconds to run these products alone on operands of the same layouts: each its own
    (``warm=False``), or one set per distinct layout, used again (``warm=True``)."""
    made: dict = {}

    def operands(func, layout):
        if not warm:
            return [torch.empty_strided(shape, stride).normal_() for shape, stride in layout]
        key = (func, tuple(layout))
        if key not in made:
            made[key] = [torch.empty_strided(shape, stride).normal_() for shape, stride in layout]
        return made[key]

    prepared = [(func, operands(func, layout)) for func, layout, _ in calls]
    start = time.perf_counter()
    for func, tensors in prepared:
        func(*tensors)
    return time.perf_counter() - start


def large_bmm_rate(repeats: int = 20) -> float:
    """FLOP/s of a (10, 512, 512) x (10, 512, 512) bmm on the current threads."""
    a, b = torch.randn(10, 512, 512), torch.randn(10, 512, 512)
    torch.bmm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.bmm(a, b)
    return repeats * 2 * 10 * 512**3 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bound", default="infonce")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    x, y = mibench.get_dataset(DATASET).sample(N, seed=0)
    estimator = mibench.get_estimator(args.bound, steps=args.steps, early_stopping=False)
    cores = available_cores()

    def one_seed():
        estimator.estimate_with_extras(x, y)

    def ten_seeds():
        estimator.estimate_seeds([(x, y)] * len(SEEDS), SEEDS, threads=cores)

    runs = {"1 seed, 1 thread": (one_seed, 1), f"10 seeds, {cores} threads": (ten_seeds, cores)}
    calls, times, cold, warm, rates = {}, {}, {}, {}, {}
    for name, (run, threads) in runs.items():
        with torch_threads(threads):
            run()  # warm up
            with RecordProducts() as recorder:
                run()
        calls[name] = recorder.calls
        times[name], cold[name], warm[name], rates[name] = [], [], [], []
    for _ in range(args.rounds):
        for name, (run, threads) in runs.items():
            with torch_threads(threads):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
                cold[name].append(replay(calls[name], warm=False))
                warm[name].append(replay(calls[name], warm=True))
                rates[name].append(large_bmm_rate())

    print(f"{args.bound}, {args.steps} steps, no early stopping, {DATASET} n={N}; "
          f"medians of {args.rounds} rounds")
    print("| run | whole run | its products, warm - cold | their share of the run | their rate, warm - cold "
          "| a large bmm's rate | products | FLOP |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    medians = {}
    for name in runs:
        whole = statistics.median(times[name])
        hot, cool = statistics.median(warm[name]), statistics.median(cold[name])
        flops = sum(f for *_, f in calls[name])
        medians[name] = (whole, hot, cool)
        print(
            f"| {name} | {whole:.3f} s | {hot:.3f} - {cool:.3f} s | {hot / whole:.0%} - {cool / whole:.0%} | "
            f"{flops / hot / 1e9:.0f} - {flops / cool / 1e9:.0f} GFLOP/s | "
            f"{statistics.median(rates[name]) / 1e9:.0f} GFLOP/s | {len(calls[name]):,} | "
            f"{flops / 1e9:.1f} G |"
        )
    (one_whole, *_), (ten_whole, ten_hot, ten_cold) = medians.values()
    print(f"\nten seeds / one seed: {ten_whole / one_whole:.2f} as run; "
          f"{ten_hot / one_whole:.2f} - {ten_cold / one_whole:.2f} if the batch cost only its products "
          f"(warm - cold); the batch's other work: {ten_whole - ten_cold:.3f} - {ten_whole - ten_hot:.3f} s")


if __name__ == "__main__":
    main()
