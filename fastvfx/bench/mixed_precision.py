"""16-bit cases (family "16bit"): each fastvfx op on bfloat16 (and, at one
shape of three ops, float16) tensors against the same op on float32 tensors holding
the same values, so the speed-up is float32 time / 16-bit time (below 1x the
16-bit path is slower). The pure-PyTorch reference on the 16-bit tensors, what
upstream modules run under autocast, is timed beside them as ``torch16``.

Ops and shapes: the causal depthwise Conv3D clip and streaming step at two
MoViNet-A0 layers, the depthwise 2-D conv at two MobileNetV2 layers (8 frames,
NCHW and channels_last), TFC 1x1 at two SqueezeTime stages (batch 1) and the
out-of-place temporal shift at one TSM shape."""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import torch
from torch import Tensor

from ..ops.causal_dwconv3d import (
    causal_dwconv3d,
    causal_dwconv3d_reference,
    causal_dwconv3d_step,
    causal_dwconv3d_stream_reference,
    init_stream_state,
)
from ..ops.depthwise_conv2d import depthwise_conv2d, depthwise_conv2d_reference
from ..ops.temporal_focus_conv2d import temporal_focus_conv2d, temporal_focus_conv2d_reference
from ..ops.temporal_shift import temporal_shift, temporal_shift_reference
from .case import Case, device, to_device
from .dwconv3d import CLIP_FRAMES, MOVINET_A0_LAYERS
from .shift import FOLD_DIV, LAYOUTS, N_SEGMENT

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# (C, H = W, kernel, spatial stride): a 3-D and a spatial (2+1)D MoViNet-A0 layer.
DWCONV3D_LAYERS = (MOVINET_A0_LAYERS[0], MOVINET_A0_LAYERS[4])
DWCONV3D_FRAMES = CLIP_FRAMES[0][0]
# (C, H = W, stride) of MobileNetV2 3x3 depthwise layers, on 8 frames.
DWCONV2D_LAYERS = ((144, 56, 1), (576, 14, 1))
DWCONV2D_FRAMES = 8
# (C, H = W) of SqueezeTime TFC stages: 1x1 convs, C_in = C_out, batch 1.
TFC_STAGES = ((64, 56), (512, 7))
SHIFT_SHAPE = (8, 64, 56, 56)


class Calls(NamedTuple):
    """The three contenders of a 16-bit case, on inputs built once."""

    fp32: Callable[[], object]  # the fastvfx op on float32 copies of the 16-bit values (the baseline)
    half: Callable[[], object]  # the fastvfx op on the 16-bit tensors (the candidate)
    torch: Callable[[], object]  # the pure-PyTorch reference on the 16-bit tensors


def _random(shapes, dtype: torch.dtype, scales=None) -> tuple[list[Tensor], list[Tensor]]:
    """Random tensors of ``shapes`` (times ``scales``, default 1) exact in
    ``dtype``, and their float32 copies."""
    generator = torch.Generator().manual_seed(0)
    scales = scales or [1.0] * len(shapes)
    half = [to_device((scale * torch.randn(shape, generator=generator)).to(dtype))
            for shape, scale in zip(shapes, scales, strict=True)]
    return half, [t.float() for t in half]


def _dwconv3d_clip(c, h, kernel, stride, dtype) -> tuple[Calls]:
    (x, w, b), (x32, w32, b32) = _random(((1, c, DWCONV3D_FRAMES, h, h), (c, 1, *kernel), (c,)), dtype)
    return (Calls(partial(causal_dwconv3d, x32, w32, b32, stride), partial(causal_dwconv3d, x, w, b, stride),
                  partial(causal_dwconv3d_reference, x, w, b, stride)),)


def _stream_reference_output(*args) -> Tensor:
    return causal_dwconv3d_stream_reference(*args)[0]


def _dwconv3d_step(c, h, kernel, stride, dtype) -> tuple[Calls]:
    (x, w, b), (x32, w32, b32) = _random(((1, c, 1, h, h), (c, 1, *kernel), (c,)), dtype)
    geometry = dict(kernel_size=kernel, stride=stride, device=device())
    state = init_stream_state(1, c, kernel[0], h, h, dtype=dtype, **geometry)
    state32 = init_stream_state(1, c, kernel[0], h, h, **geometry)
    buffer = torch.zeros(1, c, kernel[0] - 1, h, h, dtype=dtype, device=device())
    return (Calls(partial(causal_dwconv3d_step, x32, w32, b32, state32, stride),
                  partial(causal_dwconv3d_step, x, w, b, state, stride),
                  partial(_stream_reference_output, x, w, b, buffer, stride)),)


def _dwconv2d(c, h, stride, layout, dtype) -> tuple[Calls]:
    (x, w, b), (x32, w32, b32) = _random(((DWCONV2D_FRAMES, c, h, h), (c, 1, 3, 3), (c,)), dtype)
    x, x32 = (t.contiguous(memory_format=LAYOUTS[layout]) for t in (x, x32))
    # MobileNetV2's padding 1 and its ReLU6, fused.
    return (Calls(partial(depthwise_conv2d, x32, w32, b32, stride, 1, "relu6"),
                  partial(depthwise_conv2d, x, w, b, stride, 1, "relu6"),
                  partial(depthwise_conv2d_reference, x, w, b, stride, 1, "relu6")),)


