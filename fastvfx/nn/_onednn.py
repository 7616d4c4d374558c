"""Folded convolutions for inference as single calls with prepacked weights:
the conv, its folded BatchNorm (as the bias), the activation and a residual
in one call. 1x1 convs run on fastvfx's own pointwise kernels
(``fastvfx.pointwise_conv2d``: on an AVX-512 CPU 1.1-2x oneDNN's 1x1 convs
at SqueezeTime's and MobileNetV2's reducing layers, large C_in and small
C_out, with a few microseconds per call instead of oneDNN's tens through
torch); other convs as one oneDNN primitive
(``torch.ops.mkldnn._convolution_pointwise``, the op torch's CPU inductor
path emits), with the weight reordered once into the layout oneDNN wants.

Eager ``F.conv2d`` skips oneDNN for 1x1 convs on small batches with one
thread (it takes an im2col + GEMM path that first copies the bias into the
output) and always reorders the weight and applies the activation as a second
pass; these calls do neither. Used only for inference (no gradients, float32,
no autocast, not while compiling or exporting: the op has no autograd, no
autocast rule and no ONNX translation); everything else takes the plain path.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ops.pointwise_conv2d import PackedPointwiseWeight, pack_weight, pointwise_conv2d
from ._activation import activate
from ._batchnorm import cached

_AVAILABLE = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")

# fastvfx activation name -> (oneDNN post-op, its scalars).
_POST_OPS = {
    None: ("none", []),
    "relu": ("relu", []),
    "relu6": ("hardtanh", [0.0, 6.0]),
    "hardswish": ("hardswish", []),
    "swish": ("swish", []),
    "sigmoid": ("sigmoid", []),
}


def usable(x: Tensor) -> bool:
    """Whether ``x`` can take the oneDNN path (see the module docstring)."""
    return (
        _AVAILABLE
        and x.dtype == torch.float32
        and x.device.type == "cpu"
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and not torch.compiler.is_compiling()
        and not torch.compiler.is_exporting()
    )


def channels_last(x: Tensor) -> Tensor:
    """``x`` in channels_last when it takes the oneDNN path (oneDNN's 1x1 and
    3x3 convs run about twice as fast on it as on NCHW), else ``x``: a model
    converts its input once and every conv keeps the layout."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 and usable(x) else x


def memory_format(x: Tensor) -> torch.memory_format:
    """channels_last for a channels_last tensor, else contiguous (a tensor
    contiguous in both counts as NCHW)."""
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class PackedConv2d(NamedTuple):
    """A conv's weight in oneDNN's layout, its bias and geometry."""

    weight: Tensor
    bias: Optional[Tensor]
    padding: list[int]
    stride: list[int]
    dilation: list[int]
    groups: int


def packed(module: nn.Module, slot: str, weight: Tensor, bias: Optional[Tensor], conv: nn.Conv2d,
           x: Tensor) -> PackedConv2d:
    """``weight`` / ``bias`` (a fold's cached result, or the conv's own)
    reordered for ``conv``'s geometry and an input like ``x``; cached on
    ``module`` under ``slot`` until they or the input's channels and size
    change, so a new fold is repacked. oneDNN picks the weight layout by the
    input size: packed without it, a 3x3 conv's weight was reordered again on
    every call (256x256x3x3 at 14x14: longer than the conv)."""
    plane = tuple(x.shape[1:])

    def pack() -> PackedConv2d:
        padding, stride, dilation = list(conv.padding), list(conv.stride), list(conv.dilation)
        w = torch.ops.mkldnn._reorder_convolution_weight(
            weight.contiguous(), padding, stride, dilation, conv.groups, list(x.shape)
        )
        return PackedConv2d(w, None if bias is None else bias.contiguous(), padding, stride, dilation, conv.groups)

    return cached(module, slot, (weight, bias, plane), pack)


def conv2d(x: Tensor, conv: PackedConv2d, activation: Optional[str] = None) -> Tensor:
    """``activation(conv2d(x))`` in one oneDNN call; the output keeps
    ``x``'s memory format."""
    attr, scalars = _POST_OPS[activation]
    return torch.ops.mkldnn._convolution_pointwise(
        x, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, conv.groups, attr, scalars, None
    )


