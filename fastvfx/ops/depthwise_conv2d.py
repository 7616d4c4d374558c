"""Depthwise 2-D convolution (MobileNet's 3x3 layers): functional API, fake
kernel, autograd and the pure-PyTorch reference.

``x`` is ``(N, C, H, W)``, NCHW or channels_last (the output keeps the
layout), ``weight`` ``(C, 1, kH, kW)`` (``groups = C``); float32, float64,
bfloat16 or float16 (16-bit runs the float32 kernels on converted tiles). Stride 1 or 2 (any
positive int up to 8), padding ``"same"`` (TensorFlow's rule: ``out =
ceil(in / stride)``, the odd extra pixel at the bottom / right) or an int /
(int, int) of PyTorch's symmetric zero padding. An activation (``"relu"``,
``"relu6"``, ``"hardswish"``, ``"swish"``) can be fused after the bias.

The core runs the layer on one of the causal depthwise Conv3D's engines with
kT = 1: one channel's plane per flat run on large planes, a vector of
channels per accumulator (channels_last) on small or strided ones.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .causal_dwconv3d import _activation_grad, _apply_activation, _activation_name, spatial_padding
from .causal_dwconv3d import normalize_geometry as _normalize_geometry

IntPair = Union[int, tuple[int, int]]
Padding = Union[str, int, tuple[int, int]]


def normalize_geometry(stride: IntPair, padding: Padding) -> tuple[list[int], list[int], bool]:
    """(stride, symmetric padding, tf_same) as the op takes them."""
    return _normalize_geometry(stride, padding, op="depthwise_conv2d", temporal=False)


def depthwise_conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntPair = 1,
    padding: Padding = "same",
    activation: Optional[str] = None,
) -> Tensor:
    """Depthwise 2-D conv (``groups = C``) with fused bias and activation.
    Differentiable in x, weight and bias."""
    stride_, pad, same = normalize_geometry(stride, padding)
    return torch.ops.fastvfx.depthwise_conv2d(x, weight, bias, stride_, pad, same, _activation_name(activation))


def depthwise_conv2d_reference(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntPair = 1,
    padding: Padding = "same",
    activation: Optional[str] = None,
) -> Tensor:
    """``F.conv2d(F.pad(x, ...), groups=C)`` then the activation, as the
    upstream MobileNet / TF-"same" ports write it."""
    (sh, sw), pad, same = normalize_geometry(stride, padding)
    kh, kw = weight.shape[2:]
    _, pt, pb = spatial_padding(x.size(2), kh, sh, None if same else pad[0])
    _, pl, pr = spatial_padding(x.size(3), kw, sw, None if same else pad[1])
    y = F.conv2d(F.pad(x, (pl, pr, pt, pb)), weight, bias, stride=(sh, sw), groups=x.size(1))
    return _apply_activation(y, activation)


# ---------------------------------------------------------------------------
# Fake kernel
# ---------------------------------------------------------------------------


def _is_channels_last(x: Tensor) -> bool:
    # As the CPU kernel decides: a tensor contiguous in both layouts is NCHW.
    return not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


@torch.library.register_fake("fastvfx::depthwise_conv2d")
def _depthwise_conv2d_fake(x, weight, bias, stride, padding, tf_same, activation):
    op = "fastvfx.depthwise_conv2d"
    torch._check(x.dim() == 4, lambda: f"{op}: expected x of shape (N, C, H, W), got {tuple(x.shape)}")
    torch._check(
        x.dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16),
        lambda: f"{op}: supports float32, float64, bfloat16 and float16, got {x.dtype}",
    )
    torch._check(weight.dtype == x.dtype, lambda: f"{op}: weight dtype {weight.dtype} does not match x dtype {x.dtype}")
    torch._check(
        weight.dim() == 4 and weight.shape[0] == x.shape[1] and weight.shape[1] == 1,
        lambda: f"{op}: weight must be (C, 1, kH, kW) with C = {x.shape[1]}, got {tuple(weight.shape)}",
    )
    kh, kw = weight.shape[2], weight.shape[3]
    oh = spatial_padding(x.shape[2], kh, stride[0], None if tf_same else padding[0])[0]
    ow = spatial_padding(x.shape[3], kw, stride[1], None if tf_same else padding[1])[0]
    fmt = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
    return x.new_empty((x.shape[0], x.shape[1], oh, ow)).contiguous(memory_format=fmt)


# ---------------------------------------------------------------------------
# Autograd: the causal depthwise Conv3D's backward kernels with one frame
# (kT = 1 makes the two ops the same); a fused activation is differentiated at
# its pre-activation, recomputed by the fast forward.
# ---------------------------------------------------------------------------


def _setup(ctx, inputs, output):
    x, weight, bias, stride, padding, tf_same, activation = inputs
    ctx.save_for_backward(x, weight, bias)
    ctx.geometry = (stride, padding, tf_same)
    ctx.activation = activation
    ctx.has_bias = bias is not None


def _backward(ctx, grad):
    x, weight, bias = ctx.saved_tensors
    stride, padding, tf_same = ctx.geometry
    if ctx.activation != "none":
        z = torch.ops.fastvfx.depthwise_conv2d(x, weight, bias, stride, padding, tf_same, "none")
        grad = _activation_grad(z, grad, ctx.activation)
    mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]]
    dx, dw, db = torch.ops.fastvfx._causal_dwconv3d_backward(
        grad.unsqueeze(2), x.unsqueeze(2), weight.unsqueeze(2), stride, padding, tf_same, mask
    )
    return (
        dx.squeeze(2) if mask[0] else None,
        dw.squeeze(2) if mask[1] else None,
        db if mask[2] else None,
        None,
        None,
        None,
        None,
    )


torch.library.register_autograd("fastvfx::depthwise_conv2d", _backward, setup_context=_setup)
