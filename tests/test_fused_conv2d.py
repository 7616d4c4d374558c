"""fused_conv2d (the inference conv with bias, activation and residual fused,
on the core's pointwise kernels) against F.conv2d and torch's activations,
under every ISA: 1x1 and k x k kernels, strides, padding, NCHW and
channels_last input, each residual op, 3x3 by Winograd F(2x2, 3x3); opcheck,
torch.compile, bad input, grad mode refused."""

import pytest
import torch

import fastvfx
from fastvfx.ops.fused_conv2d import fused_conv2d_reference, pack_weight

# (C_in, C_out, kernel, stride, padding, input size)
CONVS = {
    "1x1": (64, 40, 1, 1, 0, (9, 7)),
    "1x1-tiny": (5, 3, 1, 1, 0, (1, 1)),
    "1x1-7x7": (40, 70, 1, 1, 0, (7, 7)),  # 49 pixels: tiles of 7 rows (AVX-512)
    "3x3": (16, 33, 3, 1, 1, (6, 11)),
    "3x3-s2": (8, 24, 3, 2, 1, (13, 10)),
    "3x3-s2-rgb": (3, 32, 3, 2, 1, (15, 17)),  # MobileNetV2's stem on a frame
    "5x5-s2-stem": (12, 16, 5, 2, 2, (21, 21)),
    "7x7": (16, 16, 7, 1, 3, (8, 8)),
    "2x2-s2": (6, 10, 2, 2, 0, (8, 9)),
    # NCHW input of at most 4 channels, stride 1 or 2: the core's direct path
    # (tiles of pixels along one output row; partial tiles, partial and
    # one-vector column panels); channels_last input and stride 3: the GEMM.
    "3x3-rgb-wide": (3, 40, 3, 1, 1, (5, 37)),
    "5x5-s2-gray": (1, 16, 5, 2, 2, (9, 33)),
    "7x7-s2-4ch": (4, 70, 7, 2, 3, (11, 30)),
    "3x3-s3-rgb": (3, 8, 3, 3, 1, (10, 10)),
}


@pytest.mark.parametrize("name", list(CONVS))
@pytest.mark.parametrize("activation", [None, "relu", "relu6", "hardswish", "swish", "sigmoid"])
@pytest.mark.parametrize("residual_op", [None, "add", "add_after", "mul"])
def test_matches_reference(each_isa, name, activation, residual_op):
    c_in, c_out, k, stride, padding, size = CONVS[name]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, c_in, *size, generator=g)
    w = torch.randn(c_out, c_in, k, k, generator=g) * (c_in * k * k) ** -0.5
    b = torch.randn(c_out, generator=g)
    expected = fused_conv2d_reference(x, w, b, stride, padding)
    r = torch.randn(expected.shape, generator=g) if residual_op else None
    expected = fused_conv2d_reference(x, w, b, stride, padding, r, activation, residual_op or "add")
    packed = pack_weight(w)
    for layout in (torch.contiguous_format, torch.channels_last):
        with torch.no_grad():
            got = fastvfx.fused_conv2d(x.contiguous(memory_format=layout), packed, b, stride, padding, r, activation,
                                       residual_op or "add")
        assert got.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


# Winograd F(2x2, 3x3) and F(4x4, 3x3) (pack_weight(..., winograd=2 or 4)): (C_in, C_out,
# padding, input size). Odd output sizes leave half tiles on the right and
# bottom edges; channels short of a vector and past a panel; padding 0 and 2;
# a deep case with enough tiles for several blocks per thread.
WINOGRAD_CONVS = {
    "odd": (16, 33, 1, (7, 9)),
    "pad0": (20, 8, 0, (6, 5)),
    "pad2": (5, 40, 2, (4, 4)),
    "one-pixel": (3, 7, 1, (1, 1)),
    "deep": (64, 48, 1, (14, 14)),
    "blocks": (96, 80, 1, (30, 30)),  # several tile blocks per thread
}


