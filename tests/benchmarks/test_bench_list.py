"""How long ``mibench list datasets`` takes, as a new user runs it (a fresh process).

Skipped by the default test command (``--benchmark-skip``); run with

    .venv/bin/pytest tests/benchmarks/test_bench_list.py --benchmark-only -s

Listing trains no network (truths come from the disk cache or are marked as computed on first
use); the issue asks for under 2 s. ``extra_info`` holds the time of ``python -c pass`` in the
same rounds, the interpreter's own start, as the reference.
"""

import os
import subprocess
import sys
import time


def _seconds(argv, env) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - start


def test_list_datasets_in_a_new_process(benchmark, tmp_path):
    env = {**os.environ, "MIBENCH_CACHE_DIR": str(tmp_path)}  # an empty cache: nothing trained
    bare = []

    def start_interpreter():
        bare.append(_seconds([sys.executable, "-c", "pass"], env))

    benchmark.pedantic(
        lambda: _seconds([sys.executable, "-m", "mibench", "list", "datasets"], env),
        setup=start_interpreter,
        rounds=3,
        iterations=1,
    )
    listing = min(benchmark.stats.stats.data)
    benchmark.extra_info.update({"python_start_seconds": bare, "list_datasets_seconds": listing})
    print(f"\nmibench list datasets {listing:.2f} s (python -c pass {min(bare):.2f} s)")
