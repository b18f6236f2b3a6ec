"""scripts/batched_step_matmuls.py: the matrix products of a computation, recorded with their
layouts and FLOP, and replayed alone."""

import torch

from tests.repository_scripts import load_script

matmuls = load_script("batched_step_matmuls")


def test_every_product_is_recorded_with_its_flop_and_nothing_else():
    layer = torch.nn.Linear(5, 7)
    x = torch.randn(3, 5, requires_grad=True)
    stack, weights = torch.randn(4, 3, 5), torch.randn(4, 5, 6)
    with matmuls.RecordProducts() as recorder:
        layer(x).relu().sum().backward()  # forward addmm; backward: input and weight mm
        torch.bmm(stack, weights)
        torch.exp(stack)  # control: not a product, not recorded
    ops = [func for func, _, _ in recorder.calls]
    assert ops.count(torch.ops.aten.addmm.default) == 1
    assert ops.count(torch.ops.aten.mm.default) == 2
    assert ops.count(torch.ops.aten.bmm.default) == 1
    assert len(ops) == 4
    flops = {func: f for func, _, f in recorder.calls}
    assert flops[torch.ops.aten.addmm.default] == 2 * 3 * 5 * 7
    assert flops[torch.ops.aten.bmm.default] == 2 * 4 * 3 * 5 * 6
    # Each operand's layout is kept: the bmm's are its two contiguous inputs.
    bmm_layout = next(layout for func, layout, _ in recorder.calls if func is torch.ops.aten.bmm.default)
    assert bmm_layout == [((4, 3, 5), (15, 5, 1)), ((4, 5, 6), (30, 6, 1))]


def test_replay_runs_the_recorded_products_on_operands_of_the_same_layouts():
    with matmuls.RecordProducts() as recorder:
        torch.bmm(torch.randn(2, 3, 4), torch.randn(2, 4, 5).transpose(1, 2).contiguous().transpose(1, 2))
    ((func, layout, _),) = recorder.calls
    assert layout[1] == ((2, 4, 5), (20, 1, 4))  # the transposed operand's strides, as they are
    for warm in (False, True):
        # The replay, recorded in turn, is the same products on the same layouts.
        with matmuls.RecordProducts() as replayed:
            seconds = matmuls.replay(recorder.calls, warm=warm)
        assert replayed.calls == recorder.calls
        assert seconds > 0
