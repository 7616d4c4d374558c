"""ONNX translations of the fastvfx ops, for ``torch.onnx.export(..., dynamo=True)``.

Each translation is named after its op and emits standard ONNX (opset 18)
with the op's exact semantics: fastvfx's kernels are a faster way to compute
these graphs, not another computation. They are traced (onnxscript
``trace_only``): Python works out the static parts (which channels move, how
much padding TF "same" needs, from the channel count and frame size) while
the batch stays a graph dimension. No tensor is made at a fixed shape, so a
graph exported at one batch size runs at any other.

torch 2.13's exporter builds its registry from onnxscript's torchlib registry
at every export (``ONNXRegistry.from_torchlib``); importing this module adds
the translations there, which is what lets a plain ``torch.onnx.export`` call
succeed. ``fastvfx.export`` imports it once that registry is loaded.

Not here: the mutating ops (``temporal_shift_``, ``temporal_shift_online_``,
``causal_dwconv3d_stream_``, ``causal_dwconv3d_stream_out_``). torch.export
records a mutating custom op inside the ``auto_functionalized`` higher-order
op, which the exporter cannot hand to a translation; their Python wrappers
emit an out-of-place formulation while exporting instead. The backward op
``_causal_dwconv3d_backward`` is never part of an inference graph.
"""

from __future__ import annotations

from typing import Sequence

from onnxscript import ir
from onnxscript.function_libs.torch_lib.registration import torch_op
from onnxscript.onnx_opset import opset18 as op

from ..ops.causal_dwconv3d import spatial_padding

_TO_END = 2**63 - 1  # a Slice end meaning "to the end of the axis"


def _static(x, axis: int, what: str) -> int:
    dim = x.shape[axis]
    if not isinstance(dim, int):
        raise ValueError(f"fastvfx ONNX export: {what} must be static (it shapes the graph), got {dim!r}")
    return dim


def _scalar(value: float, like):
    return op.Constant(value=ir.tensor(value, dtype=like.dtype))


def _conv(x, weight, bias, **attributes):
    return op.Conv(x, weight, **attributes) if bias is None else op.Conv(x, weight, bias, **attributes)


def _as_conv1x1_weight(weight):
    return op.Unsqueeze(weight, [2, 3]) if len(weight.shape) == 2 else weight


# ---------------------------------------------------------------------------
# Temporal shift family
# ---------------------------------------------------------------------------