def _close_to_scale(got, expected):
    """Within 1e-5 of the output's scale (as the TFC's tests): Winograd adds
    and scales inputs before the products, so an output near zero keeps the
    rounding of its larger neighbours (F(4x4, 3x3) more than F(2x2, 3x3):
    about 3e-6 of the scale at a hundred input channels, 1e-6)."""
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * max(1.0, expected.abs().max().item()))


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("name", list(WINOGRAD_CONVS))
@pytest.mark.parametrize("activation", [None, "relu", "hardswish", "sigmoid"])
@pytest.mark.parametrize("residual_op", [None, "add", "add_after", "mul"])
def test_winograd_matches_reference(each_isa, tile, name, activation, residual_op):
    c_in, c_out, padding, size = WINOGRAD_CONVS[name]
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, c_in, *size, generator=g)
    w = torch.randn(c_out, c_in, 3, 3, generator=g) * (c_in * 9) ** -0.5
    b = torch.randn(c_out, generator=g)
    shape = fused_conv2d_reference(x, w, b, 1, padding).shape
    r = torch.randn(shape, generator=g) if residual_op else None
    expected = fused_conv2d_reference(x, w, b, 1, padding, r, activation, residual_op or "add")
    packed = pack_weight(w, winograd=tile)
    assert packed.packed.shape == (-(-c_out // 32), (tile + 2) ** 2, c_in, 32)
    for layout in (torch.contiguous_format, torch.channels_last):
        with torch.no_grad():
            got = fastvfx.fused_conv2d(x.contiguous(memory_format=layout), packed, b, 1, padding, r, activation,
                                       residual_op or "add")
        assert got.is_contiguous(memory_format=torch.channels_last)
        _close_to_scale(got, expected)
    if residual_op:  # written over the residual
        written = r.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            got = fastvfx.fused_conv2d_residual_(x, packed, written, b, 1, padding, activation, residual_op)
        assert got is written
        _close_to_scale(got, expected)


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_winograd_threads(threads, tile):
    """Tiles and output channels split between threads (few tiles: by
    channels), the same result as the reference at every count."""
    g = torch.Generator().manual_seed(3)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for c_in, c_out, size in ((32, 96, (28, 28)), (64, 64, (5, 7)), (96, 16, (3, 3))):
            x = torch.randn(1, c_in, *size, generator=g).contiguous(memory_format=torch.channels_last)
            w = torch.randn(c_out, c_in, 3, 3, generator=g) * (c_in * 9) ** -0.5
            b = torch.randn(c_out, generator=g)
            with torch.no_grad():
                got = fastvfx.fused_conv2d(x, pack_weight(w, winograd=tile), b, 1, 1, activation="relu")
            _close_to_scale(got, fused_conv2d_reference(x, w, b, 1, 1, activation="relu"))
    finally:
        torch.set_num_threads(before)


def test_winograd_opcheck_and_bad_input():
    x = torch.randn(2, 12, 5, 4).contiguous(memory_format=torch.channels_last)
    packed = pack_weight(torch.randn(40, 12, 3, 3), winograd=True)
    b, r = torch.randn(40), torch.randn(2, 40, 5, 4).contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.fastvfx.fused_conv2d.default,
                          (x, packed.packed, b, r, 40, [3, 3], 1, [1, 1], "relu", "mul"))
    with torch.no_grad(), pytest.raises(RuntimeError, match="packed for Winograd F.2x2, 3x3. takes a 3x3 kernel and stride 1"):
        fastvfx.fused_conv2d(x, packed, b, stride=2, padding=1)
    with torch.no_grad(), pytest.raises(RuntimeError, match="packed shape"):  # another C_in
        fastvfx.fused_conv2d(torch.randn(2, 11, 5, 4), packed, b, padding=1)
    with torch.no_grad(), pytest.raises(RuntimeError, match="takes a 3x3 kernel"):
        torch.ops.fastvfx.fused_conv2d.default(x, packed.packed, b, None, 40, [5, 5], 1, [2, 2], "none", "add")
    # a direct packing whose rows a Winograd one of fewer channels would have
    # (16 x 9 = 9 x 16) is still refused for those channels, not misread
    direct = pack_weight(torch.randn(40, 16, 3, 3))
    with torch.no_grad(), pytest.raises(RuntimeError, match="packed shape"):
        fastvfx.fused_conv2d(torch.randn(2, 9, 5, 4), direct, b, padding=1)
    with pytest.raises(ValueError, match="packs a 3x3 kernel"):
        pack_weight(torch.randn(8, 4, 5, 5), winograd=True)
    with pytest.raises(ValueError, match="winograd must be False, True, 2 or 4"):
        pack_weight(torch.randn(8, 4, 3, 3), winograd=3)
    # F(4x4, 3x3): opcheck, its own message, and its 36 planes not taken for 16
    packed4 = pack_weight(torch.randn(40, 12, 3, 3), winograd=4)
    assert packed4.packed.shape == (2, 36, 12, 32)
    torch.library.opcheck(torch.ops.fastvfx.fused_conv2d.default,
                          (x, packed4.packed, b, r, 40, [3, 3], 1, [1, 1], "relu", "add_after"))
    with torch.no_grad(), pytest.raises(RuntimeError, match="packed for Winograd F.4x4, 3x3. takes a 3x3 kernel and stride 1"):
        fastvfx.fused_conv2d(x, packed4, b, stride=2, padding=1)
    with torch.no_grad(), pytest.raises(RuntimeError, match="packed shape"):  # another plane count
        torch.ops.fastvfx.fused_conv2d.default(x, packed4.packed[:, :25].contiguous(), b, None, 40, [3, 3], 1, [1, 1],
                                               "none", "add")


def test_unpacked_weight_and_no_bias():
    x = torch.randn(3, 16, 5, 6)
    w = torch.randn(24, 16, 3, 3)
    with torch.no_grad():
        got = fastvfx.fused_conv2d(x, w, padding=1)
    torch.testing.assert_close(got, fused_conv2d_reference(x, w, padding=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_threads(threads):
    x = torch.randn(1, 48, 30, 30)
    w = torch.randn(64, 48, 5, 5) * 0.03
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            got = fastvfx.fused_conv2d(x, w, None, 2, 2, activation="relu")
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(got, fused_conv2d_reference(x, w, None, 2, 2, activation="relu"), rtol=1e-5,
                               atol=1e-5)


def test_opcheck_and_compile():
    x = torch.randn(2, 12, 5, 4).contiguous(memory_format=torch.channels_last)
    packed = pack_weight(torch.randn(40, 12, 3, 3))
    b, r = torch.randn(40), torch.randn(2, 40, 5, 4).contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.fastvfx.fused_conv2d.default,
                          (x, packed.packed, b, r, 40, [3, 3], 1, [1, 1], "relu", "add"))

    def f(x):
        return fastvfx.fused_conv2d(x, packed, b, 1, 1, r, "relu")

    with torch.no_grad():
        torch.testing.assert_close(torch.compile(f, fullgraph=True, backend="aot_eager")(x), f(x), rtol=0, atol=0)


def _bad_inputs():
    x = torch.randn(2, 12, 5, 4)
    packed = pack_weight(torch.randn(40, 12, 3, 3))
    good = dict(x=x, weight=packed, padding=1)
    return [
        ("rank", dict(good, x=x[0]), "expected x of shape"),
        ("float64", dict(good, x=x.double()), "float32 only"),
        ("channels", dict(good, x=torch.randn(2, 8, 5, 4)), "packed shape"),
        ("bias", dict(good, bias=torch.randn(39)), "bias must be"),
        ("residual", dict(good, residual=torch.randn(2, 40, 5, 5)), "residual must be"),
        ("activation", dict(good, activation="gelu"), "activation must be"),
        ("residual op", dict(good, residual=torch.randn(2, 40, 5, 4), residual_op="sub"), "residual_op must be"),
        ("stride", dict(good, stride=0), "stride must be positive"),
        ("padding", dict(good, padding=-1), "padding must be"),
        ("too large", dict(good, x=torch.randn(2, 12, 1, 1), padding=0), "larger than the padded input"),
        ("kernel rows", dict(good, weight=pack_weight(torch.randn(4, 12, 9, 1))), "kernel_size must be"),
        ("packed dtype", dict(good, weight=packed._replace(packed=packed.packed.double())), "packed_weight must be"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda c: c[0])
def test_bad_input_raises(case):
    _, kwargs, message = case
    with torch.no_grad(), pytest.raises(RuntimeError, match=message):
        fastvfx.fused_conv2d(**kwargs)


def test_empty_and_grad_refused():
    packed = pack_weight(torch.randn(8, 4, 3, 3))
    with torch.no_grad():
        assert fastvfx.fused_conv2d(torch.randn(0, 4, 3, 3), packed, padding=1).shape == (0, 8, 3, 3)
    with pytest.raises(RuntimeError, match="inference-only"):
        fastvfx.fused_conv2d(torch.randn(1, 4, 3, 3, requires_grad=True), packed, padding=1)


@pytest.mark.parametrize("name", list(CONVS))
@pytest.mark.parametrize("residual_op", ["add", "add_after", "mul"])
def test_residual_inplace_matches_reference(each_isa, name, residual_op):
    """fused_conv2d_residual_ writes the result over its residual: the same
    values as the reference, in the residual's own memory, every ISA."""
    c_in, c_out, k, stride, padding, size = CONVS[name]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, c_in, *size, generator=g)
    w = torch.randn(c_out, c_in, k, k, generator=g) * (c_in * k * k) ** -0.5
    b = torch.randn(c_out, generator=g)
    shape = fused_conv2d_reference(x, w, b, stride, padding).shape
    r = torch.randn(shape, generator=g).contiguous(memory_format=torch.channels_last)
    expected = fused_conv2d_reference(x, w, b, stride, padding, r, "relu6", residual_op)
    for layout in (torch.contiguous_format, torch.channels_last):
        written = r.clone()
        address = written.data_ptr()
        with torch.no_grad():
            got = fastvfx.fused_conv2d_residual_(x.contiguous(memory_format=layout), pack_weight(w), written, b,
                                                 stride, padding, "relu6", residual_op)
        assert got is written and got.data_ptr() == address
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_residual_inplace_bad_input_and_compile():
    w, b = torch.randn(16, 16), torch.randn(16)
    packed = pack_weight(w)
    shape, strides = (2, 16, 5, 4), (320, 1, 64, 16)  # channels_last
    buffer = torch.randn(960)
    x = buffer[:640].as_strided(shape, strides)
    with torch.no_grad():
        # the residual is x, or overlaps it: tiles would read rows already written
        for residual in (x, buffer[320:].as_strided(shape, strides)):
            with pytest.raises(RuntimeError, match="must not share memory with x"):
                fastvfx.fused_conv2d_residual_(x, packed, residual, b)
        with pytest.raises(RuntimeError, match="must be channels_last contiguous"):
            fastvfx.fused_conv2d_residual_(x, packed, torch.randn(shape), b)
        with pytest.raises(RuntimeError, match="residual must be"):
            fastvfx.fused_conv2d_residual_(x, packed, torch.randn(2, 16, 5, 5).contiguous(
                memory_format=torch.channels_last), b)
        empty = torch.randn(0, 16, 5, 4)
        assert fastvfx.fused_conv2d_residual_(empty, packed, empty.clone(), b).shape == (0, 16, 5, 4)
    with pytest.raises(RuntimeError, match="inference-only"):
        fastvfx.fused_conv2d_residual_(x.clone().requires_grad_(), packed, torch.randn(shape))
    r = torch.randn(shape).contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.fastvfx.fused_conv2d_residual_.default,
                          (x, packed.packed, b, r.clone(), 16, [1, 1], 1, [0, 0], "relu", "add"))

    def f(x):  # the residual an intermediate of the compiled graph
        return fastvfx.fused_conv2d_residual_(x, packed, r * 2.0, b, activation="relu")

    with torch.no_grad():
        expected = fused_conv2d_reference(x, w, b, residual=r * 2.0, activation="relu")
        torch.testing.assert_close(f(x), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(torch.compile(f, fullgraph=True, backend="aot_eager")(x), expected, rtol=1e-5,
                                   atol=1e-5)


# The models' input conversion (fastvfx.nn._onednn.to_channels_last): float32
# NCHW through the core's transposes, bit-exact with torch's copy, every ISA
# and thread count; other inputs (grad, dtype, views, already channels_last)
# as torch's own contiguous().
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_to_channels_last(each_isa, threads):
    from fastvfx.nn._onednn import to_channels_last

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            # 2-7 channels: the transposes' few-rows path (a frame's colours).
            for shape in [(1, 48, 224, 224), (2, 3, 7, 9), (3, 17, 33, 1), (1, 64, 1, 1), (8, 3, 16, 16), (2, 5, 6, 11),
                          (1, 2, 3, 20), (1, 7, 4, 9)]:
                x = torch.randn(shape)
                y = to_channels_last(x)
                assert torch.equal(y, x) and y.is_contiguous(memory_format=torch.channels_last)
                assert y.data_ptr() != x.data_ptr() or x.is_contiguous(memory_format=torch.channels_last)
    finally:
        torch.set_num_threads(previous)
    w = torch.randn(2, 8, 5, 5, requires_grad=True)
    y = to_channels_last(w * 2)
    assert y.requires_grad and y.is_contiguous(memory_format=torch.channels_last)
    y.sum().backward()
    assert torch.equal(w.grad, torch.full_like(w, 2.0))
    with torch.no_grad():
        for x in [torch.randn(2, 8, 5, 5, dtype=torch.float64), torch.randn(2, 8, 5, 7)[..., 1:6],
                  torch.randn(2, 8, 5, 5).contiguous(memory_format=torch.channels_last)]:
            y = to_channels_last(x)
            assert torch.equal(y, x) and y.dtype == x.dtype and y.is_contiguous(memory_format=torch.channels_last)
        with pytest.raises(RuntimeError, match="rank 4"):
            to_channels_last(torch.randn(3, 4, 5))


# The models' classifier pool (fastvfx.nn._onednn.mean_hw): float32
# channels_last inference input through the core's row sum, against torch's
# mean; other inputs (grad, dtype, NCHW) as torch's own mean.
def test_mean_hw():
    from fastvfx.nn._onednn import mean_hw

    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for shape in [(1, 1280, 7, 7), (2, 2048, 7, 7), (3, 5, 1, 1), (2, 17, 56, 56), (1, 3, 2, 9)]:
            x = torch.randn(shape, generator=g).contiguous(memory_format=torch.channels_last)
            y = mean_hw(x)
            assert y.shape == (shape[0], shape[1], 1, 1) and y.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(y, x.double().mean((2, 3), keepdim=True).float(), rtol=1e-5, atol=1e-6)
        for x in [torch.randn(2, 8, 5, 5), torch.randn(2, 8, 5, 5, dtype=torch.float64).contiguous(
                memory_format=torch.channels_last)]:
            y = mean_hw(x)
            assert y.dtype == x.dtype and torch.equal(y, x.mean((2, 3), keepdim=True))
    w = torch.randn(2, 8, 5, 5, requires_grad=True)
    y = mean_hw(w.contiguous(memory_format=torch.channels_last))
    y.sum().backward()
    torch.testing.assert_close(w.grad, torch.full_like(w, 1 / 25))


# The stem's stride-2 5x5 conv as a stride-1 3x3 conv on the input's 2x2
# space-to-depth (SqueezeTime's inference path): the core's space-to-depth
# against torch's view and permute (bit-exact, every ISA and thread count,
# odd channel counts), and the rearranged weight's conv against F.conv2d's.
def _space_to_depth_reference(x):
    n, c, h, w = x.shape
    p_q = x.view(n, c, h // 2, 2, w // 2, 2)  # (n, c, a, p, b, q)
    return torch.stack([p_q[:, :, :, p, :, :] for p in range(2)], 1).permute(0, 1, 2, 5, 3, 4).reshape(
        n, 4 * c, h // 2, w // 2)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shape", [(1, 48, 224, 224), (2, 3, 10, 6), (3, 5, 2, 34)])
def test_space_to_depth2(each_isa, threads, shape):
    from fastvfx import _C

    x = torch.randn(shape)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = _C._space_to_depth2(x)
    finally:
        torch.set_num_threads(before)
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(got, _space_to_depth_reference(x))
    # other inputs (a channels_last view, float64) as torch's copy
    assert torch.equal(_C._space_to_depth2(x.contiguous(memory_format=torch.channels_last)), got)
    assert torch.equal(_C._space_to_depth2(x.double()), _space_to_depth_reference(x.double()))
    with pytest.raises(RuntimeError, match="H and W even"):
        _C._space_to_depth2(x[:, :, :, 1:])


def test_space_to_depth_weight_runs_the_stride2_conv():
    from fastvfx import _C
    from fastvfx.ops.fused_conv2d import space_to_depth_weight

    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 12, 18, 14, generator=g)
    w = torch.randn(20, 12, 5, 5, generator=g) * 0.1
    b = torch.randn(20, generator=g)
    expected = torch.nn.functional.conv2d(x, w, b, stride=2, padding=2)
    w3 = space_to_depth_weight(w)
    assert w3.shape == (20, 48, 3, 3)
    torch.testing.assert_close(torch.nn.functional.conv2d(_C._space_to_depth2(x), w3, b, padding=1), expected,
                               rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # and by Winograd, as the model runs it
        got = fastvfx.fused_conv2d(_C._space_to_depth2(x), pack_weight(w3, winograd=True), b, 1, 1)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="5x5 kernel"):
        space_to_depth_weight(torch.randn(4, 3, 3, 3))
