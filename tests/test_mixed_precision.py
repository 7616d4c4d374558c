"""bfloat16 / float16: every op against its fp32 reference computed on the
upcast 16-bit inputs, the autocast rules, and the three models under
torch.autocast against their fp32 outputs."""

import pytest
import torch

import fastvfx
from conftest import assert_close_scaled
from fastvfx.models import mobilenet_v2_tsm, movinet_a0, squeezetime
from fastvfx.ops.causal_dwconv3d import causal_dwconv3d_reference
from fastvfx.ops.depthwise_conv2d import depthwise_conv2d_reference
from fastvfx.ops.temporal_focus_conv2d import channel_scaled_conv2d_reference, temporal_focus_conv2d_reference
from fastvfx.ops.temporal_shift import shift_conv1x1_reference, temporal_shift_reference

HALF = [torch.bfloat16, torch.float16]
# Relative spacing of 16-bit values: one rounding of an fp32 result.
EPS = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-10}


def _rand(*shape, dtype, scale=1.0):
    """Random values that are exact in dtype, and their float32 copy."""
    x = (torch.randn(*shape) * scale).to(dtype)
    return x, x.float()


def _assert_one_rounding(actual, expected32, dtype, ulps=1.0):
    """actual (16-bit) is expected32 rounded to dtype, within `ulps` of its spacing."""
    assert actual.dtype == dtype
    tol = ulps * EPS[dtype]
    torch.testing.assert_close(actual.float(), expected32, rtol=tol, atol=tol * 1e-3 * expected32.abs().max().item())


# ---------------------------------------------------------------------------
# causal_dwconv3d: fp32 kernels on converted tiles, so one rounding at the end.
# ---------------------------------------------------------------------------

DW_CASES = [
    # (N, C, T, H, W), kernel, stride, padding, activation
    ((2, 5, 4, 9, 9), (3, 3, 3), 2, "same", "swish"),
    ((1, 3, 5, 7, 8), (1, 5, 5), 1, "same", None),
    ((2, 4, 3, 6, 6), (5, 1, 1), 1, "same", "relu"),
    ((1, 70, 2, 40, 40), (3, 3, 3), 1, (1, 1), "hardswish"),  # several tiles per sample
]


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("shape,kernel,stride,padding,act", DW_CASES)
def test_causal_dwconv3d_half(dtype, shape, kernel, stride, padding, act):
    x, x32 = _rand(*shape, dtype=dtype)
    w, w32 = _rand(shape[1], 1, *kernel, dtype=dtype, scale=0.3)
    b, b32 = _rand(shape[1], dtype=dtype)
    y = fastvfx.causal_dwconv3d(x, w, b, stride, padding, act)
    _assert_one_rounding(y, causal_dwconv3d_reference(x32, w32, b32, stride, padding, act), dtype)


@pytest.mark.parametrize("dtype", HALF)
def test_causal_dwconv3d_half_stream_equals_clip(dtype):
    x, _ = _rand(2, 6, 7, 9, 9, dtype=dtype)
    w, _ = _rand(6, 1, 3, 3, 3, dtype=dtype)
    b, _ = _rand(6, dtype=dtype)
    clip = fastvfx.causal_dwconv3d(x, w, b, 2, "same", "swish")
    state = fastvfx.init_stream_state(2, 6, 3, 9, 9, dtype=dtype, kernel_size=(3, 3, 3), stride=2)
    assert state.buffer.dtype == dtype and state.padded.numel() == 0
    steps = [fastvfx.causal_dwconv3d_step(x[:, :, t : t + n], w, b, state, 2, "same", "swish")
             for t, n in ((0, 1), (1, 2), (3, 4))]
    assert torch.equal(torch.cat(steps, 2), clip)
    # the ring holds the last kT-1 = 2 input frames, frame a in slot a % 2
    assert torch.equal(state.buffer[:, :, 1], x[:, :, 5]) and torch.equal(state.buffer[:, :, 0], x[:, :, 6])


