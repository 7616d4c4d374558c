"""causal_dwconv3d against F.conv3d with explicit causal + spatial padding,
streaming equivalence, gradients, opcheck, compile, the module, bad input."""

import itertools
import os

import pytest
import torch
from torch import nn

import fastvfx
from conftest import LogDispatch, LogFunctions
from fastvfx.nn import CausalDepthwiseConv3d
from fastvfx.stream import resident_mib
from fastvfx.ops.causal_dwconv3d import (
    causal_dwconv3d_reference,
    causal_dwconv3d_stream_reference,
    init_stream_state,
)

# MoViNet-A0..A2 kernels, (2+1)D pairs, and general ones.
KERNELS = [(1, 3, 3), (1, 5, 5), (3, 3, 3), (5, 3, 3), (3, 1, 1), (5, 1, 1), (7, 5, 7), (2, 1, 3)]
ACTIVATIONS = [None, "relu", "relu6", "hardswish", "swish"]


def _close(got, want):
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * max(1.0, want.abs().max().item()))


CLIP_CASES = [
    (k, stride, size, padding, ACTIVATIONS[i % 5], 1 + 2 * (i % 2))
    for i, (k, stride, size, padding) in enumerate(
        itertools.product(KERNELS, (1, 2), ((7, 7), (8, 6), (11, 12), (4, 23)), ("same", "int"))
    )
]


