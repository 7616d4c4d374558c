"""Every op on every device (``device``: the CPU, and CUDA where a GPU is
present) against its pure-PyTorch reference on the same device: layouts,
in-place order, streaming with the state on the device, gradients, opcheck and
torch.compile. On CUDA also 16-bit dtypes and a CUDA-graph-captured stream."""

import pytest
import torch
import torch.nn.functional as F

import fastvfx
from fastvfx.ops.causal_dwconv3d import causal_dwconv3d_reference, init_stream_state
from fastvfx.ops.temporal_focus_conv2d import channel_scaled_conv2d_reference, temporal_focus_conv2d_reference
from fastvfx.ops.temporal_shift import (
    shift_conv1x1_reference,
    temporal_shift_online_reference,
    temporal_shift_reference,
)


def _close(got, want, tol=1e-5):
    torch.testing.assert_close(got, want, rtol=tol, atol=tol * max(1.0, want.abs().max().item()))


@pytest.mark.parametrize("mode", ["bidirectional", "past"])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shape, fold_div", [((16, 24, 7, 7), 8), ((6, 13, 5, 3), 3), ((8, 64, 1, 1), 4)])
def test_temporal_shift(device, mode, channels_last, shape, fold_div):
    x = torch.randn(shape, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    want = temporal_shift_reference(x, 2, fold_div, mode)
    assert torch.equal(fastvfx.temporal_shift(x, 2, fold_div, mode), want)
    y = x.clone(memory_format=torch.preserve_format)
    fastvfx.temporal_shift_(y, 2, fold_div, mode)
    assert torch.equal(y, want)
    # The backward is the reverse shift: <shift(x), g> = <x, shift^T(g)>.
    xg = x.clone().requires_grad_()
    g = torch.randn_like(x)
    (fastvfx.temporal_shift(xg, 2, fold_div, mode) * g).sum().backward()
    torch.testing.assert_close((want * g).sum(), (x * xg.grad).sum())


def test_temporal_shift_of_a_strided_view(device):
    x = torch.randn(8, 16, 6, 10, device=device)[..., ::2]
    want = temporal_shift_reference(x.contiguous(), 4, 4)
    fastvfx.temporal_shift_(x, 4, 4)
    assert torch.equal(x, want)


@pytest.mark.parametrize("channels_last", [False, True])
def test_online_shift(device, channels_last):
    x = torch.randn(2, 16, 5, 7, device=device)
    cache = torch.randn(2, 2, 5, 7, device=device)
    if channels_last:
        x, cache = (t.contiguous(memory_format=torch.channels_last) for t in (x, cache))
    want_x, want_cache = (t.clone() for t in temporal_shift_online_reference(x, cache))  # views of x
    fastvfx.temporal_shift_online_(x, cache)
    assert torch.equal(x, want_x) and torch.equal(cache, want_cache)


@pytest.mark.parametrize("channels_last", [False, True])
def test_shift_conv1x1(device, channels_last):
    x = torch.randn(8, 32, 6, 6, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    w, b = torch.randn(24, 32, 1, 1, device=device), torch.randn(24, device=device)
    _close(fastvfx.shift_conv1x1(x, w, b, n_segment=4), shift_conv1x1_reference(x, w, b, n_segment=4), 1e-4)


DW_CASES = [((3, 3, 3), 1, "same", "relu"), ((1, 5, 5), 2, "same", "swish"), ((5, 1, 1), 1, 0, "hardswish"),
            ((3, 3, 3), 2, 1, "relu6"), ((2, 3, 3), 3, "same", None)]


@pytest.mark.parametrize("k, stride, padding, act", DW_CASES)
def test_causal_dwconv3d_forward_backward(device, k, stride, padding, act):
    x = torch.randn(2, 6, 5, 9, 8, device=device, requires_grad=True)
    w = torch.randn(6, 1, *k, device=device, requires_grad=True)
    b = torch.randn(6, device=device, requires_grad=True)
    y = fastvfx.causal_dwconv3d(x, w, b, stride, padding, act)
    want = causal_dwconv3d_reference(x, w, b, stride, padding, act)
    _close(y, want)
    g = torch.randn_like(want)
    got_grads = torch.autograd.grad(y, (x, w, b), g)
    want_grads = torch.autograd.grad(want, (x, w, b), g)
    for got, ref in zip(got_grads, want_grads):
        _close(got, ref, 1e-4)


@pytest.mark.parametrize("k, stride, padding, act", DW_CASES)
@pytest.mark.parametrize("chunks", [[1] * 5, [2, 3], [3, 1, 1]])
def test_streaming_equals_full_clip(device, k, stride, padding, act, chunks):
    x = torch.randn(2, 6, 5, 9, 8, device=device)
    w, b = torch.randn(6, 1, *k, device=device), torch.randn(6, device=device)
    state = init_stream_state(2, 6, k[0], 9, 8, device=device, kernel_size=k, stride=stride, padding=padding)
    assert state.position.device == x.device
    outs, t = [], 0
    for n in chunks:
        outs.append(fastvfx.causal_dwconv3d_step(x[:, :, t : t + n], w, b, state, stride, padding, act))
        t += n
    _close(torch.cat(outs, dim=2), causal_dwconv3d_reference(x, w, b, stride, padding, act))
    assert state.position.item() == 5


@pytest.mark.parametrize("pool", ["avg", "max"])
@pytest.mark.parametrize("kernel, stride, padding", [(1, 1, 0), (3, 2, 1)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_temporal_focus_conv2d(device, pool, kernel, stride, padding, channels_last):
    x = torch.randn(3, 16, 9, 7, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(12, 16, kernel, kernel, device=device)
    fc1, b1 = torch.randn(4, 16, device=device), torch.randn(4, device=device)
    fc2, b2 = torch.randn(16, 4, device=device), torch.randn(16, device=device)
    bias = torch.randn(12, device=device)
    y, scale = fastvfx.temporal_focus_conv2d(x, w, fc1, b1, fc2, b2, bias, stride, padding, pool=pool)
    want_y, want_scale = temporal_focus_conv2d_reference(x, w, fc1, b1, fc2, b2, bias, stride, padding, pool)
    _close(scale, want_scale)
    _close(y, want_y, 1e-4)
    _close(fastvfx.channel_scaled_conv2d(x, scale, w, bias, stride, padding),
           channel_scaled_conv2d_reference(x, scale, w, bias, stride, padding), 1e-4)


def test_gradcheck_float64(device):
    x = torch.randn(1, 2, 3, 5, 4, device=device, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 2, 3, 3, device=device, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, device=device, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: fastvfx.causal_dwconv3d(*a, 2, "same", "swish"), (x, w, b))
    xs = torch.randn(4, 8, 3, 3, device=device, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fastvfx.temporal_shift(t, 2, 4), (xs,))
    s = torch.rand(2, 8, device=device, dtype=torch.float64, requires_grad=True)
    wc = torch.randn(3, 8, 1, 1, device=device, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: fastvfx.channel_scaled_conv2d(a, b, c), (xs[:2], s, wc))


def test_opcheck(device):
    x = torch.randn(4, 8, 3, 3, device=device)
    torch.library.opcheck(torch.ops.fastvfx.temporal_shift.default, (x, 2, 4, "bidirectional", False))
    x5 = torch.randn(1, 3, 4, 5, 5, device=device)
    w5 = torch.randn(3, 1, 3, 3, 3, device=device)
    torch.library.opcheck(torch.ops.fastvfx.causal_dwconv3d.default, (x5, w5, None, [1, 1], [0, 0], True, "relu"))
    w2 = torch.randn(6, 8, 1, 1, device=device)
    fc1, fc2 = torch.randn(2, 8, device=device), torch.randn(8, 2, device=device)
    torch.library.opcheck(
        torch.ops.fastvfx.temporal_focus_conv2d.default, (x, w2, fc1, None, fc2, None, None, [1, 1], [0, 0], "avg")
    )


def test_compile_streaming_loop(device):
    w, b = torch.randn(4, 1, 3, 3, 3, device=device), torch.randn(4, device=device)
    x = torch.randn(1, 4, 6, 8, 8, device=device)
    state = init_stream_state(1, 4, 3, 8, 8, device=device)
    step = torch.compile(lambda f: fastvfx.causal_dwconv3d_step(f, w, b, state, 1, "same", "relu"), fullgraph=True)
    y = torch.cat([step(x[:, :, t : t + 1]) for t in range(6)], dim=2)
    _close(y, causal_dwconv3d_reference(x, w, b, 1, "same", "relu"))


if torch.cuda.is_available():

    @pytest.mark.parametrize("dtype, tol", [(torch.float16, 2e-3), (torch.bfloat16, 1.6e-2)])
    def test_cuda_16_bit_dtypes(dtype, tol):
        x = torch.randn(2, 8, 4, 9, 9, device="cuda", dtype=dtype)
        w = torch.randn(8, 1, 3, 3, 3, device="cuda", dtype=dtype)
        want = causal_dwconv3d_reference(x.double(), w.double(), None, 2, "same", "relu")
        _close(fastvfx.causal_dwconv3d(x, w, None, 2, "same", "relu").double(), want, tol)
        f = torch.randn(8, 16, 7, 7, device="cuda", dtype=dtype)
        assert torch.equal(fastvfx.temporal_shift(f, 4, 8), temporal_shift_reference(f, 4, 8))
        wc = torch.randn(16, 16, 1, 1, device="cuda", dtype=dtype)
        fc1, fc2 = torch.randn(4, 16, device="cuda", dtype=dtype), torch.randn(16, 4, device="cuda", dtype=dtype)
        y, _ = fastvfx.temporal_focus_conv2d(f, wc, fc1, None, fc2)
        want_y, _ = temporal_focus_conv2d_reference(f.double(), wc.double(), fc1.double(), None, fc2.double())
        _close(y.double(), want_y, 4 * tol)

    def test_cuda_graph_captured_stream_loop():
        """The step never reads the position on the host: one captured step
        replayed frame after frame gives the full clip."""
        w, b = torch.randn(8, 1, 3, 3, 3, device="cuda"), torch.randn(8, device="cuda")
        clip = torch.randn(1, 8, 10, 12, 12, device="cuda")
        state = init_stream_state(1, 8, 3, 12, 12, device="cuda")
        frame = torch.zeros(1, 8, 1, 12, 12, device="cuda")
        out = torch.empty(1, 8, 1, 12, 12, device="cuda")
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm up outside the graph, then rewind the state
            fastvfx.causal_dwconv3d_step(frame, w, b, state, 1, "same", "swish", out=out)
        torch.cuda.current_stream().wait_stream(side)
        state.buffer.zero_()
        state.position.zero_()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fastvfx.causal_dwconv3d_step(frame, w, b, state, 1, "same", "swish", out=out)
        outs = []
        for t in range(10):
            frame.copy_(clip[:, :, t : t + 1])
            graph.replay()
            outs.append(out.clone())
        _close(torch.cat(outs, dim=2), causal_dwconv3d_reference(clip, w, b, 1, "same", "swish"))
        assert state.position.item() == 10

    def test_cuda_kernels_are_registered():
        for name in ["temporal_shift", "temporal_shift_", "temporal_shift_online_", "shift_conv1x1",
                     "causal_dwconv3d", "_causal_dwconv3d_backward", "causal_dwconv3d_stream_",
                     "causal_dwconv3d_stream_out_", "temporal_focus_conv2d", "channel_scaled_conv2d"]:
            assert torch._C._dispatch_has_kernel_for_dispatch_key(f"fastvfx::{name}", "CUDA"), name