def test_causal_dwconv3d_half_stream_rejects_padded_cache():
    x, _ = _rand(1, 2, 1, 5, 5, dtype=torch.bfloat16)
    w, _ = _rand(2, 1, 3, 3, 3, dtype=torch.bfloat16)
    state = fastvfx.init_stream_state(1, 2, 3, 5, 5, dtype=torch.bfloat16)
    bad = fastvfx.StreamState(state.buffer, state.position, torch.zeros(10, dtype=torch.bfloat16))
    with pytest.raises(RuntimeError, match="16-bit stream keeps no padded cache"):
        fastvfx.causal_dwconv3d_step(x, w, None, bad)
    assert bad.position.item() == 0


@pytest.mark.parametrize("dtype", HALF)
def test_causal_dwconv3d_half_backward(dtype):
    x, x32 = _rand(3, 4, 5, 7, 7, dtype=dtype)
    w, w32 = _rand(4, 1, 3, 3, 3, dtype=dtype)
    b, b32 = _rand(4, dtype=dtype)
    g, g32 = _rand(3, 4, 5, 4, 4, dtype=dtype)
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    fastvfx.causal_dwconv3d(*leaves, stride=2).backward(g)
    leaves32 = [t.clone().requires_grad_() for t in (x32, w32, b32)]
    causal_dwconv3d_reference(*leaves32, stride=2).backward(g32)
    for half, full in zip(leaves, leaves32):
        _assert_one_rounding(half.grad, full.grad, dtype)


# ---------------------------------------------------------------------------
# depthwise_conv2d: fp32 kernels on converted tiles (NCHW: runs of planes;
# channels_last: blocks of 16 channels over every pixel), one rounding.
# ---------------------------------------------------------------------------

DW2D_CASES = [
    # (N, C, H, W), kernel, stride, padding, activation, channels_last
    ((2, 5, 9, 9), (3, 3), 2, "same", "swish", False),
    ((2, 5, 9, 9), (3, 3), 2, "same", "swish", True),
    ((1, 40, 7, 8), (5, 5), 1, 2, "relu6", True),  # blocks of 16, 16 and 8 channels
    ((3, 70, 20, 20), (3, 3), 1, (1, 1), "hardswish", False),  # several tiles per sample
    ((2, 33, 30, 30), (3, 3), 2, "same", None, True),  # several tiles, a partial block
]


def _channels_last(t, channels_last):
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("shape,kernel,stride,padding,act,channels_last", DW2D_CASES)
def test_depthwise_conv2d_half(dtype, shape, kernel, stride, padding, act, channels_last):
    x, x32 = _rand(*shape, dtype=dtype)
    x = _channels_last(x, channels_last)
    w, w32 = _rand(shape[1], 1, *kernel, dtype=dtype, scale=0.3)
    b, b32 = _rand(shape[1], dtype=dtype)
    y = fastvfx.depthwise_conv2d(x, w, b, stride, padding, act)
    assert y.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    _assert_one_rounding(y, depthwise_conv2d_reference(x32, w32, b32, stride, padding, act), dtype)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("channels_last", [False, True])
def test_depthwise_conv2d_half_backward(dtype, channels_last):
    x, x32 = _rand(3, 20, 9, 9, dtype=dtype)
    w, w32 = _rand(20, 1, 3, 3, dtype=dtype)
    b, b32 = _rand(20, dtype=dtype)
    g, g32 = _rand(3, 20, 5, 5, dtype=dtype)
    leaves = [t.clone().requires_grad_() for t in (_channels_last(x, channels_last), w, b)]
    fastvfx.depthwise_conv2d(*leaves, stride=2, activation="relu").backward(g)
    leaves32 = [t.clone().requires_grad_() for t in (x32, w32, b32)]
    depthwise_conv2d_reference(*leaves32, stride=2, activation="relu").backward(g32)
    for half, full in zip(leaves, leaves32):
        _assert_one_rounding(half.grad, full.grad, dtype)


# ---------------------------------------------------------------------------
# TFC: gate in fp32, scale folded into the weights and rounded once, then
# ATen's 16-bit GEMM / conv: a few roundings per product, relative to max |y|.
# ---------------------------------------------------------------------------

