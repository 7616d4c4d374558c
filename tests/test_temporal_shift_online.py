"""Online (streaming) TSM: the in-place swap against TSM's online demo step,
and streaming a clip frame by frame equals the uni-directional shift of the
whole clip."""

import pytest
import torch

import fastvfx
from fastvfx.ops.temporal_shift import temporal_shift_online_reference, temporal_shift_reference


def _fmt(layout):
    return torch.channels_last if layout == "channels_last" else torch.contiguous_format


@pytest.mark.parametrize("shape", [(1, 64, 7, 7), (2, 24, 5, 3), (3, 16, 1, 1), (1, 40, 33, 17)])
@pytest.mark.parametrize("fold", [1, 3, 8])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_swap_matches_online_demo_step(each_isa, shape, fold, layout):
    n, c, h, w = shape
    x = torch.randn(shape).contiguous(memory_format=_fmt(layout))
    cache = torch.randn(n, fold, h, w).contiguous(memory_format=_fmt(layout))
    # The demo's new buffer is a view of x: take copies before x changes.
    want_x, want_cache = (t.clone() for t in temporal_shift_online_reference(x, cache))
    ptrs = x.data_ptr(), cache.data_ptr()
    out_x, out_cache = fastvfx.temporal_shift_online_(x, cache)
    assert out_x is x and out_cache is cache and (x.data_ptr(), cache.data_ptr()) == ptrs
    assert torch.equal(x, want_x)
    assert torch.equal(cache, want_cache)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_streaming_equals_past_shift_of_the_clip(each_isa, layout, dtype):
    n_batch, t, c, h, w, fold_div = 2, 8, 32, 6, 5, 8
    clip = torch.randn(n_batch, t, c, h, w).to(dtype)
    offline = temporal_shift_reference(clip.view(n_batch * t, c, h, w), t, fold_div, "past")
    offline = offline.view(n_batch, t, c, h, w)
    cache = torch.zeros(n_batch, c // fold_div, h, w, dtype=dtype).contiguous(memory_format=_fmt(layout))
    for i in range(t):
        frame = clip[:, i].contiguous(memory_format=_fmt(layout))
        fastvfx.temporal_shift_online_(frame, cache)
        assert torch.equal(frame, offline[:, i]), f"frame {i}"


def test_swap_under_autograd():
    x = torch.randn(2, 16, 3, 3, requires_grad=True)
    cache = torch.randn(2, 2, 3, 3, requires_grad=True)
    xa, ca = x * 1, cache * 1
    out_x, out_cache = fastvfx.temporal_shift_online_(xa, ca)
    ref_x, ref_cache = temporal_shift_online_reference(x * 1, cache * 1)
    gx, gc = torch.randn_like(ref_x), torch.randn_like(ref_cache)
    got = torch.autograd.grad((out_x * gx).sum() + (out_cache * gc).sum(), (x, cache))
    want = torch.autograd.grad((ref_x * gx).sum() + (ref_cache * gc).sum(), (x, cache))
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


@pytest.mark.parametrize(
    "x, cache, error",
    [
        (torch.randn(2, 16, 4, 4), torch.randn(2, 2, 4), "cache"),
        (torch.randn(2, 16, 4, 4), torch.randn(1, 2, 4, 4), "does not fit"),
        (torch.randn(2, 16, 4, 4), torch.randn(2, 2, 4, 5), "does not fit"),
        (torch.randn(2, 16, 4, 4), torch.randn(2, 17, 4, 4), "does not fit"),
        (torch.randn(2, 16, 4, 4), torch.randn(2, 2, 4, 4, dtype=torch.float64), "dtype"),
        (torch.randn(2, 16, 4, 4), torch.randn(2, 2, 4, 4, device="meta"), "meta"),
        (
            torch.randn(2, 16, 4, 4),
            torch.randn(2, 2, 4, 4).contiguous(memory_format=torch.channels_last),
            "both channels_last",
        ),
        (torch.randn(2, 16, 4, 4), torch.randn(2, 2, 4, 8)[..., ::2], "both channels_last"),
        (torch.randint(0, 5, (2, 16, 4, 4)), torch.randint(0, 5, (2, 2, 4, 4)), "floating-point"),
    ],
)
def test_bad_cache_is_a_clear_error(x, cache, error):
    before = x.clone(), cache.clone() if cache.device.type != "meta" else None
    with pytest.raises(RuntimeError, match=error):
        fastvfx.temporal_shift_online_(x, cache)
    assert torch.equal(x, before[0])


def test_cache_sharing_memory_with_x_is_rejected():
    x = torch.randn(1, 16, 4, 4)  # batch 1: x[:, 8:10] is a contiguous view
    with pytest.raises(RuntimeError, match="share memory"):
        fastvfx.temporal_shift_online_(x, x[:, 8:10])
