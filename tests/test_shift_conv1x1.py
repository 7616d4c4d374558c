"""shift_conv1x1 = conv2d(temporal_shift(x), W, b) with the shift applied on
read, against the shift-then-conv reference."""

import pytest
import torch
import torch.nn.functional as F

import fastvfx
from fastvfx.ops.temporal_shift import shift_conv1x1_reference


def _close(a, b, dtype):
    tol = {torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(a, b, rtol=tol, atol=tol * max(1.0, b.abs().max().item()))


@pytest.mark.parametrize(
    "shape", [(1, 8, 64, 7, 7), (2, 3, 13, 5, 3), (1, 4, 24, 1, 1), (1, 8, 48, 40, 37), (3, 1, 16, 4, 4)]
)
@pytest.mark.parametrize("c_out", [None, 7])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed"])
@pytest.mark.parametrize("mode", ["bidirectional", "past"])
def test_matches_shift_then_conv(each_isa, shape, c_out, bias, layout, mode):
    n, t, c, h, w = shape
    c_out = c_out or c
    x = torch.randn(n * t, c, h, w)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "transposed":
        x = x.transpose(2, 3).contiguous().transpose(2, 3)
    weight = torch.randn(c_out, c, 1, 1) / c**0.5
    b = torch.randn(c_out) if bias else None
    got = fastvfx.shift_conv1x1(x, weight, b, t, 8, mode)
    _close(got, shift_conv1x1_reference(x.contiguous(), weight, b, t, 8, mode), torch.float32)


@pytest.mark.parametrize("fold_div", [1, 4, 100])
def test_weight_as_matrix_and_float64(fold_div):
    x = torch.randn(16, 20, 6, 6, dtype=torch.float64)
    weight = torch.randn(12, 20, dtype=torch.float64)
    b = torch.randn(12, dtype=torch.float64)
    got = fastvfx.shift_conv1x1(x, weight, b, 8, fold_div)
    _close(got, shift_conv1x1_reference(x, weight, b, 8, fold_div), torch.float64)


@pytest.mark.parametrize(
    "weight, bias, error",
    [
        (torch.randn(8, 16, 3, 3), None, "weight must be"),
        (torch.randn(8, 15, 1, 1), None, "input channels"),
        (torch.randn(8, 16, 1, 1, dtype=torch.float64), None, "dtype"),
        (torch.randn(8, 16, 1, 1), torch.randn(7), "bias must have shape"),
    ],
)
def test_bad_weight_is_a_clear_error(weight, bias, error):
    with pytest.raises(RuntimeError, match=error):
        fastvfx.shift_conv1x1(torch.randn(8, 16, 4, 4), weight, bias, 8)


def test_gradients_match_shift_then_conv():
    x = torch.randn(16, 24, 5, 5, requires_grad=True)
    weight = torch.randn(10, 24, 1, 1, requires_grad=True)
    b = torch.randn(10, requires_grad=True)
    g = torch.randn(16, 10, 5, 5)
    got = torch.autograd.grad((fastvfx.shift_conv1x1(x, weight, b, 8) * g).sum(), (x, weight, b))
    want = torch.autograd.grad((shift_conv1x1_reference(x, weight, b, 8) * g).sum(), (x, weight, b))
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)


def test_reference_is_the_plain_conv_of_the_shifted_clip():
    # Guards the reference itself: for fold_div > C nothing moves.
    x = torch.randn(8, 4, 3, 3)
    w = torch.randn(5, 4, 1, 1)
    torch.testing.assert_close(shift_conv1x1_reference(x, w, None, 8, 8), F.conv2d(x, w))