TFC_CASES = [(1, 1, 0, False), (1, 1, 0, True), (3, 2, 1, False), (1, 1, 0, "deep")]


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("kernel,stride,padding,layout", TFC_CASES)
@pytest.mark.parametrize("pool", ["avg", "max"])
def test_temporal_focus_conv2d_half(dtype, kernel, stride, padding, layout, pool):
    n, cin, cout, size = (2, 32, 48, 3) if layout == "deep" else (2, 16, 8, 7)  # deep: C_out > H*W
    x, x32 = _rand(n, cin, size, size, dtype=dtype)
    if layout is True:
        x, x32 = x.contiguous(memory_format=torch.channels_last), x32.contiguous(memory_format=torch.channels_last)
    w, w32 = _rand(cout, cin, kernel, kernel, dtype=dtype, scale=0.2)
    f1, f1_32 = _rand(4, cin, dtype=dtype, scale=0.3)
    b1, b1_32 = _rand(4, dtype=dtype)
    f2, f2_32 = _rand(cin, 4, dtype=dtype, scale=0.3)
    y, scale = fastvfx.temporal_focus_conv2d(x, w, f1, b1, f2, stride=stride, padding=padding, pool=pool)
    ry, rs = temporal_focus_conv2d_reference(x32, w32, f1_32, b1_32, f2_32, stride=stride, padding=padding, pool=pool)
    _assert_one_rounding(scale, rs, dtype)
    assert y.dtype == dtype and y.is_contiguous(memory_format=torch.channels_last) == (layout is True)
    assert_close_scaled(y.float(), ry, tol=4 * EPS[dtype])


@pytest.mark.parametrize("dtype", HALF)
def test_channel_scaled_conv2d_half(dtype):
    x, x32 = _rand(2, 16, 6, 6, dtype=dtype)
    s, s32 = (torch.rand(2, 16).to(dtype),) * 2
    s32 = s.float()
    w, w32 = _rand(8, 16, 3, 3, dtype=dtype, scale=0.2)
    y = fastvfx.channel_scaled_conv2d(x, s, w, None, 1, 1)
    assert y.dtype == dtype
    assert_close_scaled(y.float(), channel_scaled_conv2d_reference(x32, s32, w32, None, 1, 1), tol=4 * EPS[dtype])


# ---------------------------------------------------------------------------
# The shift family moves bytes: bit-exact in any dtype.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", HALF)
def test_shift_family_half(dtype):
    x, x32 = _rand(8, 16, 5, 5, dtype=dtype)
    assert torch.equal(fastvfx.temporal_shift(x, 4), temporal_shift_reference(x, 4))
    inplace = x.clone()
    fastvfx.temporal_shift_(inplace, 4)
    assert torch.equal(inplace, temporal_shift_reference(x, 4))
    w, w32 = _rand(12, 16, dtype=dtype, scale=0.3)
    y = fastvfx.shift_conv1x1(x, w, None, 4)
    assert_close_scaled(y.float(), shift_conv1x1_reference(x32, w32, None, 4), tol=4 * EPS[dtype])


# ---------------------------------------------------------------------------
# Autocast: the conv-like ops run in the autocast dtype (fp32 weights are
# cast like conv2d's), a streaming step in its state's dtype.
# ---------------------------------------------------------------------------


def _autocast_cases(dtype):
    x5, w5, b5 = torch.randn(1, 4, 3, 6, 6), torch.randn(4, 1, 3, 3, 3), torch.randn(4)
    x4, w4 = torch.randn(2, 8, 5, 5), torch.randn(6, 8, 1, 1)
    f1, f2, scale = torch.randn(2, 8), torch.randn(8, 2), torch.rand(2, 8)
    xs, ws = torch.randn(8, 16, 3, 3), torch.randn(6, 16)
    x2, w2 = torch.randn(2, 8, 7, 7), torch.randn(8, 1, 3, 3)
    return [
        (fastvfx.causal_dwconv3d, (x5.to(dtype), w5, b5, 2, "same", "relu")),
        (fastvfx.depthwise_conv2d, (x2.to(dtype).contiguous(memory_format=torch.channels_last), w2, None, 2)),
        (fastvfx.depthwise_conv2d, (x2.to(dtype), w2, torch.randn(8), 1, 1, "relu6")),
        (fastvfx.temporal_focus_conv2d, (x4.to(dtype), w4, f1, None, f2)),
        (fastvfx.channel_scaled_conv2d, (x4, scale, w4)),
        (fastvfx.shift_conv1x1, (xs.to(dtype), ws, None, 4)),
    ]