@pytest.mark.parametrize("k, stride, size, padding, act, n", CLIP_CASES)
def test_full_clip_matches_conv3d(each_isa, k, stride, size, padding, act, n):
    pad = (k[1] // 2, k[2] // 2) if padding == "int" else "same"
    x = torch.randn(n, 6, 5, *size)
    w = torch.randn(6, 1, *k)
    b = torch.randn(6)
    got = fastvfx.causal_dwconv3d(x, w, b, stride, pad, act)
    _close(got, causal_dwconv3d_reference(x, w, b, stride, pad, act))


def test_check_vector():
    y = fastvfx.causal_dwconv3d(torch.ones(1, 1, 4, 2, 2), torch.ones(1, 1, 3, 3, 3), None, 2, "same")
    assert y.shape == (1, 1, 4, 1, 1)
    assert y.flatten().tolist() == [4.0, 8.0, 12.0, 12.0]


def test_tf_same_puts_the_extra_pixel_bottom_right():
    # Even size, stride 2, kernel 3: one pad pixel, after the input.
    x = torch.zeros(1, 1, 1, 4, 4)
    x[..., 0, 0] = 1  # top-left pixel
    w = torch.zeros(1, 1, 1, 3, 3)
    w[..., 0, 0] = 1  # reads the window's top-left: no padding in front
    y = fastvfx.causal_dwconv3d(x, w, None, 2, "same")
    assert y.shape[-2:] == (2, 2) and y[0, 0, 0, 0, 0] == 1


@pytest.mark.parametrize("k", KERNELS)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("chunks", [[1] * 8, [2] * 4, [4, 4], [3, 1, 4], [5, 2, 1]])
@pytest.mark.parametrize("cached", [False, True])
def test_streaming_equals_full_clip(each_isa, k, stride, chunks, cached):
    x = torch.randn(2, 5, 8, 9, 8)
    w = torch.randn(5, 1, *k)
    b = torch.randn(5)
    full = fastvfx.causal_dwconv3d(x, w, b, stride, "same", "hardswish")
    geometry = dict(kernel_size=k, stride=stride) if cached else {}
    state = init_stream_state(2, 5, k[0], 9, 8, **geometry)
    assert (state.padded.numel() > 0) == (cached and k[0] > 1)
    outs, t = [], 0
    for size in chunks:
        outs.append(fastvfx.causal_dwconv3d_step(x[:, :, t : t + size], w, b, state, stride, "same", "hardswish"))
        t += size
    _close(torch.cat(outs, dim=2), full)
    assert state.position.item() == 8


@pytest.mark.parametrize("k, stride", [((5, 3, 3), 1), ((3, 3, 3), 2), ((2, 5, 5), 1), ((1, 3, 3), 1)])
@pytest.mark.parametrize("chunks", [[1] * 6, [2, 1, 3]])
@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize("c", [83, 64 * (os.cpu_count() or 1) + 19])
@pytest.mark.parametrize("size", [(7, 7), (5, 23)])
def test_small_planes_with_many_channels_stream_as_the_clip(each_isa, k, stride, chunks, cached, c, size):
    # 7x7 planes run on the channel-lane engine; 83 channels cover its whole
    # 64-channel chunks, two- and one-vector blocks and the padding lanes past
    # C, and the cached stream keeps its history channels-last. With two
    # 32-channel groups per core the engine runs one task per group. 23-wide
    # planes at stride 2 (12-wide output rows) run there too: border and
    # interior columns; at stride 1 they run on the plane engine.
    x = torch.randn(2, c, 6, *size)
    w, b = torch.randn(c, 1, *k), torch.randn(c)
    full = fastvfx.causal_dwconv3d(x, w, b, stride, "same", "swish")
    _close(full, causal_dwconv3d_reference(x, w, b, stride, "same", "swish"))
    geometry = dict(kernel_size=k, stride=stride) if cached else {}
    state = init_stream_state(2, c, k[0], *size, **geometry)
    outs, t = [], 0
    for frames in chunks:
        outs.append(fastvfx.causal_dwconv3d_step(x[:, :, t : t + frames], w, b, state, stride, "same", "swish"))
        t += frames
    _close(torch.cat(outs, dim=2), full)
    # The buffer holds the last kT-1 input frames, frame a in slot a mod (kT-1).
    for a in range(max(0, 6 - (k[0] - 1)), 6):
        torch.testing.assert_close(state.buffer[:, :, a % (k[0] - 1)], x[:, :, a], rtol=0, atol=0)


def test_step_matches_upstream_concat_step_and_out_is_reused():
    x = torch.randn(1, 8, 6, 10, 10)
    w, b = torch.randn(8, 1, 3, 3, 3), torch.randn(8)
    state = init_stream_state(1, 8, 3, 10, 10)
    buffer = torch.zeros(1, 8, 2, 10, 10)
    out = torch.empty(1, 8, 1, 10, 10)
    for t in range(6):
        frame = x[:, :, t : t + 1]
        want, buffer = causal_dwconv3d_stream_reference(frame, w, b, buffer)
        got = fastvfx.causal_dwconv3d_step(frame, w, b, state, out=out)
        assert got is out
        _close(got, want)
        torch.testing.assert_close(state.buffer[:, :, [(t - 1) % 2, t % 2]] if t >= 1 else buffer, buffer)



def _steps(frames, w, b, state, mode=None):
    """Each frame's step output (a fresh one, and into out), under mode."""
    out = torch.empty(frames.shape[0], frames.shape[1], 1, frames.shape[3], frames.shape[4])
    ys = []
    with mode if mode is not None else torch.no_grad():
        for t in range(frames.shape[2]):
            frame = frames[:, :, t : t + 1]
            ys.append(fastvfx.causal_dwconv3d_step(frame, w, b, state) if t % 2 else
                      fastvfx.causal_dwconv3d_step(frame, w, b, state, out=out).clone())
    return ys


@pytest.mark.parametrize("mode_cls", [LogFunctions, LogDispatch])
def test_step_eager_calls_reach_python_modes(mode_cls):
    # Plain tensors skip torch.ops' Python binding; the steps must still be
    # seen by a TorchFunctionMode and a TorchDispatchMode, with the same results.
    x, w, b = torch.randn(1, 6, 4, 9, 9), torch.randn(6, 1, 3, 3, 3), torch.randn(6)
    want = _steps(x, w, b, init_stream_state(1, 6, 3, 9, 9))
    mode = mode_cls()
    got = _steps(x, w, b, init_stream_state(1, 6, 3, 9, 9), mode)
    assert torch.ops.fastvfx.causal_dwconv3d_stream_.default in mode.seen
    assert torch.ops.fastvfx.causal_dwconv3d_stream_out_.default in mode.seen
    for g, e in zip(got, want):
        assert torch.equal(g, e)


@pytest.mark.parametrize("mode_cls", [LogFunctions, LogDispatch])
def test_clip_without_grad_reaches_python_modes(mode_cls):
    # A clip that needs no gradient skips autograd's Python kernel; the op must
    # still be seen by the modes, and with grad wanted it still differentiates.
    x, w, b = torch.randn(1, 6, 4, 9, 9), torch.randn(6, 1, 3, 3, 3), torch.randn(6)
    want = fastvfx.causal_dwconv3d(x, w, b, activation="swish")
    assert want.grad_fn is None
    with mode_cls() as mode:
        got = fastvfx.causal_dwconv3d(x, w, b, activation="swish")
    assert torch.ops.fastvfx.causal_dwconv3d.default in mode.seen
    assert torch.equal(got, want)
    w.requires_grad_(True)
    y = fastvfx.causal_dwconv3d(x, w, b, activation="swish")
    assert y.grad_fn is not None and torch.equal(y.detach(), want)


def test_step_bumps_the_versions_of_what_it_writes():
    # Without grad mode too: a tensor saved for backward must not change silently.
    w, b = torch.randn(4, 1, 3, 3, 3), torch.randn(4)
    state = init_stream_state(1, 4, 3, 5, 5, kernel_size=(3, 3, 3))
    out = torch.empty(1, 4, 1, 5, 5)
    written = (state.buffer, state.position, state.padded, out)
    before = [t._version for t in written]
    fastvfx.causal_dwconv3d_step(torch.randn(1, 4, 1, 5, 5), w, b, state, out=out)
    assert all(t._version > v for t, v in zip(written, before))


def test_step_op_refuses_grad():
    # The op itself (no Python step in front) has no autograd either.
    w = torch.randn(4, 1, 3, 3, 3, requires_grad=True)
    state = init_stream_state(1, 4, 3, 5, 5)
    with pytest.raises(RuntimeError, match="inference-only"):
        torch.ops.fastvfx.causal_dwconv3d_stream_(torch.randn(1, 4, 1, 5, 5), w, None, state.buffer,
                                                  state.position, state.padded, [1, 1], [0, 0], True, "none")
    assert state.position.item() == 0


def test_fresh_state_restarts_the_video():
    x = torch.randn(1, 4, 6, 5, 5)
    w = torch.randn(4, 1, 3, 3, 3)
    full = fastvfx.causal_dwconv3d(x, w)
    state = init_stream_state(1, 4, 3, 5, 5)
    fastvfx.causal_dwconv3d_step(torch.randn(1, 4, 3, 5, 5), w, None, state)  # another video
    state = init_stream_state(1, 4, 3, 5, 5)
    _close(fastvfx.causal_dwconv3d_step(x[:, :, :2], w, None, state), full[:, :, :2])


@pytest.mark.parametrize("k, stride, act", [((3, 3, 3), 1, None), ((5, 3, 3), 2, "relu6"), ((3, 1, 1), 1, "swish"),
                                           ((1, 5, 5), 1, "hardswish")])
@pytest.mark.parametrize("grad", [False, True])
def test_valid_temporal_padding_is_conv3d_without_temporal_padding(k, stride, act, grad):
    # A model that concatenates its buffered frames to each chunk (MoViNet's
    # PyTorch port) runs nn.Conv3d with temporal padding 0 on the result.
    conv = CausalDepthwiseConv3d(6, k, stride, padding=(k[1] // 2, k[2] // 2), activation=act,
                                 temporal_padding="valid")
    ref = nn.Conv3d(6, 6, k, (1, stride, stride), (0, k[1] // 2, k[2] // 2), groups=6)
    ref.load_state_dict(conv.state_dict())
    post = {None: nn.Identity(), "relu6": nn.ReLU6(), "swish": nn.SiLU(), "hardswish": nn.Hardswish()}[act]
    x = torch.randn(2, 6, k[0] - 1 + 3, 9, 8, requires_grad=grad)
    before = x.detach().clone()
    with torch.set_grad_enabled(grad):
        got, want = conv(x), post(ref(x))
    assert got.shape == want.shape and got.size(2) == 3
    _close(got, want)
    torch.testing.assert_close(x.detach(), before, rtol=0, atol=0)  # the buffered frames are read, not written
    if grad:
        g_got = torch.autograd.grad(got.square().sum(), (x, conv.weight, conv.bias))
        g_want = torch.autograd.grad(want.square().sum(), (x, ref.weight, ref.bias))
        for a, e in zip(g_got, g_want):
            torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4)


def test_valid_temporal_padding_needs_the_buffered_frames():
    conv = CausalDepthwiseConv3d(4, (3, 3, 3), temporal_padding="valid")
    with torch.no_grad(), pytest.raises(ValueError, match="2 past frames in front"):
        conv(torch.randn(1, 4, 2, 5, 5))
    with pytest.raises(ValueError, match="temporal_padding must be"):
        CausalDepthwiseConv3d(4, 3, temporal_padding="same")


def test_long_stream_is_exact_and_memory_flat():
    steps = 500
    x = torch.randn(1, 8, steps, 6, 6)
    w, b = torch.randn(8, 1, 5, 3, 3), torch.randn(8)
    full = fastvfx.causal_dwconv3d(x, w, b, 1, "same", "relu")
    state = init_stream_state(1, 8, 5, 6, 6)
    ptr = state.buffer.data_ptr()
    out = torch.empty(1, 8, 1, 6, 6)
    rss = []
    for t in range(steps):
        fastvfx.causal_dwconv3d_step(x[:, :, t : t + 1], w, b, state, 1, "same", "relu", out=out)
        if t in (50, steps - 1):
            rss.append(resident_mib() * 1024)  # kB
    assert state.buffer.data_ptr() == ptr
    assert rss[1] - rss[0] < 1024, f"RSS grew by {rss[1] - rss[0]} kB over {steps - 50} steps"
    _close(out, full[:, :, -1:])


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("k, stride, padding", [((3, 3, 3), 1, "same"), ((2, 3, 1), 2, "same"), ((3, 1, 1), 1, 0), ((1, 3, 3), 2, 1)])
def test_gradcheck(act, k, stride, padding):
    x = torch.randn(2, 3, 4, 5, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 1, *k, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    if act in ("relu", "relu6", "hardswish"):
        # Keep pre-activations away from the kinks, where finite differences lie.
        with torch.no_grad():
            b += 0.37
    assert torch.autograd.gradcheck(
        lambda x, w, b: fastvfx.causal_dwconv3d(x, w, b, stride, padding, act), (x, w, b), atol=1e-6
    )


@pytest.mark.parametrize("act", [None, "swish"])
def test_gradients_match_conv3d_autograd(each_isa, act):
    x = torch.randn(2, 6, 7, 9, 9, requires_grad=True)
    w = torch.randn(6, 1, 5, 3, 3, requires_grad=True)
    b = torch.randn(6, requires_grad=True)
    g = torch.randn(2, 6, 7, 5, 5)
    got = torch.autograd.grad((fastvfx.causal_dwconv3d(x, w, b, 2, "same", act) * g).sum(), (x, w, b))
    want = torch.autograd.grad((causal_dwconv3d_reference(x, w, b, 2, "same", act) * g).sum(), (x, w, b))
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4)


def _opcheck_samples():
    x = torch.randn(2, 4, 5, 6, 7)
    w = torch.randn(4, 1, 3, 3, 3)
    b = torch.randn(4)
    yield torch.ops.fastvfx.causal_dwconv3d.default, (x, w, b, [1, 1], [0, 0], True, "none")
    yield torch.ops.fastvfx.causal_dwconv3d.default, (x, w, None, [2, 2], [1, 1], False, "swish")
    yield torch.ops.fastvfx.causal_dwconv3d.default, (
        x.requires_grad_(True), w.requires_grad_(True), b.requires_grad_(True), [2, 1], [0, 0], True, "relu"
    )
    state = init_stream_state(2, 4, 3, 6, 7)
    frame = torch.randn(2, 4, 1, 6, 7)
    yield torch.ops.fastvfx.causal_dwconv3d_stream_.default, (
        frame, w.detach(), b.detach(), state.buffer, state.position, state.padded, [1, 1], [0, 0], True, "none"
    )
    cached = init_stream_state(2, 4, 3, 6, 7, kernel_size=(3, 3, 3), stride=2)
    yield torch.ops.fastvfx.causal_dwconv3d_stream_.default, (
        frame, w.detach(), None, cached.buffer, cached.position, cached.padded, [2, 2], [0, 0], True, "relu"
    )


@pytest.mark.parametrize("sample", list(_opcheck_samples()), ids=lambda s: str(s[0]))
def test_opcheck(sample):
    op, args = sample
    torch.library.opcheck(op, args)


def test_compile_streaming_loop():
    conv = CausalDepthwiseConv3d(8, (3, 3, 3), activation="relu6").eval()
    x = torch.randn(1, 8, 6, 7, 7)

    def run(frames, state):
        ys = []
        for t in range(frames.size(2)):
            y, state = conv.step(frames[:, :, t : t + 1], state)
            ys.append(y)
        return torch.cat(ys, dim=2)

    compiled = torch.compile(run, fullgraph=True)
    with torch.no_grad():
        got = compiled(x, conv.init_state(1, 7, 7))
        _close(got, conv(x))


def test_compile_full_clip_with_grad():
    conv = CausalDepthwiseConv3d(4, (3, 3, 3), stride=2, activation="swish")
    x = torch.randn(1, 4, 5, 8, 8, requires_grad=True)
    compiled = torch.compile(conv, fullgraph=True)
    got = compiled(x)
    _close(got, conv(x))
    g1 = torch.autograd.grad(got.sum(), x)[0]
    g2 = torch.autograd.grad(conv(x).sum(), x)[0]
    _close(g1, g2)


class TestModule:
    def test_forward_and_chunked_steps(self):
        conv = CausalDepthwiseConv3d(10, (5, 3, 3), stride=(1, 2, 2), activation="hardswish")
        x = torch.randn(3, 10, 7, 12, 11)
        want = causal_dwconv3d_reference(x, conv.weight, conv.bias, 2, "same", "hardswish")
        _close(conv(x), want)
        state = conv.init_state(3, 12, 11)
        with torch.no_grad():
            parts = [conv.step(x[:, :, a:b], state)[0] for a, b in ((0, 2), (2, 3), (3, 7))]
        _close(torch.cat(parts, 2), want)

    def test_fuse_bn_equals_conv_then_bn(self):
        conv = CausalDepthwiseConv3d(6, (3, 3, 3), bias=False)
        bn = nn.BatchNorm3d(6)
        with torch.no_grad():
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-1, 1)
        bn.eval()
        x = torch.randn(2, 6, 4, 7, 7)
        want = bn(conv(x))
        _close(conv.fuse_bn(bn)(x), want)

    def test_constructor_validation(self):
        with pytest.raises(ValueError, match="temporal stride"):
            CausalDepthwiseConv3d(4, 3, stride=(2, 1, 1))
        with pytest.raises(ValueError, match="activation"):
            CausalDepthwiseConv3d(4, 3, activation="gelu")
        with pytest.raises(ValueError, match="padding"):
            CausalDepthwiseConv3d(4, 3, padding="valid")


class TestBadInput:
    def setup_method(self):
        self.w = torch.randn(4, 1, 3, 3, 3)
        self.frame = torch.randn(2, 4, 1, 6, 6)

    @pytest.mark.parametrize(
        "state, error",
        [
            (lambda: init_stream_state(3, 4, 3, 6, 6), "stream buffer of shape"),  # another batch
            (lambda: init_stream_state(2, 5, 3, 6, 6), "stream buffer of shape"),  # channels
            (lambda: init_stream_state(2, 4, 3, 6, 7), "stream buffer of shape"),  # spatial size
            (lambda: init_stream_state(2, 4, 5, 6, 6), "stream buffer of shape"),  # another kT
            (lambda: init_stream_state(2, 4, 3, 6, 6, dtype=torch.float64), "dtype"),
            (lambda: init_stream_state(2, 4, 3, 6, 6, device="meta"), "meta|device"),
        ],
    )
    def test_mismatched_state_is_refused_and_untouched(self, state, error):
        st = state()
        # A meta state (its position is on the state's device too) holds no values to compare.
        real = st.buffer.device.type != "meta"
        before = (st.buffer.clone(), st.position.clone()) if real else None
        # The message names the step the user called, not the full-clip op.
        with pytest.raises(RuntimeError, match=f"^fastvfx.causal_dwconv3d_step: .*({error})"):
            fastvfx.causal_dwconv3d_step(self.frame, self.w, None, st)
        if real:
            assert torch.equal(st.buffer, before[0]) and torch.equal(st.position, before[1])

    def test_padded_cache_of_another_layer_is_refused(self):
        st = init_stream_state(2, 4, 3, 6, 6, kernel_size=(3, 5, 5))
        with pytest.raises(RuntimeError, match="padded cache"):
            fastvfx.causal_dwconv3d_step(self.frame, self.w, None, st)
        assert st.position.item() == 0

    def test_module_step_with_a_mismatched_state_names_the_step(self):
        conv = CausalDepthwiseConv3d(4, (3, 3, 3))
        with torch.no_grad(), pytest.raises(RuntimeError, match="^fastvfx.causal_dwconv3d_step: stream buffer"):
            conv.step(self.frame, conv.init_state(3, 6, 6))

    def test_wrong_out_names_the_step(self):
        st = init_stream_state(2, 4, 3, 6, 6)
        with pytest.raises(RuntimeError, match="^fastvfx.causal_dwconv3d_step: out must be"):
            fastvfx.causal_dwconv3d_step(self.frame, self.w, None, st, out=torch.empty(2, 4, 1, 5, 5))
        assert st.position.item() == 0

    @pytest.mark.parametrize("needs_grad", ["x", "weight", "bias", "state.buffer"])
    def test_step_under_grad_mode_is_refused(self, needs_grad):
        # Before, the output got a grad_fn whose backward left the weight's grad None.
        x, w, b = self.frame.clone(), self.w.clone(), torch.randn(4)
        st = init_stream_state(2, 4, 3, 6, 6)
        dict(x=x, weight=w, bias=b, **{"state.buffer": st.buffer})[needs_grad].requires_grad_(True)
        before = st.buffer.detach().clone()
        with pytest.raises(RuntimeError, match=f"inference-only .* but {needs_grad} requires grad"):
            fastvfx.causal_dwconv3d_step(x, w, b, st)
        assert st.position.item() == 0
        assert torch.equal(st.buffer.detach(), before)

    def test_module_step_under_grad_mode_is_refused_and_works_without(self):
        conv = CausalDepthwiseConv3d(4, (3, 3, 3))
        st = conv.init_state(2, 6, 6)
        with pytest.raises(RuntimeError, match="inference-only .* weight, bias require grad.*no_grad"):
            conv.step(self.frame, st)
        assert st.position.item() == 0
        for context in (torch.no_grad, torch.inference_mode):
            with context():
                y, _ = conv.step(self.frame, conv.init_state(2, 6, 6))
            assert y.grad_fn is None
            _close(y, causal_dwconv3d_reference(self.frame, conv.weight.detach(), conv.bias.detach()))

    def test_empty_step_is_refused(self):
        st = init_stream_state(2, 4, 3, 6, 6)
        with pytest.raises(RuntimeError, match="at least one new frame"):
            fastvfx.causal_dwconv3d_step(torch.randn(2, 4, 0, 6, 6), self.w, None, st)
        assert st.position.item() == 0

    @pytest.mark.parametrize(
        "x, w, kwargs, exc, error",
        [
            (torch.randn(2, 4, 6, 6), torch.randn(4, 1, 3, 3, 3), {}, RuntimeError, "shape \\(N, C, T, H, W\\)"),
            (torch.randn(1, 4, 2, 6, 6), torch.randn(4, 2, 3, 3, 3), {}, RuntimeError, "depthwise"),
            (torch.randn(1, 4, 2, 6, 6), torch.randn(5, 1, 3, 3, 3), {}, RuntimeError, "depthwise"),
            (torch.randn(1, 4, 2, 6, 6), torch.randn(4, 1, 3, 3), {}, RuntimeError, "depthwise"),
            (torch.ones(1, 4, 2, 6, 6, dtype=torch.int32), torch.ones(4, 1, 3, 3, 3, dtype=torch.int32), {},
             RuntimeError, "float32"),
            (torch.randn(1, 4, 2, 6, 6), torch.randn(4, 1, 3, 3, 3), {"stride": (2, 1, 1)}, ValueError, "temporal stride"),
            (torch.randn(1, 4, 2, 6, 6), torch.randn(4, 1, 3, 3, 3), {"padding": "valid"}, ValueError, "padding"),
            (torch.randn(1, 4, 2, 6, 6), torch.randn(4, 1, 3, 3, 3), {"activation": "tanh"}, ValueError, "activation"),
            (torch.randn(1, 4, 2, 2, 2), torch.randn(4, 1, 3, 5, 5), {"padding": 0}, RuntimeError, "larger than"),
        ],
    )
    def test_clear_errors(self, x, w, kwargs, exc, error):
        with pytest.raises(exc, match=error):
            fastvfx.causal_dwconv3d(x, w, **kwargs)

    def test_empty_clip_gives_empty_output(self):
        y = fastvfx.causal_dwconv3d(torch.randn(1, 4, 0, 6, 6), self.w)
        assert y.shape == (1, 4, 0, 6, 6)

    def test_non_contiguous_and_channels_last_inputs(self):
        x = torch.randn(2, 4, 5, 6, 6)
        want = causal_dwconv3d_reference(x, self.w)
        _close(fastvfx.causal_dwconv3d(x.contiguous(memory_format=torch.channels_last_3d), self.w), want)
        _close(fastvfx.causal_dwconv3d(x.transpose(3, 4).contiguous().transpose(3, 4), self.w), want)
