"""Folded convolutions for inference as single calls with prepacked weights:
the conv, its folded BatchNorm (as the bias), the activation and a residual
in one call. 1x1 convs run on fastvfx's own kernels (``fastvfx.fused_conv2d``):
per conv as fast as oneDNN's on an AVX-512 CPU (0.9-1.16x at SqueezeTime's
1x1 layers, one thread), but 3 us a call instead of oneDNN's 23 through
torch's wrapper. So do k x k convs on an NCHW input with many channels
(SqueezeTime's 48-channel stem, which fused_conv2d reads into its padded
channels-last copy itself: 9.2 against 10.9 ms). Other convs take one oneDNN
primitive (``torch.ops.mkldnn._convolution_pointwise``, the op torch's CPU
inductor path emits), with the weight reordered once into the layout oneDNN
wants: its 3x3 kernels ran 1.1-1.3x fastvfx's on channels_last input, and its
3x3 stem with 3 input channels twice as fast.

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

from ..ops.fused_conv2d import PackedConvWeight, fused_conv2d, pack_weight
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


def inference(x: Tensor) -> bool:
    """Whether ``x`` can take fastvfx's inference-only ops (fused blocks and
    convs): float32 on the CPU without gradients, outside autocast, compile
    and export (those ops have no autograd, autocast rule or ONNX translation)."""
    return (
        x.dtype == torch.float32
        and x.device.type == "cpu"
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and not torch.compiler.is_compiling()
        and not torch.compiler.is_exporting()
    )


def usable(x: Tensor) -> bool:
    """Whether ``x`` can take the inference path of this module (see the
    module docstring): :func:`inference`, and a torch with oneDNN."""
    return _AVAILABLE and inference(x)


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


def conv2d_binary(x: Tensor, conv: PackedConv2d, other: Tensor, op: str, activation: Optional[str] = None) -> Tensor:
    """``activation(conv2d(x) <op> other)`` in one oneDNN call, ``op`` one of
    "add", "mul" (a binary post-op); ``other`` has the output's shape and
    memory format."""
    attr, scalars = _POST_OPS[activation]
    return torch.ops.mkldnn._convolution_pointwise.binary(
        x, other, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, conv.groups, op, None,
        None if attr == "none" else attr, scalars, None,
    )


def is_fused(conv: nn.Conv2d, x: Tensor) -> bool:
    """Whether ``conv`` on ``x`` runs on ``fastvfx.fused_conv2d`` (see the
    module docstring): a plain 1x1 conv, or a dense k x k one (one stride,
    zero padding, at most 8 kernel rows) on an NCHW input of 16 channels or more."""
    if conv.groups != 1 or conv.dilation != (1, 1) or isinstance(conv.padding, str) or conv.padding_mode != "zeros":
        return False
    if conv.kernel_size == (1, 1) and conv.stride == (1, 1) and conv.padding == (0, 0):
        return True
    nchw = x.is_contiguous() and not x.is_contiguous(memory_format=torch.channels_last)
    return nchw and x.size(1) >= 16 and conv.stride[0] == conv.stride[1] and conv.kernel_size[0] <= 8


def packed_fused(module: nn.Module, slot: str, weight: Tensor) -> PackedConvWeight:
    """``weight`` packed for ``fastvfx.fused_conv2d``, cached on ``module``
    under ``slot`` until it changes (a new fold is repacked)."""
    return cached(module, slot + "/fused", (weight,), lambda: pack_weight(weight))


def fused(module: nn.Module, slot: str, x: Tensor, conv: nn.Conv2d, weight: Tensor, bias: Optional[Tensor],
          activation: Optional[str] = None, residual: Optional[Tensor] = None, residual_op: str = "add") -> Tensor:
    """``fastvfx.fused_conv2d`` with ``conv``'s geometry and the folded
    ``weight`` (packed once, cached under ``slot``)."""
    return fused_conv2d(x, packed_fused(module, slot, weight), bias, conv.stride[0], conv.padding, residual,
                        activation, residual_op)


def folded_conv2d(module: nn.Module, slot: str, x: Tensor, conv: nn.Conv2d, weight: Tensor, bias: Optional[Tensor],
                  activation: Optional[str] = None, residual: Optional[Tensor] = None,
                  residual_op: str = "add") -> Tensor:
    """``activation(conv2d(x, weight, bias) [+ residual])`` with ``conv``'s
    geometry (``residual_op`` "mul", without an activation:
    ``conv2d(...) * residual``), for eval-mode blocks that folded ``weight`` /
    ``bias``: one call when ``x`` can take the inference path
    (``fastvfx.fused_conv2d`` or oneDNN, see :func:`is_fused`; packed weights
    cached on ``module`` under ``slot``), else ``F.conv2d`` and torch's ops in
    place. The output keeps ``x``'s memory format."""
    if residual_op == "mul" and activation is not None:
        raise ValueError("folded_conv2d: a product residual takes no activation")
    if inference(x) and is_fused(conv, x):
        y = fused(module, slot, x, conv, weight, bias, activation, residual, residual_op)
        return y.contiguous(memory_format=memory_format(x))
    if usable(x):
        packed_conv = packed(module, slot, weight, bias, conv, x)
        if residual is None:
            return conv2d(x, packed_conv, activation)
        other = residual.contiguous(memory_format=memory_format(x))
        return conv2d_binary(x, packed_conv, other, residual_op, activation)
    y = F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    if residual is not None and residual_op == "mul":
        y = y.mul_(residual) if not (torch.is_grad_enabled() and y.requires_grad) else y * residual
    elif residual is not None:
        y = y.add_(residual) if not (torch.is_grad_enabled() and y.requires_grad) else y + residual
    if activation == "sigmoid":
        return torch.sigmoid_(y) if not (torch.is_grad_enabled() and y.requires_grad) else torch.sigmoid(y)
    return activate(y, activation)
