"""1x1 convolution on the core's pointwise kernels (inference): functional
API, weight packing, fake kernel and the pure-PyTorch reference.

``act(conv1x1(x) + bias + residual)`` (ResNet's ``relu(conv + x)``) or
``act(conv1x1(x) + bias) + residual`` in one call, on channels_last input:
each output tile is one GEMM tile whose bias, residual and activation are
applied in registers before the only store. The models' inference paths use
it for their 1x1 convs; the weight is packed once (:func:`pack_weight`).
float32 CPU tensors, no autograd.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .causal_dwconv3d import _apply_activation
from .inverted_residual import _pack_pointwise

_OP = "fastvfx.pointwise_conv2d"


class PackedPointwiseWeight(NamedTuple):
    """A 1x1 conv's weight in the kernel's layout (:func:`pack_weight`)."""

    packed: Tensor  # (ceil(C_out / 32), C_in, 32)
    out_channels: int


def pack_weight(weight: Tensor) -> PackedPointwiseWeight:
    """The kernel's layout of a 1x1 conv weight (C_out, C_in[, 1, 1])."""
    with torch.no_grad():
        w = weight.detach().float().reshape(weight.shape[0], -1)
        return PackedPointwiseWeight(_pack_pointwise(w, w.shape[1]), w.shape[0])


def pointwise_conv2d(x: Tensor, weight: Union[Tensor, PackedPointwiseWeight], bias: Optional[Tensor] = None,
                     residual: Optional[Tensor] = None, activation: Optional[str] = None,
                     residual_first: bool = True) -> Tensor:
    """``activation(conv2d(x, weight, bias) + residual)`` (``residual_first``,
    as ResNet blocks add their shortcut before the ReLU) or
    ``activation(conv2d(x, weight, bias)) + residual``, channels_last (N,
    C_out, H, W). ``weight``: (C_out, C_in[, 1, 1]), packed on every call, or
    :func:`pack_weight`'s result. ``activation``: None, "relu", "relu6",
    "hardswish" or "swish". Inference only (float32 CPU, no autograd)."""
    tensors = [x, bias, residual] + ([weight] if isinstance(weight, Tensor) else [])
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        raise RuntimeError(f"{_OP}: inference-only (no autograd), but an input requires grad; run it under "
                           "torch.no_grad() or torch.inference_mode(), or use F.conv2d")
    if not isinstance(weight, PackedPointwiseWeight):
        weight = pack_weight(weight)
    return torch.ops.fastvfx.pointwise_conv2d.default(x, weight.packed, bias, residual, weight.out_channels,
                                                      activation or "none", residual_first)


def pointwise_conv2d_reference(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                               residual: Optional[Tensor] = None, activation: Optional[str] = None,
                               residual_first: bool = True) -> Tensor:
    """The same with ``F.conv2d``."""
    y = F.conv2d(x, weight.reshape(weight.shape[0], -1, 1, 1), bias)
    if residual is not None and residual_first:
        y = y + residual
    y = _apply_activation(y, activation)
    return y + residual if residual is not None and not residual_first else y


@torch.library.register_fake("fastvfx::pointwise_conv2d")
def _pointwise_conv2d_fake(x, packed_weight, bias, residual, out_channels, activation, residual_first):
    torch._check(x.dim() == 4, lambda: f"{_OP}: expected x of shape (N, C, H, W), got {tuple(x.shape)}")
    torch._check(x.dtype == torch.float32, lambda: f"{_OP}: supports float32 only, got {x.dtype}")
    return torch.empty((x.shape[0], out_channels, x.shape[2], x.shape[3]), dtype=x.dtype, device=x.device,
                       memory_format=torch.channels_last)
