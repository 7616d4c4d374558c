"""TVM temporal shift kernels against TSM's reference (bit-exact)."""

from __future__ import annotations

import pytest
import torch

from fastvfx.ops.temporal_shift import temporal_shift_online_reference, temporal_shift_reference
from tvm_schedules import temporal_shift as ts

from tvm_test_support import SCHEDULE_FAMILIES

pytest.importorskip("tvm", reason="Apache TVM is not installed: pip install 'fastvfx[tvm]' (CI: .ci/tvm.sh)")

# (N*T, C, H, W, n_segment, fold_div): odd planes, fold = 0, a MobileNetV2 block.
SHAPES = [
    (8, 16, 5, 6, 4, 8),
    (16, 24, 7, 7, 8, 8),
    (6, 5, 3, 3, 3, 8),
    (8, 24, 56, 56, 8, 8),
]


def _x(shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@pytest.mark.parametrize("mode", ts.MODES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_out_of_place(compile_kernel, shape, mode, family):
    nt, c, h, w, seg, fd = shape
    fn = compile_kernel(ts.temporal_shift(nt, c, h, w, seg, fd, mode), family)
    x = _x((nt, c, h, w))
    out = torch.full_like(x, float("nan"))
    fn(x, out)
    assert torch.equal(out, temporal_shift_reference(x, seg, fd, mode))


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@pytest.mark.parametrize("mode", ts.MODES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_in_place(compile_kernel, shape, mode, family):
    nt, c, h, w, seg, fd = shape
    fn = compile_kernel(ts.temporal_shift_inplace(nt, c, h, w, seg, fd, mode), family)
    x = _x((nt, c, h, w))
    expected = temporal_shift_reference(x, seg, fd, mode)
    pointer = x.data_ptr()
    fn(x)
    assert x.data_ptr() == pointer
    assert torch.equal(x, expected)


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@pytest.mark.parametrize("shape", [(1, 16, 5, 6, 2), (2, 24, 7, 7, 3), (1, 160, 7, 7, 20), (1, 8, 3, 3, 0)], ids=str)
def test_online_stream(compile_kernel, shape, family):
    """Frame by frame, x and the cache swap as TSM's online demo does."""
    n, c, h, w, fold = shape
    fn = compile_kernel(ts.temporal_shift_online(n, c, h, w, fold), family)
    cache = torch.zeros(n, fold, h, w)
    ref_cache = cache.clone()
    for step in range(4):
        x = _x((n, c, h, w), seed=step)
        expected, ref_cache = temporal_shift_online_reference(x, ref_cache)
        ref_cache = ref_cache.clone()  # a view of x, which the kernel overwrites
        fn(x, cache)
        assert torch.equal(x, expected)
        assert torch.equal(cache, ref_cache)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_segment"):
        ts.temporal_shift(7, 16, 4, 4, 4)
    with pytest.raises(ValueError, match="mode"):
        ts.temporal_shift(8, 16, 4, 4, 4, mode="future")
