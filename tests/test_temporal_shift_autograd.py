"""Gradients, gradcheck, opcheck and torch.compile for the shift family."""

import pytest
import torch

import fastvfx
from fastvfx.ops.temporal_shift import shift_conv1x1_reference, temporal_shift_reference

MODES = ["bidirectional", "past"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_out_of_place_gradient_equals_reference(mode, layout):
    x = torch.randn(16, 20, 4, 3)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    g = torch.randn(16, 20, 4, 3)
    got = torch.autograd.grad((fastvfx.temporal_shift(x, 8, 4, mode) * g).sum(), x)[0]
    want = torch.autograd.grad((temporal_shift_reference(x, 8, 4, mode) * g).sum(), x)[0]
    assert torch.equal(got, want)


@pytest.mark.parametrize("mode", MODES)
def test_in_place_gradient_equals_reference(mode):
    x = torch.randn(16, 20, 4, 3, requires_grad=True)
    g = torch.randn(16, 20, 4, 3)
    h = x * 2  # a non-leaf the shift may overwrite
    out = fastvfx.temporal_shift_(h, 8, 4, mode)
    assert out is h and h.grad_fn is not None
    got = torch.autograd.grad((out * g).sum(), x)[0]
    want = torch.autograd.grad((temporal_shift_reference(x * 2, 8, 4, mode) * g).sum(), x)[0]
    assert torch.equal(got, want)


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    x = torch.randn(8, 16, 2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        fastvfx.temporal_shift_(x, 8)


def test_in_place_after_a_save_for_backward_is_detected():
    # sigmoid saves its output; shifting that output in place must make the
    # backward fail loudly instead of computing with changed values.
    x = torch.randn(8, 16, 2, 2, requires_grad=True)
    y = torch.sigmoid(x)
    with torch.no_grad():
        fastvfx.temporal_shift_(y, 8)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck(mode):
    x = torch.randn(8, 10, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fastvfx.temporal_shift(t, 4, 4, mode), (x,))
    assert torch.autograd.gradgradcheck(lambda t: fastvfx.temporal_shift(t, 4, 4, mode), (x,))
    assert torch.autograd.gradcheck(lambda t: fastvfx.temporal_shift_(t * 1, 4, 4, mode), (x,))
    w = torch.randn(6, 10, 1, 1, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, w, b: fastvfx.shift_conv1x1(t, w, b, 4, 4, mode), (x, w, b))
    cache = torch.randn(8, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, c: fastvfx.temporal_shift_online_(t * 1, c * 1), (x, cache))


def _opcheck_samples():
    for layout in (torch.contiguous_format, torch.channels_last):
        for rg in (False, True):
            x = torch.randn(8, 16, 3, 5).contiguous(memory_format=layout).requires_grad_(rg)
            yield torch.ops.fastvfx.temporal_shift.default, (x, 4, 8, "bidirectional", False)
            yield torch.ops.fastvfx.temporal_shift.default, (x, 8, 3, "past", True)
            w = torch.randn(7, 16, 1, 1, requires_grad=rg)
            yield torch.ops.fastvfx.shift_conv1x1.default, (x, w, torch.randn(7), 4, 8, "bidirectional")
            yield torch.ops.fastvfx.shift_conv1x1.default, (x, w, None, 8, 8, "past")
        x = torch.randn(8, 16, 3, 5).contiguous(memory_format=layout)
        yield torch.ops.fastvfx.temporal_shift_.default, (x, 4, 8, "bidirectional", False)
        cache = torch.randn(8, 2, 3, 5).contiguous(memory_format=layout)
        yield torch.ops.fastvfx.temporal_shift_online_.default, (x, cache)


@pytest.mark.parametrize("sample", list(_opcheck_samples()), ids=lambda s: str(s[0]))
def test_opcheck(sample):
    op, args = sample
    torch.library.opcheck(op, args)


def test_compile_fullgraph_matches_eager():
    conv = torch.nn.Conv2d(16, 16, 3, padding=1)
    proj = torch.nn.Conv2d(16, 8, 1)

    def block(x):
        y = fastvfx.temporal_shift(x, 8, 8)
        y = conv(y)  # conv saves its input, not its output: y may be shifted in place
        fastvfx.temporal_shift_(y, 8, 8, "past")
        return fastvfx.shift_conv1x1(torch.relu(y), proj.weight, proj.bias, 8, 8) + 1

    x = torch.randn(16, 16, 6, 6, requires_grad=True)
    compiled = torch.compile(block, fullgraph=True)
    got = compiled(x)
    want = block(x)
    torch.testing.assert_close(got, want)
    g_got = torch.autograd.grad(got.sum(), x)[0]
    g_want = torch.autograd.grad(want.sum(), x)[0]
    torch.testing.assert_close(g_got, g_want)


def test_compile_online_step():
    def step(frame, cache):
        fastvfx.temporal_shift_online_(frame, cache)
        return frame * 2

    compiled = torch.compile(step, fullgraph=True)
    clip = torch.randn(4, 2, 16, 3, 3)
    cache_a, cache_b = torch.zeros(2, 2, 3, 3), torch.zeros(2, 2, 3, 3)
    for t in range(4):
        got = compiled(clip[t].clone(), cache_a)
        want = step(clip[t].clone(), cache_b)
        assert torch.equal(got, want) and torch.equal(cache_a, cache_b)
    # The streamed frames are the uni-directional shift of the clip.
    flat = clip.transpose(0, 1).reshape(8, 16, 3, 3)
    shifted = temporal_shift_reference(flat, 4, 8, "past").view(2, 4, 16, 3, 3)
    assert torch.equal(got, shifted[:, 3] * 2)


def test_shift_conv1x1_double_backward():
    x = torch.randn(8, 8, 2, 2, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 8, 1, 1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda t, w: fastvfx.shift_conv1x1(t, w, None, 4, 4), (x, w))
    torch.testing.assert_close(
        fastvfx.shift_conv1x1(x, w, None, 4, 4), shift_conv1x1_reference(x, w, None, 4, 4)
    )