def _tfc(c, h, dtype) -> tuple[Calls]:
    # x, the 1x1 conv weight, the gate's fc1 weight and bias and fc2 weight, the
    # weights at 1 / sqrt(fan-in) as trained layers keep them: with unit weights
    # over 512 channels the gate saturates and its 16-bit sums lose the sigmoid.
    shapes = ((1, c, h, h), (c, c, 1, 1), (c // 4, c), (c // 4,), (c, c // 4))
    half, full = _random(shapes, dtype, (1.0, c**-0.5, c**-0.5, 1.0, (c // 4) ** -0.5))
    return (Calls(partial(temporal_focus_conv2d, *full), partial(temporal_focus_conv2d, *half),
                  partial(temporal_focus_conv2d_reference, *half)),)


def _shift(shape, layout, dtype) -> tuple[Calls]:
    (x,), (x32,) = _random((shape,), dtype)
    x, x32 = (t.contiguous(memory_format=LAYOUTS[layout]) for t in (x, x32))
    return (Calls(partial(temporal_shift, x32, N_SEGMENT, FOLD_DIV), partial(temporal_shift, x, N_SEGMENT, FOLD_DIV),
                  partial(temporal_shift_reference, x, N_SEGMENT, FOLD_DIV)),)


def _fp32(calls: Calls):
    return calls.fp32()


def _half(calls: Calls):
    return calls.half()


def _torch16(calls: Calls) -> dict[str, Callable[[], object]]:
    return {"torch16": calls.torch}


# torch 2.13's 16-bit depthwise conv2d took 1 to 4 s per call on an AVX2 CPU
# (100x to 200x fastvfx): timing it would take most of a quick run.
_TORCH16_DWCONV2D = "skipped: seconds per call (torch's 16-bit depthwise conv2d on CPU)"


def _torch16_skipped(calls: Calls) -> dict[str, str]:
    return {"torch16": _TORCH16_DWCONV2D}


def _case(dtype_name: str, kind: str, shape, layout: str, builder, name: str, exact: bool = False) -> Case:
    # The type after the op: an id of the float32 families is no part of a 16-bit id (--filter).
    return Case(f"{kind} {dtype_name}", shape, layout, partial(builder, dtype=DTYPES[dtype_name]), _fp32, _half,
                exact=exact, others=_torch16_skipped if kind == "dwconv2d" else _torch16,
                name=f"{kind} {dtype_name} {name}")


def _dwconv3d_name(c, h, kernel, stride) -> str:
    return f"{c}ch {h}² k{'x'.join(map(str, kernel))}" + (f" s{stride}" if stride != 1 else "")


def _cases_in(dtype_name: str) -> list[Case]:
    """Every op at every shape in one 16-bit type, grouped by op."""
    all_cases = []
    for c, h, kernel, stride in DWCONV3D_LAYERS:
        all_cases.append(
            _case(dtype_name, "dwconv3d clip", (1, c, DWCONV3D_FRAMES, h, h, *kernel, stride), "NCTHW",
                  partial(_dwconv3d_clip, c, h, kernel, stride),
                  f"{_dwconv3d_name(c, h, kernel, stride)} T{DWCONV3D_FRAMES}")
        )
    for c, h, kernel, stride in DWCONV3D_LAYERS:
        all_cases.append(
            _case(dtype_name, "dwconv3d step", (1, c, 1, h, h, *kernel, stride), "NCTHW",
                  partial(_dwconv3d_step, c, h, kernel, stride), _dwconv3d_name(c, h, kernel, stride))
        )
    for c, h, stride in DWCONV2D_LAYERS:
        for layout in LAYOUTS:
            all_cases.append(
                _case(dtype_name, "dwconv2d", (DWCONV2D_FRAMES, c, h, h, 3, 3, stride), layout,
                      partial(_dwconv2d, c, h, stride, layout),
                      f"{DWCONV2D_FRAMES}x{c}ch {h}² k3x3" + (f" s{stride}" if stride != 1 else "") + f" {layout}")
            )
    for c, h in TFC_STAGES:
        all_cases.append(
            _case(dtype_name, "tfc 1x1", (1, c, h, h), "NCHW", partial(_tfc, c, h), f"{c}ch {h}² batch 1")
        )
    n, c, h, _ = SHIFT_SHAPE
    # Bit-exact: the shift moves values, so the 16-bit output is the float32 one, rounded back.
    all_cases.append(
        _case(dtype_name, "shift out-of-place", SHIFT_SHAPE, "NCHW", partial(_shift, SHIFT_SHAPE, "NCHW"),
              f"{n}x{c}ch {h}² NCHW", exact=True)
    )
    return all_cases


# The ops timed in float16 too, at their first shape: three cases keep the run short.
FP16_OPS = ("dwconv3d clip", "dwconv2d", "tfc 1x1")


def cases() -> list[Case]:
    """bfloat16 at every shape; float16 at the first shape of FP16_OPS.
    Builds no tensors."""
    fp16 = _cases_in("fp16")
    return _cases_in("bf16") + [next(case for case in fp16 if case.op == f"{op} fp16") for op in FP16_OPS]
