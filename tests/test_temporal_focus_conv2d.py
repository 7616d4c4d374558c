"""Temporal Focus Convolution: the fused op against the explicit pure-PyTorch
chain, gradients, opcheck, torch.compile, the module against the upstream
chain of modules, and bad input."""

import copy

import pytest
import torch
import torch.nn.functional as F

import fastvfx
from fastvfx.ops.temporal_focus_conv2d import (
    TemporalFocusConv2dReference,
    channel_scaled_conv2d_reference,
    temporal_focus_conv2d_reference,
)

POOLS = ["avg", "max"]
# (kernel, stride, padding): the 1x1 GEMM path, then the conv paths.
CONVS = [(1, 1, 0), (1, 2, 0), (1, 1, 1), (3, 1, 1), (3, 2, 1), (3, 1, 0), (5, 2, 2)]
# (C_in, C_out, C_hidden)
CHANNELS = [(16, 16, 16), (12, 20, 6)]


def _close(got, want, dtype=torch.float32):
    tol = {torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(got, want, rtol=tol, atol=tol * max(1.0, want.abs().max().item()))


def _layout(x, layout):
    if layout == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    if layout == "transposed":  # neither contiguous nor channels_last
        return x.transpose(2, 3).contiguous().transpose(2, 3)
    return x


def _gate_args(cin, cout, hidden, kernel, bias, dtype=torch.float32, fc_as_conv=True, requires_grad=False):
    def t(*shape):
        # Scaled like a trained layer (unit-variance outputs): unscaled 512-wide
        # gates saturate the sigmoid, where float32 rounding of the GEMMs shows.
        fan_in = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1) if len(shape) > 1 else 1
        return (torch.randn(*shape, dtype=dtype) / fan_in**0.5).requires_grad_(requires_grad)

    fc1 = t(hidden, cin, 1, 1) if fc_as_conv else t(hidden, cin)
    fc2 = t(cin, hidden, 1, 1) if fc_as_conv else t(cin, hidden)
    return {
        "weight": t(cout, cin, kernel, kernel),
        "fc1_weight": fc1,
        "fc1_bias": t(hidden),
        "fc2_weight": fc2,
        "fc2_bias": t(cin) if bias else None,
        "bias": t(cout) if bias else None,
    }


def _call(fn, x, args, stride, padding, pool):
    return fn(x, args["weight"], args["fc1_weight"], args["fc1_bias"], args["fc2_weight"], args["fc2_bias"],
              args["bias"], stride, padding, pool)


@pytest.mark.parametrize("conv", CONVS, ids=lambda c: "k{}s{}p{}".format(*c))
@pytest.mark.parametrize("channels", CHANNELS, ids=lambda c: "cin{}-cout{}-hid{}".format(*c))
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("n", [1, 4])
def test_matches_reference(each_isa, conv, channels, bias, pool, n):
    kernel, stride, padding = conv
    cin, cout, hidden = channels
    x = torch.randn(n, cin, 9, 7)
    args = _gate_args(cin, cout, hidden, kernel, bias, fc_as_conv=(n == 1))
    got_y, got_s = _call(fastvfx.temporal_focus_conv2d, x, args, stride, padding, pool)
    want_y, want_s = _call(temporal_focus_conv2d_reference, x, args, stride, padding, pool)
    assert got_s.shape == (n, cin)
    _close(got_s, want_s)
    _close(got_y, want_y)


