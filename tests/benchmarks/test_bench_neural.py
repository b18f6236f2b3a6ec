"""Speed of one training step of the neural estimators, beside a plain-torch reference.

Skipped by the default test command (``--benchmark-skip``); run with

    .venv/bin/pytest tests/benchmarks/test_bench_neural.py --benchmark-only -s

The timed step is the trainer's own (``training.training_step`` and ``average_weights``):
forward pass of the default separable critic on a batch of the default size, InfoNCE
objective, backward pass, AdamW step, and the update of the averaged weights, on one torch
thread as the estimators run by default. The reference, run before every round in the same
process (``setup`` of ``benchmark.pedantic``, untimed by pytest-benchmark but timed here), is
the same step as it is usually written: two ``nn.Sequential`` encoders, ``torch.optim.Adam``
and InfoNCE as a cross-entropy over the score matrix's rows; no divergence check, no
averaging. ``extra_info`` holds the reference's times and the ratio of the fastest rounds.
"""

import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mibench
from mibench.core.threads import torch_threads
from mibench.estimators.neural.critics import make_critic
from mibench.estimators.neural.training import Objective, average_weights, training_step

DIM = 5  # a multinormal-dense-5-5 sized task


def _defaults():
    params = mibench.get_estimator("infonce").get_params()
    return params["hidden"], params["embedding_dim"], params["batch_size"], params


def _batch(batch_size):
    x, y = mibench.get_dataset("multinormal-dense-5-5-0.5").sample(batch_size, seed=0)
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)


def _reference_step_factory(hidden, embedding_dim, x, y):
    torch.manual_seed(0)

    def encoder():
        layers, width = [], DIM
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        return nn.Sequential(*layers, nn.Linear(width, embedding_dim))

    g, h = encoder(), encoder()
    optimizer = torch.optim.Adam([*g.parameters(), *h.parameters()], lr=1e-3)
    labels = torch.arange(x.shape[0])

    def step():
        scores = g(x) @ h(y).T
        loss = F.cross_entropy(scores, labels)  # -InfoNCE + log K
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


@pytest.mark.benchmark(group="neural training step")
def test_infonce_training_step_of_the_default_critic(benchmark):
    hidden, embedding_dim, batch_size, params = _defaults()
    x, y = _batch(batch_size)
    with torch_threads(params["num_threads"]):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            critic = make_critic("separable", DIM, DIM, hidden, embedding_dim)
        averaged = make_critic("separable", DIM, DIM, hidden, embedding_dim)
        averaged.load_state_dict(critic.state_dict())
        pairs = list(zip(averaged.parameters(), critic.parameters()))
        optimizer = torch.optim.AdamW(
            critic.parameters(), lr=params["learning_rate"], weight_decay=params["weight_decay"]
        )
        objective = Objective("infonce")
        reference = _reference_step_factory(hidden, embedding_dim, x, y)
        reference_times = []
        counter = {"step": 0}

        def run_reference():
            start = time.perf_counter()
            reference()
            reference_times.append(time.perf_counter() - start)

        def mibench_step():
            counter["step"] += 1
            value = training_step(critic, optimizer, objective, x, y)
            average_weights(pairs, params["weight_averaging"], counter["step"])
            return value

        for _ in range(20):  # warm up both before timing
            run_reference()
            mibench_step()
        reference_times.clear()
        # Before timing, the step must compute InfoNCE as the reference does: log K minus the
        # cross-entropy of each row of the score matrix against its diagonal entry.
        with torch.no_grad():
            scores = critic(x, y)
            expected = math.log(batch_size) - F.cross_entropy(scores, torch.arange(batch_size))
        first = mibench_step()
        assert float(first) == pytest.approx(float(expected), abs=1e-5)
        value = benchmark.pedantic(mibench_step, setup=run_reference, rounds=300, iterations=1)

    assert value is not None and torch.isfinite(value)
    fastest = benchmark.stats.stats.min
    ratio = fastest / min(reference_times)
    benchmark.extra_info.update(
        batch_size=batch_size,
        hidden=list(hidden),
        embedding_dim=embedding_dim,
        reference_min_seconds=min(reference_times),
        reference_median_seconds=float(np.median(reference_times)),
        ratio_to_reference=ratio,
    )
    print(
        f"\nmibench InfoNCE step {fastest * 1e3:.3f} ms, plain torch "
        f"{min(reference_times) * 1e3:.3f} ms: ratio {ratio:.2f}"
    )