def _moved_channels(clips, lo: int, hi: int, source: int):
    """Channels [lo, hi) of ``clips`` (N, T, C, H, W), frame t taking frame
    t + source (+1: the next frame, -1: the previous); zeros where that frame
    lies outside the clip (Pad, so nothing depends on the batch size)."""
    channels = op.Slice(clips, [lo], [hi], [2])
    if source == 1:
        return op.Pad(op.Slice(channels, [1], [_TO_END], [1]), [0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
    return op.Pad(op.Slice(channels, [0], [-1], [1]), [0, 1, 0, 0, 0, 0, 0, 0, 0, 0])


def _shift(x, n_segment: int, fold_div: int, shift_mode: str, reverse: bool):
    """The temporal shift of x (N*T, C, H, W); see fastvfx.ops.temporal_shift."""
    channels = _static(x, 1, "the channel count of a temporal shift")
    fold = channels // fold_div
    if fold == 0:
        return op.Identity(x)
    forward = -1 if reverse else 1  # where channels [0, fold) come from
    if shift_mode == "bidirectional":
        moves = [(0, fold, forward), (fold, 2 * fold, -forward)]
    elif shift_mode == "past":
        moves = [(0, fold, -forward)]
    else:
        raise ValueError(f"fastvfx.temporal_shift: unknown shift_mode {shift_mode!r}")
    clip_shape = op.Concat(op.Constant(value_ints=[-1, n_segment]), op.Shape(x, start=1), axis=0)
    clips = op.Reshape(x, clip_shape)
    parts = [_moved_channels(clips, lo, min(hi, channels), source) for lo, hi, source in moves if lo < channels]
    moved_to = min(moves[-1][1], channels)
    if moved_to < channels:
        parts.append(op.Slice(clips, [moved_to], [channels], [2]))
    return op.Reshape(op.Concat(*parts, axis=2), op.Shape(x))


@torch_op("fastvfx::temporal_shift", trace_only=True)
def fastvfx_temporal_shift(
    x, n_segment: int, fold_div: int = 8, shift_mode: str = "bidirectional", reverse: bool = False
):
    """temporal_shift(Tensor x, int n_segment, int fold_div=8, str shift_mode='bidirectional', bool reverse=False)"""
    return _shift(x, n_segment, fold_div, shift_mode, reverse)


@torch_op("fastvfx::shift_conv1x1", trace_only=True)
def fastvfx_shift_conv1x1(
    x, weight, bias=None, n_segment: int = 8, fold_div: int = 8, shift_mode: str = "bidirectional"
):
    """shift_conv1x1(Tensor x, Tensor weight, Tensor? bias, int n_segment, int fold_div=8, str shift_mode)"""
    return _conv(_shift(x, n_segment, fold_div, shift_mode, False), _as_conv1x1_weight(weight), bias)


# ---------------------------------------------------------------------------
# Causal depthwise Conv3D
# ---------------------------------------------------------------------------


def _activation(y, name: str):
    if name == "none":
        return y
    if name == "relu":
        return op.Relu(y)
    if name == "relu6":
        return op.Clip(y, _scalar(0.0, y), _scalar(6.0, y))
    if name == "hardswish":
        return op.HardSwish(y)
    if name == "swish":
        return op.Mul(y, op.Sigmoid(y))
    raise ValueError(f"fastvfx.causal_dwconv3d: unknown activation {name!r}")


@torch_op("fastvfx::causal_dwconv3d", trace_only=True)
def fastvfx_causal_dwconv3d(
    x, weight, bias, stride: Sequence[int], padding: Sequence[int], tf_same: bool, activation: str
):
    """causal_dwconv3d(Tensor x, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, bool tf_same, str activation)

    Pad (kT-1 zero frames in front; TF "same" puts the odd extra pixel at
    the bottom / right) + Conv with one group per channel + activation."""
    channels = _static(x, 1, "the channel count of a causal dwconv3d")
    kt, kh, kw = (_static(weight, axis, "the kernel size") for axis in (2, 3, 4))
    if tf_same:
        height = _static(x, 3, "the frame height of a TF-'same' causal dwconv3d")
        width = _static(x, 4, "the frame width of a TF-'same' causal dwconv3d")
        _, top, bottom = spatial_padding(height, kh, stride[0], None)
        _, left, right = spatial_padding(width, kw, stride[1], None)
    else:
        top = bottom = padding[0]
        left = right = padding[1]
    padded = op.Pad(x, [0, 0, kt - 1, top, left, 0, 0, 0, bottom, right])
    y = _conv(padded, weight, bias, group=channels, strides=[1, stride[0], stride[1]])
    return _activation(y, activation)


@torch_op("fastvfx::depthwise_conv2d", trace_only=True)
def fastvfx_depthwise_conv2d(
    x, weight, bias, stride: Sequence[int], padding: Sequence[int], tf_same: bool, activation: str
):
    """depthwise_conv2d(Tensor x, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, bool tf_same, str activation)

    Pad (TF "same": the odd extra pixel at the bottom / right) + Conv with one
    group per channel + activation."""
    channels = _static(x, 1, "the channel count of a depthwise_conv2d")
    kh, kw = (_static(weight, axis, "the kernel size") for axis in (2, 3))
    if tf_same:
        height = _static(x, 2, "the frame height of a TF-'same' depthwise_conv2d")
        width = _static(x, 3, "the frame width of a TF-'same' depthwise_conv2d")
        _, top, bottom = spatial_padding(height, kh, stride[0], None)
        _, left, right = spatial_padding(width, kw, stride[1], None)
        x = op.Pad(x, [0, 0, top, left, 0, 0, bottom, right])
        pads = [0, 0, 0, 0]
    else:
        pads = [padding[0], padding[1], padding[0], padding[1]]
    y = _conv(x, weight, bias, group=channels, strides=[stride[0], stride[1]], pads=pads)
    return _activation(y, activation)


# ---------------------------------------------------------------------------
# Temporal Focus Convolution
# ---------------------------------------------------------------------------


def _dense(x, weight, bias):
    """x (N, in) times a (out, in) or (out, in, 1, 1) weight, plus bias."""
    matrix = op.Flatten(weight, axis=1)
    return op.Gemm(x, matrix, transB=1) if bias is None else op.Gemm(x, matrix, bias, transB=1)


def _scaled_conv(x, scale, weight, bias, stride: Sequence[int], padding: Sequence[int]):
    """conv2d(x * scale, weight, bias), scale (N, C, 1, 1)."""
    pads = [padding[0], padding[1], padding[0], padding[1]]
    return _conv(op.Mul(x, scale), weight, bias, strides=list(stride), pads=pads)


@torch_op("fastvfx::temporal_focus_conv2d", trace_only=True)
def fastvfx_temporal_focus_conv2d(
    x,
    weight,
    fc1_weight,
    fc1_bias,
    fc2_weight,
    fc2_bias=None,
    bias=None,
    stride: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0),
    pool: str = "avg",
):
    """temporal_focus_conv2d(Tensor x, Tensor weight, Tensor fc1_weight, Tensor? fc1_bias, Tensor fc2_weight,
    Tensor? fc2_bias=None, Tensor? bias=None, int[2] stride=1, int[2] padding=0, str pool='avg') -> (Tensor, Tensor)

    ReduceMean / ReduceMax + Gemm + Relu + Gemm + Sigmoid gives the scale
    (N, C_in); Mul + Conv the output."""
    if pool == "avg":
        pooled = op.ReduceMean(x, [2, 3], keepdims=0)
    elif pool == "max":
        pooled = op.ReduceMax(x, [2, 3], keepdims=0)
    else:
        raise ValueError(f"fastvfx.temporal_focus_conv2d: unknown pool {pool!r}")
    scale = op.Sigmoid(_dense(op.Relu(_dense(pooled, fc1_weight, fc1_bias)), fc2_weight, fc2_bias))
    return _scaled_conv(x, op.Unsqueeze(scale, [2, 3]), weight, bias, stride, padding), scale


@torch_op("fastvfx::channel_scaled_conv2d", trace_only=True)
def fastvfx_channel_scaled_conv2d(
    x, scale, weight, bias=None, stride: Sequence[int] = (1, 1), padding: Sequence[int] = (0, 0)
):
    """channel_scaled_conv2d(Tensor x, Tensor scale, Tensor weight, Tensor? bias=None, int[2] stride=1,
    int[2] padding=0) -> Tensor

    scale is (N, C_in) or (N, C_in, 1, 1)."""
    if len(scale.shape) == 2:
        scale = op.Unsqueeze(scale, [2, 3])
    return _scaled_conv(x, scale, weight, bias, stride, padding)


TRANSLATIONS = {
    "temporal_shift": fastvfx_temporal_shift,
    "shift_conv1x1": fastvfx_shift_conv1x1,
    "causal_dwconv3d": fastvfx_causal_dwconv3d,
    "temporal_focus_conv2d": fastvfx_temporal_focus_conv2d,
    "channel_scaled_conv2d": fastvfx_channel_scaled_conv2d,
}