@pytest.mark.parametrize("layout", ["channels_last", "transposed"])
@pytest.mark.parametrize("kernel", [1, 3])
@pytest.mark.parametrize("pool", POOLS)
def test_layouts(each_isa, layout, kernel, pool):
    x = torch.randn(3, 24, 8, 6)
    args = _gate_args(24, 10, 8, kernel, bias=True)
    got_y, got_s = _call(fastvfx.temporal_focus_conv2d, _layout(x, layout), args, 1, kernel // 2, pool)
    want_y, want_s = _call(temporal_focus_conv2d_reference, x, args, 1, kernel // 2, pool)
    _close(got_s, want_s)
    _close(got_y, want_y)
    assert got_y.is_contiguous(memory_format=torch.channels_last if layout == "channels_last" else torch.contiguous_format)


@pytest.mark.parametrize("c_out", [8, 40], ids=["weights-folded", "input-packed"])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed"])
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("n", [1, 3])
def test_pointwise_paths(each_isa, c_out, layout, bias, n):
    # 1x1 with C_out <= H*W folds the scale into per-sample weights; above,
    # it scales the input tiles as the GEMM packs them (at batch 1 also
    # splitting the output channels between threads), or, for an NCHW batch
    # (n = 3 here, 30 positions), lays every sample's scaled input side by
    # side for one wide GEMM.
    x = torch.randn(n, 16, 6, 5)
    args = _gate_args(16, c_out, 8, 1, bias)
    got_y, got_s = _call(fastvfx.temporal_focus_conv2d, _layout(x, layout), args, 1, 0, "avg")
    want_y, want_s = _call(temporal_focus_conv2d_reference, x, args, 1, 0, "avg")
    _close(got_s, want_s)
    _close(got_y, want_y)


# float32 1x1 folds the gate into per-sample weights where C_out <= H*W, else
# scales the samples (512 at 7x7, 70 at 13x1): both, in both layouts.
@pytest.mark.parametrize("shape", [(1, 64, 56, 56), (2, 512, 7, 7), (2, 3, 1, 1), (1, 70, 13, 1), (3, 40, 5, 6)])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_squeezetime_shapes_and_odd_sizes(each_isa, shape, layout):
    n, c, h, w = shape
    x = torch.randn(shape)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    args = _gate_args(c, c, c, 1, bias=False)
    for pool in POOLS:
        got = _call(fastvfx.temporal_focus_conv2d, x, args, 1, 0, pool)
        want = _call(temporal_focus_conv2d_reference, x, args, 1, 0, pool)
        for a, b in zip(got, want):
            _close(a, b)


# float32 3x3 stride-1 convs with 16+ input channels, 16+ output channels
# and 48+ output tiles of 4x4 run by Winograd F(4x4, 3x3), else with 32+
# output tiles of 2x2 by F(2x2, 3x3), the scale in its input transform; the
# others through oneDNN (aten::convolution).
@pytest.mark.parametrize("shape,cout,padding,winograd", [
    ((1, 64, 28, 28), 64, 1, True),      # SqueezeTime's first stage, smaller: F(4x4)
    ((4, 40, 17, 13), 24, 1, True),      # F(4x4) with partial tiles
    ((1, 48, 14, 14), 32, 1, True),      # F(2x2)
    ((3, 37, 9, 7), 40, 1, True),        # odd sizes: half tiles at the edges
    ((2, 32, 12, 10), 17, 0, True),      # no padding, a partial panel
    ((1, 32, 9, 7), 16, 1, False),       # 20 tiles
    ((4, 16, 9, 7), 64, 1, True),        # 16 input channels: F(2x2)
    ((4, 8, 9, 7), 64, 1, False),        # 8 input channels
    ((4, 40, 9, 7), 12, 1, False),       # 12 output channels
])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed"])
def test_winograd_3x3(each_isa, shape, cout, padding, winograd, layout):
    n, c, h, w = shape
    x = torch.randn(shape)
    args = _gate_args(c, cout, 8, 3, bias=True)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        got_y, got_s = _call(fastvfx.temporal_focus_conv2d, _layout(x, layout), args, 1, padding, "avg")
    convs = [e for e in prof.events() if e.name == "aten::convolution"]
    assert (not convs) == winograd
    want_y, want_s = _call(temporal_focus_conv2d_reference, x, args, 1, padding, "avg")
    _close(got_s, want_s)
    _close(got_y, want_y)
    assert got_y.is_contiguous(memory_format=torch.channels_last if layout == "channels_last" else torch.contiguous_format)


def test_max_pool_propagates_nan_like_torch():
    x = torch.randn(2, 8, 5, 5)
    x[1, 3, 2, 2] = float("nan")
    args = _gate_args(8, 8, 8, 1, bias=False)
    args["fc2_weight"] = torch.eye(8)[:, :, None, None]  # keep the NaN in its own channel
    args["fc1_weight"] = torch.eye(8)[:, :, None, None]
    _, got = _call(fastvfx.temporal_focus_conv2d, x, args, 1, 0, "max")
    _, want = _call(temporal_focus_conv2d_reference, x, args, 1, 0, "max")
    torch.testing.assert_close(got, want, equal_nan=True)
    assert got[1, 3].isnan() and not got[0].isnan().any()


def test_float64():
    x = torch.randn(2, 12, 6, 6, dtype=torch.float64)
    for kernel in (1, 3):
        args = _gate_args(12, 9, 5, kernel, bias=True, dtype=torch.float64)
        for got, want in zip(_call(fastvfx.temporal_focus_conv2d, x, args, 1, 1, "avg"),
                             _call(temporal_focus_conv2d_reference, x, args, 1, 1, "avg")):
            _close(got, want, torch.float64)


def test_empty_batch():
    args = _gate_args(8, 4, 4, 3, bias=True)
    y, s = _call(fastvfx.temporal_focus_conv2d, torch.randn(0, 8, 5, 5), args, 1, 1, "avg")
    assert y.shape == (0, 4, 5, 5) and s.shape == (0, 8)


@pytest.mark.parametrize("conv", [(1, 1, 0), (3, 2, 1)], ids=["k1", "k3s2"])
@pytest.mark.parametrize("scale_shape", ["matrix", "map"])
def test_channel_scaled_conv2d(conv, scale_shape):
    kernel, stride, padding = conv
    x = torch.randn(3, 10, 7, 7)
    scale = torch.rand(3, 10) if scale_shape == "matrix" else torch.rand(3, 10, 1, 1)
    weight, bias = torch.randn(6, 10, kernel, kernel), torch.randn(6)
    got = fastvfx.channel_scaled_conv2d(x, scale, weight, bias, stride, padding)
    _close(got, channel_scaled_conv2d_reference(x, scale, weight, bias, stride, padding))


# ---------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("conv", [(1, 1, 0), (3, 2, 1), (1, 2, 1)], ids=["k1", "k3s2p1", "k1s2p1"])
@pytest.mark.parametrize("pool", POOLS)
def test_gradcheck(conv, pool):
    kernel, stride, padding = conv
    x = torch.randn(3, 6, 5, 4, dtype=torch.float64, requires_grad=True)
    args = _gate_args(6, 5, 4, kernel, bias=True, dtype=torch.float64, requires_grad=True)
    names = list(args)

    def f(x, *tensors):
        return _call(fastvfx.temporal_focus_conv2d, x, dict(zip(names, tensors)), stride, padding, pool)

    assert torch.autograd.gradcheck(f, (x, *args.values()))


def test_gradgradcheck_pointwise():
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    args = _gate_args(4, 3, 2, 1, bias=True, dtype=torch.float64, requires_grad=True)
    names = list(args)

    def f(x, *tensors):
        return _call(fastvfx.temporal_focus_conv2d, x, dict(zip(names, tensors)), 1, 0, "avg")

    assert torch.autograd.gradgradcheck(f, (x, *args.values()))


@pytest.mark.parametrize("conv", [(1, 1, 0), (3, 1, 1)], ids=["k1", "k3"])
def test_gradcheck_channel_scaled_conv2d(conv):
    kernel, _, padding = conv
    x = torch.randn(2, 5, 4, 4, dtype=torch.float64, requires_grad=True)
    scale = torch.rand(2, 5, 1, 1, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 5, kernel, kernel, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: fastvfx.channel_scaled_conv2d(*a, 1, padding), (x, scale, w, b))


@pytest.mark.parametrize("conv", [(1, 1, 0), (3, 2, 1)], ids=["k1", "k3s2"])
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_gradients_match_reference_float32(conv, pool, layout):
    # Both outputs carry gradient: the IOI branch reuses the scale.
    kernel, stride, padding = conv
    x = _layout(torch.randn(4, 12, 8, 8), layout).requires_grad_()
    args = _gate_args(12, 7, 5, kernel, bias=True, requires_grad=True)
    inputs = [x] + [t for t in args.values()]
    got_y, got_s = _call(fastvfx.temporal_focus_conv2d, x, args, stride, padding, pool)
    want_y, want_s = _call(temporal_focus_conv2d_reference, x, args, stride, padding, pool)
    gy, gs = torch.randn_like(want_y), torch.randn_like(want_s)
    got = torch.autograd.grad((got_y * gy).sum() + (got_s * gs).sum(), inputs)
    want = torch.autograd.grad((want_y * gy).sum() + (want_s * gs).sum(), inputs)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * max(1.0, b.abs().max().item()))


# ---------------------------------------------------------------------------
# opcheck and torch.compile
# ---------------------------------------------------------------------------


def _opcheck_samples():
    op = torch.ops.fastvfx.temporal_focus_conv2d.default
    for layout in ("contiguous", "channels_last"):
        for rg in (False, True):
            x = _layout(torch.randn(2, 8, 5, 6), layout).requires_grad_(rg)
            a = _gate_args(8, 6, 4, 1, bias=True, requires_grad=rg)
            yield op, (x, a["weight"], a["fc1_weight"], a["fc1_bias"], a["fc2_weight"], a["fc2_bias"], a["bias"],
                       [1, 1], [0, 0], "avg")
            a = _gate_args(8, 6, 4, 3, bias=False, fc_as_conv=False, requires_grad=rg)
            yield op, (x, a["weight"], a["fc1_weight"], None, a["fc2_weight"], None, None, [2, 2], [1, 1], "max")
            scale = torch.rand(2, 8, requires_grad=rg)
            yield torch.ops.fastvfx.channel_scaled_conv2d.default, (x, scale, a["weight"], None, [1, 1], [1, 1])


@pytest.mark.parametrize("sample", list(_opcheck_samples()), ids=lambda s: str(s[0]))
def test_opcheck(sample):
    op, args = sample
    torch.library.opcheck(op, args)


def test_compile_fullgraph_matches_eager():
    args = _gate_args(16, 16, 8, 1, bias=False, requires_grad=True)
    conv3 = torch.randn(8, 16, 3, 3, requires_grad=True)

    def block(x):
        y, s = _call(fastvfx.temporal_focus_conv2d, x, args, 1, 0, "avg")
        z = fastvfx.channel_scaled_conv2d(torch.relu(y), s, conv3, None, 2, 1)
        return z.sum((2, 3)) + s[:, :8]

    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    compiled = torch.compile(block, fullgraph=True)
    got, want = compiled(x), block(x)
    torch.testing.assert_close(got, want)
    inputs = [x, *args.values(), conv3]
    inputs = [t for t in inputs if t is not None]
    for a, b in zip(torch.autograd.grad(got.sum(), inputs), torch.autograd.grad(want.sum(), inputs)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("training", [False, True])
def test_compile_module(training):
    module = fastvfx.nn.TemporalFocusConv2d(8, 8, 3, padding=1, pool="max").train(training)
    _randomise_bn(module)
    reference = copy.deepcopy(module)
    compiled = torch.compile(module, fullgraph=True)
    x = torch.randn(4, 8, 6, 6)
    for got, want in zip(compiled(x), reference(x)):
        torch.testing.assert_close(got, want)


# ---------------------------------------------------------------------------
# The module against the upstream chain of modules
# ---------------------------------------------------------------------------


def _randomise_bn(module):
    bn = module.param_conv[2]
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.normal_()
        bn.bias.normal_()


def _pair(kernel, stride, padding, bias, pool, cin=12, cout=16, hidden=None):
    ours = fastvfx.nn.TemporalFocusConv2d(cin, cout, kernel, stride, padding, bias, pool, hidden)
    _randomise_bn(ours)
    upstream = TemporalFocusConv2dReference(cin, cout, kernel, stride, padding, bias, pool, hidden)
    upstream.load_state_dict(ours.state_dict())  # same attribute names as the official module
    return ours, upstream


@pytest.mark.parametrize("conv", [(1, 1, 0), (3, 1, 1), (3, 2, 1)], ids=["k1", "k3", "k3s2"])
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("hidden", [None, 6])
def test_module_eval_matches_upstream(each_isa, conv, pool, hidden):
    ours, upstream = _pair(*conv, True, pool, hidden=hidden)
    ours.eval(), upstream.eval()
    x = torch.randn(4, 12, 9, 9)
    for grad in (True, False):  # the no-grad path uses the cached fold
        with torch.set_grad_enabled(grad):
            got, want = ours(x), upstream(x)
        assert got[1].shape == want[1].shape == (4, 12, 1, 1)
        for a, b in zip(got, want):
            _close(a.detach(), b.detach())


@pytest.mark.parametrize("conv", [(1, 1, 0), (3, 2, 1)], ids=["k1", "k3s2"])
@pytest.mark.parametrize("pool", POOLS)
def test_module_train_matches_upstream(conv, pool):
    ours, upstream = _pair(*conv, False, pool, hidden=8)
    ours.train(), upstream.train()
    for step in range(2):  # the second step sees the updated running statistics
        x = torch.randn(4, 12, 7, 7)
        got, want = ours(x), upstream(x)
        for a, b in zip(got, want):
            _close(a.detach(), b.detach())
        g = torch.randn_like(want[0])
        (got[0] * g).sum().backward()
        (want[0] * g).sum().backward()
    for (name, a), (_, b) in zip(ours.named_parameters(), upstream.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4, msg=name)
    for (name, a), (_, b) in zip(ours.named_buffers(), upstream.named_buffers()):
        torch.testing.assert_close(a, b, msg=name)


def test_module_eval_gradients_reach_gate_and_bn_parameters():
    ours, upstream = _pair(1, 1, 0, False, "avg")
    ours.eval(), upstream.eval()
    x = torch.randn(3, 12, 5, 5)
    g = torch.randn(3, 16, 5, 5)
    (ours(x)[0] * g).sum().backward()
    (upstream(x)[0] * g).sum().backward()
    for (name, a), (_, b) in zip(ours.named_parameters(), upstream.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_module_fold_cache_follows_parameter_updates():
    ours, upstream = _pair(1, 1, 0, False, "avg")
    ours.eval(), upstream.eval()
    x = torch.randn(2, 12, 5, 5)
    with torch.no_grad():
        ours(x)
        for m in (ours, upstream):
            m.param_conv[2].running_mean.add_(0.5)  # in place: same tensor, new version
            m.param_conv[1].weight.mul_(-1)
        _close(ours(x)[0], upstream(x)[0])
        ours.double(), upstream.double()
        _close(ours(x.double())[0], upstream(x.double())[0], torch.float64)


def test_module_without_running_stats_uses_batch_statistics_in_eval():
    ours = fastvfx.nn.TemporalFocusConv2d(8, 8)
    ours.param_conv[2] = torch.nn.BatchNorm2d(8, track_running_stats=False)
    upstream = TemporalFocusConv2dReference(8, 8)
    upstream.param_conv[2] = torch.nn.BatchNorm2d(8, track_running_stats=False)
    upstream.load_state_dict(ours.state_dict())
    ours.eval(), upstream.eval()
    x = torch.randn(4, 8, 5, 5)
    for a, b in zip(ours(x), upstream(x)):
        _close(a.detach(), b.detach())


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def _good():
    return torch.randn(2, 8, 5, 5), _gate_args(8, 6, 4, 1, bias=True)


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda x, a: (x[0], a), "expected x of shape"),
        (lambda x, a: (x.int(), a), "float32, float64, bfloat16 or float16"),
        (lambda x, a: (x, {**a, "fc1_weight": torch.randn(4, 7, 1, 1)}), "fc1_weight must have shape"),
        (lambda x, a: (x, {**a, "fc1_weight": torch.randn(4, 8, 3, 3)}), "fc1_weight must have shape"),
        (lambda x, a: (x, {**a, "fc2_weight": torch.randn(8, 5)}), "fc2_weight must have shape"),
        (lambda x, a: (x, {**a, "fc2_weight": torch.randn(4, 8)}), "fc2_weight must have shape"),
        (lambda x, a: (x, {**a, "fc1_bias": torch.randn(5)}), "fc1_bias must have shape"),
        (lambda x, a: (x, {**a, "fc2_bias": torch.randn(4)}), "fc2_bias must have shape"),
        (lambda x, a: (x, {**a, "bias": torch.randn(7)}), "bias must have shape"),
        (lambda x, a: (x, {**a, "weight": torch.randn(6, 4, 3, 3)}), "only groups = 1"),
        (lambda x, a: (x, {**a, "weight": torch.randn(6, 5, 1, 1)}), "input channels"),
        (lambda x, a: (x, {**a, "weight": torch.randn(6, 8)}), "expected weight of shape"),
        (lambda x, a: (x, {**a, "weight": torch.randn(6, 8, 7, 7)}), "larger than the padded input"),
        (lambda x, a: (x, {**a, "fc2_weight": a["fc2_weight"].double()}), "dtype"),
    ],
)
def test_bad_input_is_a_clear_error(change, error):
    x, args = change(*_good())
    with pytest.raises(RuntimeError, match=error):
        _call(fastvfx.temporal_focus_conv2d, x, args, 1, 0, "avg")


