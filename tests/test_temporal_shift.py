"""temporal_shift / temporal_shift_ against TSM's own formulation: bit-exact
over odd shapes, modes, fold_div, dtypes, memory formats and every ISA."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fastvfx
from conftest import LogDispatch, LogFunctions
from fastvfx.ops.temporal_shift import temporal_shift_reference

# (n_batch, n_segment, C, H, W): C not a multiple of fold_div, T = 1,
# H*W = 1, N > 1, a frame large enough to be cut into several tiles.
SHAPES = [
    (1, 8, 64, 7, 7),
    (2, 3, 13, 5, 3),
    (3, 1, 16, 4, 4),
    (2, 4, 24, 1, 1),
    (1, 8, 40, 33, 17),
    (1, 2, 130, 9, 11),
    (2, 3, 24, 40, 40),  # channels_last: several tiles of rows per frame
]
MODES = ["bidirectional", "past"]
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def _frames(n, t, c, h, w, dtype=torch.float32, layout="contiguous"):
    """(n*t, c, h, w) frames in the requested memory layout, values never 0."""
    if layout == "channels_last":
        x = torch.randn(n * t, c, h, w).to(dtype).add_(5)
        return x.contiguous(memory_format=torch.channels_last)
    if layout == "transposed":  # neither contiguous nor channels_last
        return torch.randn(n * t, c, w, h).to(dtype).add_(5).transpose(2, 3)
    if layout == "sliced":  # a view into a wider tensor
        return torch.randn(n * t, c + 3, h, w + 2).to(dtype).add_(5)[:, 1 : c + 1, :, 1 : w + 1]
    return torch.randn(n * t, c, h, w).to(dtype).add_(5)


def _expected(x, t, fold_div, mode):
    return temporal_shift_reference(x.contiguous(), t, fold_div, mode)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fold_div", [1, 3, 8])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed", "sliced"])
def test_out_of_place_matches_reference(each_isa, shape, mode, fold_div, layout):
    n, t, c, h, w = shape
    x = _frames(n, t, c, h, w, layout=layout)
    x_before = x.clone()
    y = fastvfx.temporal_shift(x, t, fold_div, mode)
    assert torch.equal(y, _expected(x, t, fold_div, mode))
    assert torch.equal(x, x_before), "the out-of-place shift modified its input"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_every_float_dtype_is_bit_exact(each_isa, dtype, layout):
    x = _frames(2, 8, 24, 6, 5, dtype, layout)
    for mode in MODES:
        assert torch.equal(fastvfx.temporal_shift(x, 8, 8, mode), _expected(x, 8, 8, mode))
        y = x.clone(memory_format=torch.preserve_format)
        fastvfx.temporal_shift_(y, 8, 8, mode)
        assert torch.equal(y, _expected(x, 8, 8, mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "shape, dtype",
    [
        # Over 8 MiB of output: the NHWC pass writes with streaming stores.
        ((2, 8, 120, 36, 36), torch.float32),
        # A row of an odd number of 2-byte channels repeats every 64 rows
        # (the longest select period), and rows straddle vectors.
        ((1, 4, 101, 9, 7), torch.float16),
        # Wide rows of whole lines: span copies in cache, and from 8 MiB on
        # the select pass's runs of whole vectors from one frame.
        ((1, 3, 2048, 3, 3), torch.float32),
        ((1, 8, 2048, 12, 12), torch.float32),
    ],
)
def test_channels_last_large_and_odd_rows(each_isa, shape, dtype, mode):
    n, t, c, h, w = shape
    x = _frames(n, t, c, h, w, dtype, "channels_last")
    y = fastvfx.temporal_shift(x, t, 8, mode)
    assert torch.equal(y, _expected(x, t, 8, mode))
    assert y.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_channels_last_tiles_at_every_thread_count(each_isa, threads):
    # The NHWC passes cut a clip into as many equal tiles as the threads share
    # evenly (rows for span copies, periods for the select pass), and the
    # select pass keeps its period tables per thread for the last geometry:
    # shapes alternate here so a stale table would show. Clips of narrow rows
    # over 1 MB take 8 KiB tiles (24 and 40 channels here; the last tile of
    # a frame is short).
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(2):
            for n, t, c, h, w in [(1, 8, 512, 7, 7), (1, 8, 256, 14, 14), (1, 8, 64, 14, 14), (3, 4, 64, 14, 14),
                                  (1, 8, 160, 7, 7), (1, 8, 168, 7, 7), (2, 8, 24, 28, 28),
                                  (1, 8, 40, 36, 37)]:
                for fold_div in (8, 4):
                    x = _frames(n, t, c, h, w, layout="channels_last")
                    expected = _expected(x, t, fold_div, "bidirectional")
                    assert torch.equal(fastvfx.temporal_shift(x, t, fold_div), expected)
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_output_keeps_memory_format(layout):
    x = _frames(1, 8, 16, 4, 3, layout=layout)
    y = fastvfx.temporal_shift(x, 8)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    assert y.is_contiguous(memory_format=fmt)


def test_fold_div_larger_than_channels_is_identity():
    # fold = C // fold_div = 0: TSM's code then copies x unchanged.
    x = _frames(1, 4, 6, 3, 3)
    assert torch.equal(fastvfx.temporal_shift(x, 4, 8), x)
    assert torch.equal(_expected(x, 4, 8, "bidirectional"), x)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fold_div", [1, 4, 8])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed", "sliced"])
def test_in_place_matches_reference(each_isa, shape, mode, fold_div, layout):
    n, t, c, h, w = shape
    x = _frames(n, t, c, h, w, layout=layout)
    want = _expected(x, t, fold_div, mode)
    ptr, version = x.data_ptr(), x._version
    out = fastvfx.temporal_shift_(x, t, fold_div, mode)
    assert out is x and x.data_ptr() == ptr
    assert torch.equal(x, want)
    assert x._version > version, "an in-place op must bump the version counter"


def test_in_place_through_a_view_writes_the_base():
    base = torch.randn(16, 20, 5, 5)
    view = base[:, 2:18]
    want_view = _expected(view, 8, 4, "bidirectional")
    untouched = base[:, :2].clone(), base[:, 18:].clone()
    fastvfx.temporal_shift_(view, 8, 4)
    assert torch.equal(base[:, 2:18], want_view)
    assert torch.equal(base[:, :2], untouched[0]) and torch.equal(base[:, 18:], untouched[1])


def test_in_place_touches_only_the_shifted_channels():
    x = _frames(2, 8, 32, 4, 4)
    rest = x[:, 8:].clone()
    ptr = x[:, 8:].data_ptr()
    fastvfx.temporal_shift_(x, 8, 8)  # moves channels [0, 8)
    assert x[:, 8:].data_ptr() == ptr and torch.equal(x[:, 8:], rest)


def test_empty_inputs():
    for x in (torch.empty(0, 16, 4, 4), torch.empty(8, 16, 0, 4), torch.empty(8, 0, 3, 3)):
        y = fastvfx.temporal_shift(x, 8)
        assert y.shape == x.shape
        assert fastvfx.temporal_shift_(x, 8) is x
        assert fastvfx.shift_conv1x1(x, torch.randn(5, x.size(1), 1, 1), None, 8).shape == (
            x.size(0), 5, x.size(2), x.size(3))



class _LoggedTensor(torch.Tensor):
    seen = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.seen.append(func)
        return super().__torch_function__(func, types, args, kwargs)


@pytest.mark.parametrize("mode_cls", [LogFunctions, LogDispatch])
def test_eager_calls_reach_python_modes(mode_cls):
    # Plain tensors skip torch.ops' Python binding; the ops must still be seen
    # by a TorchFunctionMode and a TorchDispatchMode, and give the same result.
    x = _frames(1, 8, 16, 3, 3)
    want = _expected(x, 8, 8, "bidirectional")
    with mode_cls() as mode:
        y = fastvfx.temporal_shift(x, 8, 8)
        z = x.clone()
        fastvfx.temporal_shift_(z, 8, 8)
    assert torch.ops.fastvfx.temporal_shift.default in mode.seen
    assert torch.ops.fastvfx.temporal_shift_.default in mode.seen
    assert torch.equal(y, want) and torch.equal(z, want)


def test_eager_calls_reach_a_subclass_torch_function():
    x = _frames(1, 8, 16, 3, 3)
    _LoggedTensor.seen.clear()
    y = fastvfx.temporal_shift(x.as_subclass(_LoggedTensor), 8, 8)
    assert torch.ops.fastvfx.temporal_shift.default in _LoggedTensor.seen
    assert torch.equal(y.as_subclass(torch.Tensor), _expected(x, 8, 8, "bidirectional"))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 3),
    t=st.integers(1, 9),
    c=st.integers(1, 70),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    fold_div=st.integers(1, 12),
    mode=st.sampled_from(MODES),
    channels_last=st.booleans(),
    isa=st.sampled_from(fastvfx.supported_isas()),
)
def test_property_random_shapes(n, t, c, h, w, fold_div, mode, channels_last, isa):
    x = _frames(n, t, c, h, w, layout="channels_last" if channels_last else "contiguous")
    want = _expected(x, t, fold_div, mode)
    with fastvfx.isa(isa):
        assert torch.equal(fastvfx.temporal_shift(x, t, fold_div, mode), want)
        fastvfx.temporal_shift_(x, t, fold_div, mode)
    assert torch.equal(x, want)


@pytest.mark.parametrize(
    "make, n_segment, fold_div, mode, error",
    [
        (lambda: torch.randn(8, 16, 4), 8, 8, "bidirectional", "shape \\(N\\*T, C, H, W\\)"),
        (lambda: torch.randn(1, 8, 16, 4, 4), 8, 8, "bidirectional", "shape \\(N\\*T, C, H, W\\)"),
        (lambda: torch.randn(10, 16, 4, 4), 8, 8, "bidirectional", "divisible by n_segment"),
        (lambda: torch.randint(0, 9, (8, 16, 4, 4)), 8, 8, "bidirectional", "floating-point"),
        (lambda: torch.randn(8, 16, 4, 4), 8, 0, "bidirectional", "fold_div must be >= 1"),
        (lambda: torch.randn(8, 16, 4, 4), 8, -2, "bidirectional", "fold_div must be >= 1"),
        (lambda: torch.randn(8, 16, 4, 4), 0, 8, "bidirectional", "n_segment must be >= 1"),
        (lambda: torch.randn(8, 16, 4, 4), 8, 8, "future", "mode must be"),
    ],
)
def test_bad_input_is_a_clear_error(make, n_segment, fold_div, mode, error):
    x = make()
    before = x.clone()
    with pytest.raises(RuntimeError, match=error):
        fastvfx.temporal_shift(x, n_segment, fold_div, mode)
    with pytest.raises(RuntimeError, match=error):
        fastvfx.temporal_shift_(x, n_segment, fold_div, mode)
    assert torch.equal(x, before), "a rejected call must leave its input alone"
