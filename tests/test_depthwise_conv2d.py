"""depthwise_conv2d against F.conv2d(groups=C) with explicit padding, in both
layouts and on every ISA, gradients, opcheck, compile, the module, bad input."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import fastvfx
from fastvfx.nn import DepthwiseConv2d
from fastvfx.ops.depthwise_conv2d import depthwise_conv2d_reference

ACTIVATIONS = [None, "relu", "relu6", "hardswish", "swish"]


def _close(got, want):
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * max(1.0, want.abs().max().item()))


# Channels below, at and past whole vectors (4, 8, 16 float lanes); planes
# from 1x1 to wide ones (NCHW input: the channel-lane engine up to 12 output
# columns, the plane engine past that).
CASES = [
    (c, size, k, stride, padding, ACTIVATIONS[i % 5])
    for i, (c, size, k, stride, padding) in enumerate(
        itertools.product((3, 16, 21), ((1, 1), (7, 7), (8, 13), (5, 23), (9, 60)), (3, 5), (1, 2), ("same", "int"))
    )
]


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("c, size, k, stride, padding, act", CASES)
def test_matches_conv2d(each_isa, layout, c, size, k, stride, padding, act):
    pad = k // 2 if padding == "int" else "same"
    x = torch.randn(2, c, *size)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(c, 1, k, k)
    b = torch.randn(c)
    got = fastvfx.depthwise_conv2d(x, w, b, stride, pad, act)
    want = depthwise_conv2d_reference(x, w, b, stride, pad, act)
    _close(got, want)
    # The output keeps the input's layout.
    assert got.is_contiguous(memory_format=torch.channels_last if layout == "channels_last" else torch.contiguous_format)


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize(
    "c, size, k, stride, padding",
    [(21, (6, 9), 3, 1, 3), (40, (7, 33), 3, 2, 2), (16, (3, 20), 5, 2, 4), (19, (9, 12), 7, 1, 3), (33, (9, 30), 7, 2, 3)],
)
def test_wide_padding_and_other_kernel_widths(each_isa, layout, c, size, k, stride, padding):
    # Padding past the kernel's half: border columns with no tap in the
    # input; 7-wide kernels take the engines' any-width paths.
    x = torch.randn(2, c, *size)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    w, b = torch.randn(c, 1, k, k), torch.randn(c)
    got = fastvfx.depthwise_conv2d(x, w, b, stride, padding, "relu")
    _close(got, depthwise_conv2d_reference(x, w, b, stride, padding, "relu"))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_symmetric_padding_is_nn_conv2d(layout):
    # The plain torch module a user would otherwise run, no helper in between.
    conv = nn.Conv2d(24, 24, 3, stride=2, padding=1, groups=24)
    x = torch.randn(3, 24, 14, 15).contiguous(memory_format=layout)
    got = fastvfx.depthwise_conv2d(x, conv.weight, conv.bias, 2, 1, "relu6")
    _close(got, F.relu6(conv(x)))


def test_tf_same_puts_the_extra_pixel_bottom_right():
    x = torch.zeros(1, 1, 4, 4)
    x[..., 0, 0] = 1
    w = torch.zeros(1, 1, 3, 3)
    w[..., 0, 0] = 1  # reads the window's top-left: no padding in front
    y = fastvfx.depthwise_conv2d(x, w, None, 2, "same")
    assert y.shape[-2:] == (2, 2) and y[0, 0, 0, 0] == 1


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("k, stride, padding", [(3, 1, "same"), (3, 2, "same"), (5, 2, 1), ((1, 3), 1, 0)])
def test_gradcheck(act, layout, k, stride, padding):
    kh, kw = (k, k) if isinstance(k, int) else k
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64).contiguous(memory_format=layout).requires_grad_(True)
    w = torch.randn(3, 1, kh, kw, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    if act in ("relu", "relu6", "hardswish"):
        with torch.no_grad():
            b += 0.37  # keep pre-activations off the kinks, where finite differences lie
    assert torch.autograd.gradcheck(
        lambda x, w, b: fastvfx.depthwise_conv2d(x, w, b, stride, padding, act), (x, w, b), atol=1e-6
    )


@pytest.mark.parametrize("act", [None, "relu6", "swish"])
def test_gradients_match_conv2d_autograd(each_isa, act):
    x = torch.randn(2, 16, 14, 14).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    w = torch.randn(16, 1, 3, 3, requires_grad=True)
    b = torch.randn(16, requires_grad=True)
    g = torch.randn(2, 16, 7, 7)
    got = torch.autograd.grad((fastvfx.depthwise_conv2d(x, w, b, 2, "same", act) * g).sum(), (x, w, b))
    want = torch.autograd.grad((depthwise_conv2d_reference(x, w, b, 2, "same", act) * g).sum(), (x, w, b))
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4)


def _opcheck_samples():
    x = torch.randn(2, 8, 9, 7)
    w = torch.randn(8, 1, 3, 3)
    b = torch.randn(8)
    op = torch.ops.fastvfx.depthwise_conv2d.default
    yield op, (x, w, b, [1, 1], [0, 0], True, "none")
    yield op, (x.contiguous(memory_format=torch.channels_last), w, None, [2, 2], [1, 1], False, "relu6")
    yield op, (x.requires_grad_(True), w.requires_grad_(True), b.requires_grad_(True), [2, 1], [0, 0], True, "swish")
    yield op, (torch.randn(2, 8, 60, 60), w, b, [1, 1], [1, 1], False, "hardswish")


@pytest.mark.parametrize("sample", list(_opcheck_samples()), ids=lambda s: str(s[1][3]) + s[1][6])
def test_opcheck(sample):
    op, args = sample
    torch.library.opcheck(op, args)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_compile_with_grad(layout):
    conv = DepthwiseConv2d(16, 3, stride=2, activation="relu6")
    x = torch.randn(2, 16, 14, 14).contiguous(memory_format=layout).requires_grad_(True)
    compiled = torch.compile(conv, fullgraph=True)
    got = compiled(x)
    _close(got, conv(x))
    _close(torch.autograd.grad(got.sum(), x)[0], torch.autograd.grad(conv(x).sum(), x)[0])


class TestModule:
    def test_forward_is_nn_conv2d(self):
        conv = DepthwiseConv2d(12, 3, stride=2, padding=1, activation="hardswish")
        ref = nn.Conv2d(12, 12, 3, stride=2, padding=1, groups=12)
        ref.load_state_dict(conv.state_dict())
        x = torch.randn(2, 12, 15, 15)
        _close(conv(x), F.hardswish(ref(x)))

    @pytest.mark.parametrize("bias", [False, True])
    def test_fuse_bn_equals_conv_bn_act(self, bias):
        conv = DepthwiseConv2d(6, 3, bias=bias, activation="relu6")
        ref = nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=bias)
        with torch.no_grad():
            ref.weight.copy_(conv.weight)
            if bias:
                ref.bias.copy_(conv.bias)
        bn = nn.BatchNorm2d(6)
        with torch.no_grad():
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-1, 1)
        bn.eval()
        x = torch.randn(2, 6, 7, 7)
        _close(conv.fuse_bn(bn)(x), F.relu6(bn(ref(x))))

    def test_constructor_validation(self):
        with pytest.raises(ValueError, match="activation"):
            DepthwiseConv2d(4, 3, activation="gelu")
        with pytest.raises(ValueError, match="padding"):
            DepthwiseConv2d(4, 3, padding="valid")
        with pytest.raises(ValueError, match="kernel_size"):
            DepthwiseConv2d(4, (3, 3, 3))


class TestBadInput:
    @pytest.mark.parametrize(
        "x, w, kwargs, exc, error",
        [
            (torch.randn(2, 4, 1, 6, 6), torch.randn(4, 1, 3, 3), {}, RuntimeError, "shape \\(N, C, H, W\\)"),
            (torch.randn(1, 4, 6, 6), torch.randn(4, 2, 3, 3), {}, RuntimeError, "depthwise"),
            (torch.randn(1, 4, 6, 6), torch.randn(5, 1, 3, 3), {}, RuntimeError, "depthwise"),
            (torch.ones(1, 4, 6, 6, dtype=torch.int32), torch.ones(4, 1, 3, 3, dtype=torch.int32), {}, RuntimeError,
             "float32, float64, bfloat16 and float16"),
            (torch.randn(1, 4, 6, 6).bfloat16(), torch.randn(4, 1, 3, 3), {}, RuntimeError, "dtype"),
            (torch.randn(1, 4, 6, 6), torch.randn(4, 1, 3, 3).double(), {}, RuntimeError, "dtype"),
            (torch.randn(1, 4, 6, 6), torch.randn(4, 1, 3, 3), {"stride": 0}, ValueError, "stride"),
            (torch.randn(1, 4, 6, 6), torch.randn(4, 1, 3, 3), {"padding": "valid"}, ValueError, "padding"),
            (torch.randn(1, 4, 6, 6), torch.randn(4, 1, 3, 3), {"activation": "tanh"}, ValueError, "activation"),
            (torch.randn(1, 4, 2, 2), torch.randn(4, 1, 5, 5), {"padding": 0}, RuntimeError, "larger than"),
            (torch.randn(1, 4, 6, 6), torch.randn(4, 1, 3, 3), {"bias": torch.randn(3)}, RuntimeError, "bias"),
        ],
    )
    def test_clear_errors(self, x, w, kwargs, exc, error):
        with pytest.raises(exc, match=error):
            fastvfx.depthwise_conv2d(x, w, **kwargs)

    @pytest.mark.parametrize("shape", [(0, 4, 6, 6), (2, 0, 6, 6)])
    def test_empty_input_gives_empty_output(self, shape):
        y = fastvfx.depthwise_conv2d(torch.randn(shape), torch.randn(shape[1], 1, 3, 3))
        assert y.shape == (shape[0], shape[1], 6, 6)

    def test_non_contiguous_input(self):
        x = torch.randn(2, 4, 9, 8)
        w = torch.randn(4, 1, 3, 3)
        want = depthwise_conv2d_reference(x, w, None, 2, "same", "relu")
        _close(fastvfx.depthwise_conv2d(x.transpose(2, 3).contiguous().transpose(2, 3), w, None, 2, "same", "relu"), want)
        sliced = torch.randn(2, 8, 9, 8)[:, ::2]
        _close(fastvfx.depthwise_conv2d(sliced, w, None, 1, 1), depthwise_conv2d_reference(sliced.contiguous(), w, None, 1, 1))
