"""pointwise_conv2d (the inference 1x1 conv on the core's pointwise kernels)
against F.conv2d with the residual and activation, under every ISA; opcheck,
torch.compile, bad input, grad mode refused."""

import pytest
import torch

import fastvfx
from fastvfx.ops.pointwise_conv2d import pack_weight, pointwise_conv2d_reference


@pytest.mark.parametrize("c_in,c_out,size", [(64, 256, (9, 7)), (5, 3, (1, 1)), (33, 70, (4, 13)),
                                             (256, 64, (6, 6))])
@pytest.mark.parametrize("activation", [None, "relu", "relu6", "hardswish", "swish"])
@pytest.mark.parametrize("residual", [None, "first", "after"])
def test_matches_reference(each_isa, c_in, c_out, size, activation, residual):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, c_in, *size, generator=g).contiguous(memory_format=torch.channels_last)
    w = torch.randn(c_out, c_in, 1, 1, generator=g) * c_in ** -0.5
    b = torch.randn(c_out, generator=g)
    r = torch.randn(2, c_out, *size, generator=g) if residual else None
    first = residual != "after"
    with torch.no_grad():
        got = fastvfx.pointwise_conv2d(x, pack_weight(w), b, r, activation, first)
        unpacked = fastvfx.pointwise_conv2d(x, w, b, r, activation, first)
    expected = pointwise_conv2d_reference(x, w, b, r, activation, first)
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(unpacked, got)


def test_nchw_input_and_no_bias():
    x = torch.randn(3, 16, 5, 6)
    w = torch.randn(24, 16)
    with torch.no_grad():
        got = fastvfx.pointwise_conv2d(x, w)
    torch.testing.assert_close(got, pointwise_conv2d_reference(x, w), rtol=1e-5, atol=1e-5)


def test_opcheck_and_compile():
    x = torch.randn(2, 12, 5, 4).contiguous(memory_format=torch.channels_last)
    packed = pack_weight(torch.randn(40, 12))
    b, r = torch.randn(40), torch.randn(2, 40, 5, 4).contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.fastvfx.pointwise_conv2d.default, (x, packed.packed, b, r, 40, "relu", True))

    def f(x):
        return fastvfx.pointwise_conv2d(x, packed, b, r, "relu")

    with torch.no_grad():
        torch.testing.assert_close(torch.compile(f, fullgraph=True, backend="aot_eager")(x), f(x), rtol=0, atol=0)


def _bad_inputs():
    x = torch.randn(2, 12, 5, 4)
    packed = pack_weight(torch.randn(40, 12))
    good = dict(x=x, weight=packed)
    return [
        ("rank", dict(good, x=x[0]), "expected x of shape"),
        ("float64", dict(good, x=x.double()), "float32 only"),
        ("channels", dict(good, x=torch.randn(2, 8, 5, 4)), "packed shape"),
        ("bias", dict(good, bias=torch.randn(39)), "bias must be"),
        ("residual", dict(good, residual=torch.randn(2, 40, 5, 5)), "residual must be"),
        ("activation", dict(good, activation="gelu"), "activation must be"),
        ("packed dtype", dict(good, weight=packed._replace(packed=packed.packed.double())), "packed_weight must be"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda c: c[0])
def test_bad_input_raises(case):
    _, kwargs, message = case
    with torch.no_grad(), pytest.raises(RuntimeError, match=message):
        fastvfx.pointwise_conv2d(**kwargs)


def test_empty_and_grad_refused():
    packed = pack_weight(torch.randn(8, 4))
    with torch.no_grad():
        assert fastvfx.pointwise_conv2d(torch.randn(0, 4, 3, 3), packed).shape == (0, 8, 3, 3)
    with pytest.raises(RuntimeError, match="inference-only"):
        fastvfx.pointwise_conv2d(torch.randn(1, 4, 3, 3, requires_grad=True), packed)