def test_bad_pool_stride_padding():
    x, args = _good()
    with pytest.raises(RuntimeError, match="pool must be 'avg' or 'max'"):
        _call(fastvfx.temporal_focus_conv2d, x, args, 1, 0, "median")
    with pytest.raises(RuntimeError, match="stride must be"):
        _call(fastvfx.temporal_focus_conv2d, x, args, 0, 0, "avg")
    with pytest.raises(RuntimeError, match="padding must be"):
        _call(fastvfx.temporal_focus_conv2d, x, args, 1, -1, "avg")
    with pytest.raises(RuntimeError, match="scale must have shape"):
        fastvfx.channel_scaled_conv2d(x, torch.rand(2, 7), args["weight"])
    with pytest.raises(RuntimeError, match="pools over H\\*W"):
        _call(fastvfx.temporal_focus_conv2d, torch.randn(2, 8, 0, 5), args, 1, 1, "avg")


def test_groups_requests_are_refused():
    x, args = _good()
    with pytest.raises(NotImplementedError, match="groups=2"):
        fastvfx.temporal_focus_conv2d(x, args["weight"], args["fc1_weight"], args["fc1_bias"], args["fc2_weight"],
                                      groups=2)
    with pytest.raises(NotImplementedError, match="groups=4"):
        fastvfx.channel_scaled_conv2d(x, torch.rand(2, 8), args["weight"], groups=4)
    with pytest.raises(NotImplementedError, match="groups=2"):
        fastvfx.nn.TemporalFocusConv2d(8, 8, groups=2)


def test_module_string_padding():
    same = fastvfx.nn.TemporalFocusConv2d(8, 8, 3, padding="same")
    assert same.temporal_conv.padding == (1, 1)
    assert fastvfx.nn.TemporalFocusConv2d(8, 8, 3, padding="valid").temporal_conv.padding == (0, 0)
    with pytest.raises(ValueError, match="odd kernels"):
        fastvfx.nn.TemporalFocusConv2d(8, 8, 2, padding="same")


def test_module_rejects_unknown_pool():
    with pytest.raises(ValueError, match="pool must be 'avg' or 'max'"):
        fastvfx.nn.TemporalFocusConv2d(8, 8, pool="median")


def test_reference_is_the_plain_chain():
    # Guards the reference itself: a gate that outputs zeros gives scale 0.5.
    x = torch.randn(2, 4, 3, 3)
    w = torch.randn(5, 4, 1, 1)
    zeros = torch.zeros(4, 4)
    y, s = temporal_focus_conv2d_reference(x, w, zeros, None, zeros)
    torch.testing.assert_close(s, torch.full((2, 4), 0.5))
    torch.testing.assert_close(y, F.conv2d(x, w) * 0.5)
