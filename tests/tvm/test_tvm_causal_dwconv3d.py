"""TVM causal depthwise Conv3D kernels (full clip and streaming step)
against fastvfx's references and the fastvfx streaming op's ring buffer."""

from __future__ import annotations

import pytest
import torch

from fastvfx.ops.causal_dwconv3d import (
    causal_dwconv3d_reference,
    causal_dwconv3d_step,
    causal_dwconv3d_stream_reference,
    init_stream_state,
)
from tvm_schedules import causal_dwconv3d as dw

from tvm_test_support import SCHEDULE_FAMILIES

pytest.importorskip("tvm", reason="Apache TVM is not installed: pip install 'fastvfx[tvm]' (CI: .ci/tvm.sh)")

TOL = dict(rtol=1e-5, atol=1e-5)

# (C, T, H, W, kernel, stride, padding, activation, bias)
CLIP_CASES = [
    (8, 4, 9, 10, (3, 3, 3), 1, "same", "relu", True),
    (8, 3, 10, 10, (3, 3, 3), 2, "same", "hardswish", True),  # TF-same, stride 2, even size: extra pad bottom/right
    (5, 5, 11, 7, (5, 3, 3), 2, "same", "swish", False),
    (6, 4, 8, 8, (1, 5, 5), 2, "same", "relu6", True),
    (7, 6, 6, 6, (3, 1, 1), 1, "same", None, True),
    (4, 3, 9, 9, (2, 3, 3), 1, 1, "relu", True),  # PyTorch-style symmetric padding
    (4, 3, 9, 9, (3, 3, 3), 2, 0, None, False),
    (40, 8, 56, 56, (5, 3, 3), 1, "same", None, True),  # MoViNet-A0 layer
    (3, 2, 6, 11, (3, 3, 3), 1, "same", "relu", True),  # 11-wide rows: scalar tile on NEON
]


def _tensors(c, t, h, w, kernel, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, c, t, h, w, generator=g), torch.randn(c, 1, *kernel, generator=g), torch.randn(c, generator=g)


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@pytest.mark.parametrize("case", CLIP_CASES, ids=str)
def test_clip(compile_kernel, case, family):
    c, t, h, w, kernel, stride, padding, act, bias = case
    k = dw.causal_dwconv3d(1, c, t, h, w, kernel, stride, padding, act, bias)
    fn = compile_kernel(k, family)
    x, weight, b = _tensors(c, t, h, w, kernel)
    expected = causal_dwconv3d_reference(x, weight, b if bias else None, stride, padding, act)
    y = torch.full(k.args[-1].shape, float("nan"))
    fn(x, weight, *([b] if bias else []), y)
    torch.testing.assert_close(y, expected, **TOL)


def test_check_vector(compile_kernel):
    """DESIGN.md: ones (1,1,4,2,2), ones (1,1,3,3,3), stride 2, same -> 4, 8, 12, 12."""
    fn = compile_kernel(dw.causal_dwconv3d(1, 1, 4, 2, 2, (3, 3, 3), 2, "same", None, False))
    y = torch.empty(1, 1, 4, 1, 1)
    fn(torch.ones(1, 1, 4, 2, 2), torch.ones(1, 1, 3, 3, 3), y)
    assert y.flatten().tolist() == [4.0, 8.0, 12.0, 12.0]


# (C, H, W, kernel, stride, activation)
STEP_CASES = [
    (8, 9, 9, (3, 3, 3), 1, "swish"),
    (6, 10, 10, (5, 3, 3), 2, "relu"),
    (5, 7, 7, (2, 3, 3), 1, None),
    (4, 6, 6, (3, 1, 1), 1, "hardswish"),
    (6, 8, 8, (1, 5, 5), 2, "relu6"),
    (40, 56, 56, (5, 3, 3), 1, None),
]


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@pytest.mark.parametrize("case", STEP_CASES, ids=str)
def test_stream(compile_kernel, case, family):
    """Frame by frame: each output matches the upstream step (buffer concat +
    conv3d); the ring buffer and position match the fastvfx op's state after
    every step; the whole stream matches the full-clip reference."""
    c, h, w, kernel, stride, act = case
    k = dw.causal_dwconv3d_step(1, c, h, w, kernel, stride, "same", act)
    stateless = k.params.get("stateless", False)
    fn = compile_kernel(k, family)
    frames = kernel[0] + 3
    clip, weight, b = _tensors(c, frames, h, w, kernel)
    nh = kernel[0] - 1
    buffer = torch.zeros(1, c, nh, h, w)
    position = torch.zeros(1, dtype=torch.int64)
    ref_buffer = buffer.clone()
    state = init_stream_state(1, c, kernel[0], h, w, kernel_size=kernel, stride=stride)
    outputs = []
    for t in range(frames):
        x = clip[:, :, t : t + 1].contiguous()
        y = torch.full(k.args[-1].shape, float("nan"))
        if stateless:
            fn(x, weight, b, y)
        else:
            fn(x, weight, b, buffer, position, y)
        expected, ref_buffer = causal_dwconv3d_stream_reference(x, weight, b, ref_buffer, stride, "same", act)
        torch.testing.assert_close(y, expected, **TOL)
        fastvfx_y = causal_dwconv3d_step(x, weight, b, state, stride, "same", act)
        torch.testing.assert_close(y, fastvfx_y, **TOL)
        if not stateless:
            assert torch.equal(buffer, state.buffer), f"ring buffer differs from the fastvfx op's after step {t}"
            assert torch.equal(position, state.position)
        outputs.append(y)
    full = causal_dwconv3d_reference(clip, weight, b, stride, "same", act)
    torch.testing.assert_close(torch.cat(outputs, dim=2), full, **TOL)


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        dw.causal_dwconv3d(1, 4, 2, 5, 5, (3, 3, 3), activation="gelu")
    with pytest.raises(ValueError, match="padding"):
        dw.causal_dwconv3d(1, 4, 2, 5, 5, (3, 3, 3), padding="valid")
