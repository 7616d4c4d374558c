"""inverted_residual / inverted_residual_step (the fused MobileNetV2 block,
TSM's shift on read) against the block as torchvision and TSM write it
(F.conv2d calls, TSM's shift), under every ISA; opcheck, torch.compile, bad
input (nothing written), grad mode refused."""

import pytest
import torch

import fastvfx
from fastvfx.ops.inverted_residual import (
    inverted_residual_reference,
    inverted_residual_step_reference,
    pack_weights,
)

# (C_in, expansion, C_out, stride, kernel): MobileNetV2's block kinds (t = 1
# without expansion, strided, residual), a 5x5 kernel and channel counts off
# the vector and panel widths.
BLOCKS = {
    "t1": (16, 1, 8, 1, 3),
    "stride2": (8, 6, 12, 2, 3),
    "residual": (12, 6, 12, 1, 3),
    "odd-widths": (5, 7, 5, 1, 3),
    "k5-stride2": (10, 4, 33, 2, 5),
}
ACTIVATIONS = [("relu6", None), ("relu", "hardswish"), ("swish", None), ("hardswish", "none")]


def _weights(c_in, t, c_out, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    hidden = c_in * t

    def rand(*shape, scale=0.3):
        return torch.randn(*shape, generator=g) * scale

    return dict(
        expand_weight=rand(hidden, c_in, 1, 1) if t != 1 else None,
        expand_bias=rand(hidden) if t != 1 else None,
        dw_weight=rand(hidden, 1, k, k), dw_bias=rand(hidden),
        project_weight=rand(c_out, hidden, 1, 1), project_bias=rand(c_out),
    )


def _residual(name):
    c_in, _, c_out, stride, _ = BLOCKS[name]
    return stride == 1 and c_in == c_out


@pytest.mark.parametrize("name", list(BLOCKS))
@pytest.mark.parametrize("activation,dw_activation", ACTIVATIONS)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_matches_reference(each_isa, name, activation, dw_activation, layout):
    c_in, t, c_out, stride, k = BLOCKS[name]
    w = _weights(c_in, t, c_out, k)
    x = torch.randn(3, c_in, 11, 9)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    residual = _residual(name)
    with torch.no_grad():
        got = fastvfx.inverted_residual(x, pack_weights(**w), stride, residual, activation, dw_activation)
    expected = inverted_residual_reference(x, **w, stride=stride, residual=residual, activation=activation,
                                           dw_activation=dw_activation)
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(1, 1), (1, 13), (17, 2), (56, 56)])
@pytest.mark.parametrize("batch,threads", [(1, 1), (1, 2), (2, 2)])
def test_plane_sizes_and_threads(size, batch, threads):
    # Bands of rows split between threads recompute the rows they share.
    w = _weights(24, 6, 24, 3, seed=1)
    x = torch.randn(batch, 24, *size).contiguous(memory_format=torch.channels_last)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            got = fastvfx.inverted_residual(x, pack_weights(**w), 1, True)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(got, inverted_residual_reference(x, **w, residual=True), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shift,n_segment,fold_div", [("bidirectional", 4, 8), ("bidirectional", 3, 4),
                                                      ("past", 3, 8), ("bidirectional", 1, 8)])
@pytest.mark.parametrize("name", ["residual", "t1"])
def test_shift_on_read(each_isa, shift, n_segment, fold_div, name):
    c_in, t, c_out, stride, k = BLOCKS[name]
    c_in = 16  # fold = 2 or 4 channels per direction
    w = _weights(c_in, t, c_in if name == "residual" else c_out, k, seed=2)
    x = torch.randn(2 * n_segment, c_in, 7, 6).contiguous(memory_format=torch.channels_last)
    residual = name == "residual"
    with torch.no_grad():
        got = fastvfx.inverted_residual(x, pack_weights(**w), stride, residual, shift=shift, n_segment=n_segment,
                                        fold_div=fold_div)
    expected = inverted_residual_reference(x, **w, stride=stride, residual=residual, shift=shift,
                                           n_segment=n_segment, fold_div=fold_div)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cache_layout", ["channels_last", "nchw"])
def test_step_is_online_tsm(each_isa, cache_layout):
    c_in, fold = 24, 3
    w = _weights(c_in, 6, c_in, 3, seed=3)
    packed = pack_weights(**w)
    cache = torch.zeros(2, fold, 8, 7)
    if cache_layout == "channels_last":
        cache = cache.contiguous(memory_format=torch.channels_last)
    expected_cache = cache.clone()
    with torch.no_grad():
        for frame in torch.randn(5, 2, c_in, 8, 7):
            frame = frame.contiguous(memory_format=torch.channels_last)
            expected, expected_cache = inverted_residual_step_reference(frame, expected_cache, **w, residual=True)
            got = fastvfx.inverted_residual_step(frame, cache, packed, 1, True)
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
            assert torch.equal(cache, expected_cache)


