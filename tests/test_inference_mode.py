"""Every op under ``torch.inference_mode()`` (how deployed models run), with
shapes large enough that the kernels split their work over torch's threads:
work done on the pool's threads must see the caller's inference mode too (a
GEMM writing an inference tensor from a thread outside it raises). Results
equal the references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import fastvfx
from fastvfx.ops.causal_dwconv3d import causal_dwconv3d_reference
from fastvfx.ops.temporal_focus_conv2d import channel_scaled_conv2d_reference, temporal_focus_conv2d_reference
from fastvfx.ops.temporal_shift import shift_conv1x1_reference, temporal_shift_reference


@pytest.fixture(autouse=True)
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _close(got, want):
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cout", [16, 104])  # fewer or more output channels than positions: both 1x1 paths
def test_channel_scaled_conv2d(cout):
    g = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        x = torch.randn(1, 384, 6, 6, generator=g)
        scale = torch.rand(1, 384, generator=g)
        weight = torch.randn(cout, 384, 1, 1, generator=g)
        bias = torch.randn(cout, generator=g)
        got = fastvfx.channel_scaled_conv2d(x, scale, weight, bias)
        assert got.is_inference()
        _close(got, channel_scaled_conv2d_reference(x, scale, weight, bias))


def test_temporal_focus_conv2d():
    g = torch.Generator().manual_seed(1)
    with torch.inference_mode():
        x = torch.randn(1, 512, 7, 7, generator=g)
        weight = torch.randn(512, 512, 1, 1, generator=g) / 20
        w1, b1 = torch.randn(32, 512, generator=g) / 20, torch.randn(32, generator=g)
        w2 = torch.randn(512, 32, generator=g) / 5
        got = fastvfx.temporal_focus_conv2d(x, weight, w1, b1, w2)
        want = temporal_focus_conv2d_reference(x, weight, w1, b1, w2)
        for a, b in zip(got, want):
            _close(a, b)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_shift_conv1x1(layout):
    g = torch.Generator().manual_seed(2)
    with torch.inference_mode():
        x = torch.randn(16, 64, 28, 28, generator=g).contiguous(memory_format=layout)
        weight = torch.randn(32, 64, 1, 1, generator=g)
        got = fastvfx.shift_conv1x1(x, weight, n_segment=8)
        _close(got, shift_conv1x1_reference(x, weight, n_segment=8))


def test_temporal_shift_in_and_out_of_place():
    g = torch.Generator().manual_seed(3)
    with torch.inference_mode():
        x = torch.randn(16, 64, 28, 28, generator=g)
        want = temporal_shift_reference(x, n_segment=8)
        assert torch.equal(fastvfx.temporal_shift(x, n_segment=8), want)
        y = x.clone()
        fastvfx.temporal_shift_(y, n_segment=8)
        assert torch.equal(y, want)


def test_causal_dwconv3d_clip_and_stream():
    g = torch.Generator().manual_seed(4)
    with torch.inference_mode():
        x = torch.randn(1, 40, 6, 56, 56, generator=g)
        weight = torch.randn(40, 1, 3, 3, 3, generator=g)
        bias = torch.randn(40, generator=g)
        want = causal_dwconv3d_reference(x, weight, bias, stride=1, padding="same")
        _close(fastvfx.causal_dwconv3d(x, weight, bias), want)
        state = fastvfx.init_stream_state(1, 40, 3, 56, 56)
        frames = [fastvfx.causal_dwconv3d_step(x[:, :, t : t + 1], weight, bias, state) for t in range(x.size(2))]
        _close(torch.cat(frames, 2), want)
