"""Depthwise 2-D convolution at MobileNetV2's depthwise 3x3 layers (batch 8,
fused ReLU6, 2 threads): fastvfx against F.conv2d(groups=C) + F.relu6 in the
same layout, NCHW and channels_last. The issue's bar is the faster of torch's
two layouts: read each layer's two rows together."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F

import fastvfx
from fastvfx import bench as fvb

# (channels, input size, stride) of MobileNetV2's depthwise 3x3 layers.
MOBILENET_V2_DEPTHWISE = (
    (32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1),
    (192, 28, 2), (384, 14, 1), (576, 14, 1), (576, 14, 2), (960, 7, 1),
)
BATCH = 8


def _make(c: int, hw: int, stride: int, memory_format: torch.memory_format):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn((BATCH, c, hw, hw), generator=generator).contiguous(memory_format=memory_format)
    return x, torch.randn((c, 1, 3, 3), generator=generator), torch.randn((c,), generator=generator), stride


def _torch(x, weight, bias, stride):
    return F.relu6(F.conv2d(x, weight, bias, stride, 1, groups=x.size(1)))


def _fastvfx(x, weight, bias, stride):
    return fastvfx.depthwise_conv2d(x, weight, bias, stride, 1, "relu6")


def depthwise_conv2d_cases() -> list[fvb.Case]:
    cases = []
    for c, hw, stride in MOBILENET_V2_DEPTHWISE:
        out = -(-hw // stride)
        for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):
            cases.append(
                fvb.Case("dwconv2d", (BATCH, c, hw, hw, 3, 3, stride), layout, partial(_make, c, hw, stride, fmt),
                         _torch, _fastvfx, exact=False, flops=2 * BATCH * c * out * out * 9, threads=2)
            )
    return cases


@pytest.mark.parametrize("case", depthwise_conv2d_cases(), ids=lambda case: case.id)
def test_depthwise_conv2d(case: fvb.Case, run_case) -> None:
    run_case(case)