def _op_args(name, x, shift="none", n_segment=1, fold=0):
    c_in, t, c_out, stride, k = BLOCKS[name]
    p = pack_weights(**_weights(c_in, t, c_out, k))
    return (x, p.expand_weight, p.expand_bias, p.dw_weight, p.dw_bias, p.project_weight, p.project_bias, p.hidden,
            p.out_channels, k, stride, _residual(name), "relu6", "relu6", shift, n_segment, fold)


@pytest.mark.parametrize("name", ["t1", "stride2", "residual"])
def test_opcheck(name):
    x = torch.randn(4, BLOCKS[name][0], 6, 5).contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.fastvfx.inverted_residual.default, _op_args(name, x))
    shifted = _op_args(name, x, "bidirectional", 2, 1)
    torch.library.opcheck(torch.ops.fastvfx.inverted_residual.default, shifted)
    step = _op_args(name, x)
    cache = torch.randn(4, 2, 6, 5).contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.fastvfx.inverted_residual_step.default, (x, cache) + step[1:-3])


def test_compile_fullgraph():
    w = _weights(12, 6, 12, 3)
    packed = pack_weights(**w)
    x = torch.randn(4, 12, 8, 8).contiguous(memory_format=torch.channels_last)

    def block(x):
        return fastvfx.inverted_residual(x, packed, 1, True, shift="bidirectional", n_segment=2, fold_div=4)

    with torch.no_grad():
        compiled = torch.compile(block, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(x), block(x), rtol=0, atol=0)


def test_empty_batch():
    w = pack_weights(**_weights(12, 6, 12, 3))
    with torch.no_grad():
        y = fastvfx.inverted_residual(torch.randn(0, 12, 5, 5), w, 1, True)
    assert y.shape == (0, 12, 5, 5)


def _bad_inputs():
    """(description, arguments edited from the good call, message fragment)."""
    packed = pack_weights(**_weights(12, 6, 12, 3))
    x = torch.randn(2, 12, 6, 6)
    good = dict(x=x, weights=packed, stride=1, residual=True)
    return [
        ("rank", dict(good, x=x[0]), "expected x of shape"),
        ("float64", dict(good, x=x.double()), "float32 only"),
        ("channels", dict(good, x=torch.randn(2, 8, 6, 6)), "packed shape"),
        ("residual stride", dict(good, stride=2), "a residual needs stride 1"),
        ("stride", dict(good, stride=0), "stride must be"),
        ("project shape", dict(good, weights=packed._replace(project_weight=packed.project_weight[:, :-1])),
         "project_weight must have the packed shape"),
        ("kernel", dict(good, weights=packed._replace(kernel_size=4)), "kernel_size must be odd"),
        ("activation", dict(good, activation="gelu"), "activation must be"),
        ("segments", dict(good, x=torch.randn(3, 12, 6, 6), shift="bidirectional", n_segment=2),
         "not a multiple of n_segment"),
        ("fold", dict(good, shift="bidirectional", n_segment=2, fold_div=1), "shifts more channels"),
        ("shift", dict(good, shift="future"), "shift must be"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda c: c[0])
def test_bad_input_raises(case):
    _, kwargs, message = case
    with torch.no_grad(), pytest.raises((RuntimeError, ValueError), match=message):
        fastvfx.inverted_residual(**kwargs)


@pytest.mark.parametrize("cache", [torch.zeros(2, 2, 6, 5), torch.zeros(2, 2, 6, 6, dtype=torch.float64),
                                   torch.zeros(1, 2, 6, 6)], ids=["size", "dtype", "batch"])
def test_step_bad_cache_raises_and_is_left(cache):
    packed = pack_weights(**_weights(12, 6, 12, 3))
    before = cache.clone()
    with torch.no_grad(), pytest.raises(RuntimeError, match="cache must be"):
        fastvfx.inverted_residual_step(torch.randn(2, 12, 6, 6), cache, packed, 1, True)
    assert torch.equal(cache, before)


def test_refuses_grad_mode():
    packed = pack_weights(**_weights(12, 6, 12, 3))
    x = torch.randn(1, 12, 5, 5, requires_grad=True)
    with pytest.raises(RuntimeError, match="inference-only"):
        fastvfx.inverted_residual(x, packed, 1, True)
    cache = torch.zeros(1, 1, 5, 5)
    with pytest.raises(RuntimeError, match="inference-only"):
        fastvfx.inverted_residual_step(x, cache, packed, 1, True)
    assert not cache.any()
