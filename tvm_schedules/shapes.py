"""Shape sets: the operator instances of the reference models, as kernels.

- ``movinet-a0``: MoViNet-A0 stream at 172x172, the depthwise layers that
  fastvfx.bench.dwconv3d measures (C, H=W, (kT, kH, kW), stride), as streaming
  steps (one frame, ring buffer) and as 8-frame clips; swish-free (the
  activation is a separate op in the released models' depthwise layers).
- ``tsm-mobilenetv2``: temporal shift on the shifted residual blocks of
  TSM-MobileNetV2 at 224x224, 8 segments, fold_div 8, one clip; out of
  place, in place, and the online step of one frame.
- ``squeezetime-k400``: TFC at the four SqueezeTime-K400 stages, 1x1,
  stride 1, no bias, C_in = C_out, batch 1, gate hidden width C // 4.
- ``small``: one small instance of every kernel (and variant), for CI and the
  qemu check.
"""

from __future__ import annotations

from . import causal_dwconv3d as dw
from . import temporal_focus_conv2d as tfc
from . import temporal_shift as ts
from .kernel import Kernel

# (C, H=W, (kT, kH, kW), spatial stride): the depthwise layers of MoViNet-A0
# at 172x172, the same numbers as fastvfx.bench.dwconv3d.MOVINET_A0_LAYERS.
MOVINET_A0_LAYERS = (
    (40, 56, (5, 3, 3), 1),
    (64, 28, (3, 3, 3), 1),
    (104, 14, (5, 3, 3), 1),
    (168, 7, (5, 3, 3), 1),
    (24, 56, (1, 5, 5), 2),
    (80, 28, (3, 1, 1), 1),
)
MOVINET_CLIP_FRAMES = 8
# (C, H=W) of the shifted blocks of MobileNetV2 at 224x224.
TSM_MOBILENETV2_BLOCKS = ((24, 56), (32, 28), (64, 14), (96, 14), (160, 7))
TSM_SEGMENTS, TSM_FOLD_DIV = 8, 8
# (C, H=W) of the SqueezeTime-K400 TFC layers.
SQUEEZETIME_STAGES = ((64, 56), (128, 28), (256, 14), (512, 7))


def _tag(*parts) -> str:
    return "_".join(str(p) for p in parts)


def movinet_a0() -> list[Kernel]:
    kernels = []
    for c, hw, kernel, stride in MOVINET_A0_LAYERS:
        ktag = "x".join(map(str, kernel))
        kernels.append(dw.causal_dwconv3d_step(1, c, hw, hw, kernel, stride,
                                               name=_tag("dwconv3d_step", c, hw, ktag, f"s{stride}")))
        kernels.append(dw.causal_dwconv3d(1, c, MOVINET_CLIP_FRAMES, hw, hw, kernel, stride,
                                          name=_tag("dwconv3d_clip", c, MOVINET_CLIP_FRAMES, hw, ktag, f"s{stride}")))
    return kernels


def tsm_mobilenetv2() -> list[Kernel]:
    kernels = []
    seg, fd = TSM_SEGMENTS, TSM_FOLD_DIV
    for c, hw in TSM_MOBILENETV2_BLOCKS:
        kernels.append(ts.temporal_shift(seg, c, hw, hw, seg, fd, name=_tag("temporal_shift", c, hw)))
        kernels.append(ts.temporal_shift_inplace(seg, c, hw, hw, seg, fd, name=_tag("temporal_shift_inplace", c, hw)))
        kernels.append(ts.temporal_shift_online(1, c, hw, hw, c // fd, name=_tag("temporal_shift_online", c, hw)))
    return kernels


def squeezetime_k400() -> list[Kernel]:
    return [
        tfc.temporal_focus_conv2d(1, c, hw, hw, c, c // 4, name=_tag("tfc", c, hw))
        for c, hw in SQUEEZETIME_STAGES
    ]


def small() -> list[Kernel]:
    return [
        ts.temporal_shift(8, 16, 5, 6, 4, 8, "bidirectional", name="temporal_shift_small"),
        ts.temporal_shift(8, 16, 5, 6, 4, 8, "past", name="temporal_shift_past_small"),
        ts.temporal_shift_inplace(8, 16, 5, 6, 4, 8, "bidirectional", name="temporal_shift_inplace_small"),
        ts.temporal_shift_online(2, 16, 5, 6, 2, name="temporal_shift_online_small"),
        dw.causal_dwconv3d(1, 8, 4, 9, 10, (3, 3, 3), 1, activation="relu",
                           name="dwconv3d_clip_small"),
        dw.causal_dwconv3d(1, 8, 3, 10, 10, (3, 3, 3), 2, activation="hardswish",
                           name="dwconv3d_clip_s2_small"),
        dw.causal_dwconv3d_step(1, 8, 9, 9, (3, 3, 3), 1, activation="swish", name="dwconv3d_step_small"),
        tfc.temporal_focus_conv2d(1, 16, 8, 8, 16, 4, name="tfc_small"),
        tfc.temporal_focus_conv2d(1, 16, 9, 9, 8, 4, kernel=3, stride=2, padding=1, pool="max", bias=True,
                                  fc2_bias=True, name="tfc_k3_small"),
    ]


SHAPE_SETS = {
    "small": small,
    "movinet-a0": movinet_a0,
    "tsm-mobilenetv2": tsm_mobilenetv2,
    "squeezetime-k400": squeezetime_k400,
}


def kernels_of(shape_set: str) -> list[Kernel]:
    if shape_set not in SHAPE_SETS:
        raise ValueError(f"unknown shape set {shape_set!r}; known shape sets: {', '.join(SHAPE_SETS)}")
    return SHAPE_SETS[shape_set]()