def _cast_args(args, dtype):
    return tuple(a.to(dtype) if isinstance(a, torch.Tensor) else a for a in args)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("case", range(6))
def test_autocast_casts_like_conv(dtype, case):
    fn, args = _autocast_cases(dtype)[case]
    with torch.autocast("cpu", dtype=dtype):
        out = fn(*args)
    expected = fn(*_cast_args(args, dtype))
    for a, e in zip(out if isinstance(out, tuple) else (out,), expected if isinstance(expected, tuple) else (expected,)):
        assert a.dtype == dtype and torch.equal(a, e)


def test_autocast_leaves_float64_and_disabled_regions_alone():
    x, w = torch.randn(1, 2, 2, 4, 4, dtype=torch.float64), torch.randn(2, 1, 2, 3, 3, dtype=torch.float64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert fastvfx.causal_dwconv3d(x, w).dtype == torch.float64
        with torch.autocast("cpu", enabled=False):
            assert fastvfx.causal_dwconv3d(x.float(), w.float()).dtype == torch.float32


def test_autocast_backward_reaches_fp32_weights():
    x = torch.randn(1, 4, 3, 6, 6)
    w = torch.randn(4, 1, 3, 3, 3, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = fastvfx.causal_dwconv3d(x, w)
    y.float().sum().backward()
    assert w.grad.dtype == torch.float32
    w16 = w.detach().bfloat16().requires_grad_()
    fastvfx.causal_dwconv3d(x.bfloat16(), w16).float().sum().backward()
    assert torch.equal(w.grad, w16.grad.float())


def test_autocast_depthwise_module_fp32_weights():
    """nn.DepthwiseConv2d keeps fp32 parameters; under autocast it runs in
    bf16, and its gradients reach the parameters as fp32."""
    conv = fastvfx.nn.DepthwiseConv2d(8, 3, stride=2, activation="hardswish")
    x = torch.randn(2, 8, 9, 9)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = conv(x)
    params16 = [p.detach().bfloat16() for p in (conv.weight, conv.bias)]
    assert y.dtype == torch.bfloat16
    assert torch.equal(y, fastvfx.depthwise_conv2d(x.bfloat16(), *params16, 2, "same", "hardswish"))
    y.float().sum().backward()
    assert conv.weight.grad.dtype == torch.float32 and conv.bias.grad.dtype == torch.float32


@pytest.mark.parametrize("state_dtype", [torch.float32, torch.bfloat16])
def test_autocast_stream_step_runs_in_state_dtype(state_dtype):
    x, w, b = torch.randn(1, 4, 2, 6, 6), torch.randn(4, 1, 3, 3, 3), torch.randn(4)
    state = fastvfx.init_stream_state(1, 4, 3, 6, 6, dtype=state_dtype)
    expected_state = fastvfx.init_stream_state(1, 4, 3, 6, 6, dtype=state_dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = fastvfx.causal_dwconv3d_step(x.bfloat16(), w, b, state)
    expected = fastvfx.causal_dwconv3d_step(*_cast_args((x.bfloat16(), w, b), state_dtype), expected_state)
    assert y.dtype == state_dtype and torch.equal(y, expected)
    assert torch.equal(state.buffer, expected_state.buffer) and state.position.item() == 2


# ---------------------------------------------------------------------------
# Models (backend="fastvfx") under autocast against their fp32 outputs. bf16
# keeps 8 bits, and a deep random network amplifies its rounding: the bound is
# what the same model in the torch backend (upstream's modules) loses under the
# same autocast, with a margin. A wrong op would be off by O(1).
# ---------------------------------------------------------------------------

SIZE = 32


def _tsm(online, backend):
    model = mobilenet_v2_tsm(6, 4, online=online, backend=backend)
    # Larger classifier weights than the default init, so logits are not all ~0.
    torch.nn.init.normal_(model.classifier[1].weight, 0, 0.5)
    return model


MODELS = {
    # name: (build(backend), input shape, BatchNorm variance floor as in the models' own tests)
    # TSM at 64x64: at 32x32 the last feature map is 1x1 and the random net's output barely depends on x.
    "mobilenet_v2_tsm": (lambda b: _tsm(False, b), (8, 3, 64, 64), 0.0),
    "mobilenet_v2_tsm_online": (lambda b: _tsm(True, b), (8, 3, 64, 64), 0.0),
    "movinet_a0": (lambda b: movinet_a0(7, backend=b), (1, 3, 4, SIZE, SIZE), 0.3),
    "movinet_a0_2plus1d": (lambda b: movinet_a0(7, conv_type="2plus1d", backend=b), (1, 3, 4, SIZE, SIZE), 0.3),
    "squeezetime": (lambda b: squeezetime(9, 4, backend=b), (2, 3, 4, SIZE, SIZE), 0.3),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_under_autocast_bf16(randomize_batchnorm, name):
    torch.manual_seed(0)
    make, shape, var_floor = MODELS[name]
    upstream = randomize_batchnorm(make("torch"), torch.randn(*shape), var_floor=var_floor)
    model = make("fastvfx").eval()
    model.load_state_dict(upstream.state_dict())
    x = torch.randn(*shape)
    with torch.no_grad():
        expected = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            actual = model(x)
            upstream_bf16 = upstream(x)
    assert actual.dtype == torch.bfloat16 and actual.shape == expected.shape
    scale = max(1.0, expected.abs().max().item())
    upstream_error = (upstream_bf16.float() - expected).abs().max().item()
    assert_close_scaled(actual.float(), expected, tol=2 * upstream_error / scale + 5e-3)


def test_model_trains_under_autocast_bf16():
    torch.manual_seed(0)
    model = movinet_a0(5, backend="fastvfx").train()
    x = torch.randn(2, 3, 3, SIZE, SIZE)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([1, 3]))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum().item() for g in grads) > 0


@pytest.mark.parametrize("dtype", HALF)
def test_opcheck_half(dtype):
    """Schema, fake kernels and autograd registration hold for 16-bit inputs."""
    tests = ("test_schema", "test_autograd_registration", "test_faketensor")
    x5 = torch.randn(2, 3, 3, 5, 5).to(dtype).requires_grad_()
    w5 = torch.randn(3, 1, 2, 3, 3).to(dtype).requires_grad_()
    torch.library.opcheck(torch.ops.fastvfx.causal_dwconv3d.default,
                          (x5, w5, None, [2, 2], [0, 0], True, "relu"), test_utils=tests)
    x4 = torch.randn(2, 8, 5, 5).to(dtype).requires_grad_()
    args = (x4, torch.randn(6, 8, 1, 1).to(dtype), torch.randn(2, 8).to(dtype), None, torch.randn(8, 2).to(dtype),
            None, None, [1, 1], [0, 0], "avg")
    torch.library.opcheck(torch.ops.fastvfx.temporal_focus_conv2d.default, args, test_utils=tests)
    x2 = torch.randn(2, 5, 6, 6).to(dtype).contiguous(memory_format=torch.channels_last).requires_grad_()
    torch.library.opcheck(torch.ops.fastvfx.depthwise_conv2d.default,
                          (x2, torch.randn(5, 1, 3, 3).to(dtype), torch.randn(5).to(dtype), [2, 2], [1, 1], False,
                           "swish"), test_utils=tests)
    state = fastvfx.init_stream_state(2, 3, 2, 5, 5, dtype=dtype)
    torch.library.opcheck(torch.ops.fastvfx.causal_dwconv3d_stream_.default,
                          (x5.detach()[:, :, :1], w5.detach(), None, state.buffer, state.position, state.padded,
                           [1, 1], [0, 0], True, "none"), test_utils=("test_schema", "test_faketensor"))