def conv2d_add(x: Tensor, conv: PackedConv2d, other: Tensor, activation: Optional[str] = None) -> Tensor:
    """``activation(conv2d(x) + other)`` in one oneDNN call (a residual add
    fused as a binary post-op)."""
    return conv2d_binary(x, conv, other, "add", activation)


def conv2d_binary(x: Tensor, conv: PackedConv2d, other: Tensor, op: str, activation: Optional[str] = None) -> Tensor:
    """``activation(conv2d(x) <op> other)`` in one oneDNN call, ``op`` one of
    "add", "mul" (a binary post-op); ``other`` has the output's shape and
    memory format."""
    attr, scalars = _POST_OPS[activation]
    return torch.ops.mkldnn._convolution_pointwise.binary(
        x, other, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, conv.groups, op, None,
        None if attr == "none" else attr, scalars, None,
    )


def plain_conv2d(x: Tensor, weight: Tensor, bias: Optional[Tensor], conv: nn.Conv2d,
                 activation: Optional[str] = None) -> Tensor:
    """``activation(conv2d(x, weight, bias))`` in one oneDNN call with the
    weight NOT prepacked (oneDNN reorders it on every call: for a small weight
    that costs little). An NCHW ``x`` then stays NCHW for torch, and oneDNN
    reorders it into its blocked layout itself; with a prepacked weight torch
    first converts ``x`` to channels_last, a transposing copy that cost as much
    as the conv for SqueezeTime's 48-channel 224x224 stem. The output keeps
    ``x``'s memory format."""
    attr, scalars = _POST_OPS[activation]
    return torch.ops.mkldnn._convolution_pointwise(
        x, weight.contiguous(), None if bias is None else bias.contiguous(), list(conv.padding), list(conv.stride),
        list(conv.dilation), conv.groups, attr, scalars, None,
    )


def is_pointwise(conv: nn.Conv2d, activation: Optional[str] = None) -> bool:
    """A plain 1x1 conv (stride 1, no padding, groups 1) whose activation the
    pointwise kernel has."""
    return (conv.kernel_size == (1, 1) and conv.stride == (1, 1) and conv.padding in ((0, 0), "valid")
            and conv.dilation == (1, 1) and conv.groups == 1 and activation != "sigmoid")


def packed_pointwise(module: nn.Module, slot: str, weight: Tensor) -> PackedPointwiseWeight:
    """``weight`` packed for ``fastvfx.pointwise_conv2d``, cached on
    ``module`` under ``slot`` until it changes (a new fold is repacked)."""
    return cached(module, slot + "/pointwise", (weight,), lambda: pack_weight(weight))


def folded_conv2d(module: nn.Module, slot: str, x: Tensor, conv: nn.Conv2d, weight: Tensor, bias: Optional[Tensor],
                  activation: Optional[str] = None, residual: Optional[Tensor] = None) -> Tensor:
    """``activation(conv2d(x, weight, bias) [+ residual])`` with ``conv``'s
    geometry, for eval-mode blocks that folded ``weight`` / ``bias``: one
    call when ``x`` can take the inference path (a 1x1 conv on the pointwise
    kernels, others in oneDNN; packed weights cached on ``module`` under
    ``slot``), else ``F.conv2d`` and torch's ops in place."""
    if usable(x) and is_pointwise(conv, activation):
        y = pointwise_conv2d(x, packed_pointwise(module, slot, weight), bias, residual, activation)
        return y.contiguous(memory_format=memory_format(x))
    if usable(x):
        packed_conv = packed(module, slot, weight, bias, conv, x)
        if residual is None:
            return conv2d(x, packed_conv, activation)
        return conv2d_add(x, packed_conv, residual.contiguous(memory_format=memory_format(x)), activation)
    y = F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    if residual is not None:
        y = y.add_(residual) if not (torch.is_grad_enabled() and y.requires_grad) else y + residual
    if activation == "sigmoid":
        return torch.sigmoid_(y) if not (torch.is_grad_enabled() and y.requires_grad) else torch.sigmoid(y)
    return activate(y, activation)
