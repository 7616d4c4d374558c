"""Causal depthwise Conv3D cases on the MoViNet-A0 layers: the streaming
step against concat + ``F.conv3d``, the full clip forward and backward
against ``F.pad`` + ``F.conv3d`` and its autograd."""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from ..ops.causal_dwconv3d import (
    causal_dwconv3d,
    causal_dwconv3d_reference,
    causal_dwconv3d_step,
    causal_dwconv3d_stream_reference,
    init_stream_state,
)
from .case import Case, device, to_device

# (C, H = W, (kT, kH, kW), spatial stride) of MoViNet-A0 stream layers.
MOVINET_A0_LAYERS = (
    (40, 56, (5, 3, 3), 1),
    (64, 28, (3, 3, 3), 1),
    (104, 14, (5, 3, 3), 1),
    (168, 7, (5, 3, 3), 1),
    (24, 56, (1, 5, 5), 2),
    (80, 28, (3, 1, 1), 1),
)
# Full clips: T = 8 for every layer, T = 50 for two.
CLIP_FRAMES = ((8, MOVINET_A0_LAYERS), (50, MOVINET_A0_LAYERS[1:3]))


def _conv_flops(c: int, t: int, out_hw: int, kernel: tuple[int, int, int]) -> int:
    return 2 * c * t * out_hw * out_hw * kernel[0] * kernel[1] * kernel[2]


def _layer_tensors(c: int, h: int, kernel, t: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((1, c, t, h, h), generator=generator)
    weight = torch.randn((c, 1, *kernel), generator=generator)
    return to_device((x, weight, torch.randn((c,), generator=generator)))


def _make_step(c, h, kernel, stride):
    frame, weight, bias = _layer_tensors(c, h, kernel, 1)
    out_hw = -(-h // stride)
    buffer = torch.zeros(1, c, kernel[0] - 1, h, h, device=device())
    state = init_stream_state(1, c, kernel[0], h, h, device=device(), kernel_size=kernel, stride=stride)
    out = torch.empty(1, c, 1, out_hw, out_hw, device=device())
    return frame, weight, bias, stride, buffer, state, out


def _step_reference(frame, weight, bias, stride, buffer, state, out):
    return causal_dwconv3d_stream_reference(frame, weight, bias, buffer, stride)[0]


def _step(frame, weight, bias, stride, buffer, state, out):
    return causal_dwconv3d_step(frame, weight, bias, state, stride, out=out)


def _make_dwconv_clip(c, h, kernel, stride, t):
    x, weight, bias = _layer_tensors(c, h, kernel, t)
    return x, weight, bias, stride


def _dwconv_reference(x, weight, bias, stride):
    return causal_dwconv3d_reference(x, weight, bias, stride)


def _dwconv(x, weight, bias, stride):
    return causal_dwconv3d(x, weight, bias, stride)


def _make_dwconv_backward(c, h, kernel, stride, t):
    x, weight, bias = (v.requires_grad_(True) for v in _layer_tensors(c, h, kernel, t))
    y_reference = causal_dwconv3d_reference(x, weight, bias, stride)
    y_fastvfx = causal_dwconv3d(x, weight, bias, stride)
    grad = torch.randn(y_fastvfx.shape, generator=torch.Generator().manual_seed(1)).to(device())
    return x, weight, bias, grad, y_reference, y_fastvfx


def _backward_of(y: Tensor, x, weight, bias, grad) -> tuple[Tensor, ...]:
    return torch.autograd.grad(y, (x, weight, bias), grad, retain_graph=True)


def _dwconv_backward_reference(x, weight, bias, grad, y_reference, y_fastvfx):
    return _backward_of(y_reference, x, weight, bias, grad)


def _dwconv_backward(x, weight, bias, grad, y_reference, y_fastvfx):
    return _backward_of(y_fastvfx, x, weight, bias, grad)


def _name(kind: str, c: int, h: int, kernel, stride: int, t: int = 1) -> str:
    name = f"{kind} {c}ch {h}² k{'x'.join(map(str, kernel))}"
    return name + (f" s{stride}" if stride != 1 else "") + (f" T{t}" if t != 1 else "")


def cases() -> list[Case]:
    """Causal depthwise Conv3D: streaming step (vs concat + F.conv3d), full
    clip forward and backward (vs F.pad + F.conv3d and its autograd)."""
    all_cases = []
    for c, h, kernel, stride in MOVINET_A0_LAYERS:
        out_hw = -(-h // stride)
        all_cases.append(
            Case("dwconv3d step", (1, c, 1, h, h, *kernel, stride), "NCTHW",
                 partial(_make_step, c, h, kernel, stride), _step_reference, _step, exact=False,
                 flops=_conv_flops(c, 1, out_hw, kernel), name=_name("dwconv3d step", c, h, kernel, stride))
        )
    for kind, baseline, candidate, make, flop_factor in (
        ("dwconv3d clip", _dwconv_reference, _dwconv, _make_dwconv_clip, 1),
        ("dwconv3d backward", _dwconv_backward_reference, _dwconv_backward, _make_dwconv_backward, 2),
    ):
        for t, layers in CLIP_FRAMES:
            for c, h, kernel, stride in layers:
                out_hw = -(-h // stride)
                all_cases.append(
                    Case(kind, (1, c, t, h, h, *kernel, stride), "NCTHW", partial(make, c, h, kernel, stride, t),
                         baseline, candidate, exact=False, flops=flop_factor * _conv_flops(c, t, out_hw, kernel),
                         name=_name(kind, c, h, kernel, stride, t))
                )
    return all_cases
