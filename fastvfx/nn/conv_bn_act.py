"""ConvBNAct: a conv, its BatchNorm and an activation, folded in eval mode."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ops.causal_dwconv3d import spatial_padding
from ..ops.fused_conv2d import fused_conv2d, pack_weight
from ..ops.temporal_focus_conv2d import channel_scaled_conv2d
from . import _onednn
from ._activation import activate, activation_name
from ._batchnorm import folded_conv_bn


def tf_same_pad(x: Tensor, kernel: tuple[int, int], stride: tuple[int, int]) -> Tensor:
    """Zero-pad the last two dims by TensorFlow's "same" rule (the odd extra
    pixel at the bottom / right), as MoViNet's convolutions and pools pad."""
    _, top, bottom = spatial_padding(x.size(-2), kernel[0], stride[0], None)
    _, left, right = spatial_padding(x.size(-1), kernel[1], stride[1], None)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


class ConvBNAct(nn.Module):
    """``act(bn(conv(x)))`` with the state dict of that chain (children
    ``conv``, ``bn``, ``act``).

    ``conv`` is an ``nn.Conv2d`` or an ``nn.Conv3d`` whose kernel has no time
    extent (1, kH, kW) and no temporal stride; ``tf_same=True`` pads the input
    by TensorFlow's "same" rule (then the conv's own padding must be 0).
    Training mode runs the chain as written. Eval mode folds the BatchNorm
    into the conv (cached until a parameter or statistic changes) and applies
    the activation in place on the conv's output; a 1x1 conv on one frame of
    one clip is a single GEMM.

    ``scaled(x, scale)`` is ``forward(x * scale)`` for a per-input-channel
    ``scale`` (a squeeze-excitation gate); on one frame of a 1x1 conv the
    scale goes into the weights (or the packed input, batch > 1) and
    ``x * scale`` is never written.
    """

    def __init__(self, conv: nn.Module, bn: nn.modules.batchnorm._BatchNorm, act: Optional[nn.Module] = None,
                 tf_same: bool = False) -> None:
        super().__init__()
        if not isinstance(conv, (nn.Conv2d, nn.Conv3d)):
            raise TypeError(f"ConvBNAct: conv must be an nn.Conv2d or nn.Conv3d, got {type(conv).__name__}")
        if isinstance(conv, nn.Conv3d) and (conv.kernel_size[0] != 1 or conv.stride[0] != 1 or conv.padding[0] != 0):
            raise ValueError("ConvBNAct: a Conv3d must have no time extent (kernel (1, kH, kW), temporal stride 1)")
        if tf_same and any(conv.padding):
            raise ValueError("ConvBNAct: tf_same pads the input; the conv's own padding must be 0")
        self.conv = conv
        self.bn = bn
        self.act = act if act is not None else nn.Identity()
        self.tf_same = tf_same
        self._activation = activation_name(self.act)
        self._pointwise = all(k == 1 for k in conv.kernel_size) and all(s == 1 for s in conv.stride) \
            and not any(conv.padding) and conv.groups == 1
        self._spatial = (tuple(conv.kernel_size[-2:]), tuple(conv.stride[-2:]))

    def _pad(self, x: Tensor) -> Tensor:
        return tf_same_pad(x, *self._spatial) if self.tf_same else x

    def _folded(self) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """(weight, bias, per-frame 2-D weight, GEMM matrix, bias column) of
        the conv with the BatchNorm folded: cached, so that a stream step
        does not reshape them again."""
        return folded_conv_bn(self, "conv", self.conv, self.bn, _prepared)

    def forward(self, x: Tensor) -> Tensor:
        if self.bn.training:
            return self.act(self.bn(self.conv(self._pad(x))))
        if self._pointwise and (x.dim() == 4 or x.size(2) == 1) and _onednn.inference(x):
            # Inference, one frame of a 1x1 conv: fastvfx.fused_conv2d with the
            # activation fused (MKL's addmm took 0.6 ms for MoViNet's
            # 104 -> 480 head on a 6x6 frame).
            frame = x if x.dim() == 4 else x.squeeze(2)
            _, bias, packed = folded_conv_bn(self, "conv/fused", self.conv, self.bn, _packed)
            y = fused_conv2d(frame, packed, bias, activation=self._activation)
            return y if x.dim() == 4 else y.unsqueeze(2)
        return activate(self._folded_conv(self._pad(x)), self._activation)

    def _folded_conv(self, x: Tensor) -> Tensor:
        conv = self.conv
        weight, bias, frame_weight, matrix, column = self._folded()
        if x.dim() == 5:
            n, c, t, h, w = x.shape
            if t == 1:  # one frame: conv2d (conv3d has no fast path for it)
                if self._pointwise and n == 1:
                    return torch.addmm(column, matrix, x.view(c, h * w)).view(1, -1, 1, h, w)
                y = F.conv2d(x.view(n, c, h, w), frame_weight, bias, conv.stride[1:], conv.padding[1:],
                             conv.dilation[1:], conv.groups)
                return y.unsqueeze(2)
            return F.conv3d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)
        return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)

    def scaled(self, x: Tensor, scale: Tensor) -> Tensor:
        """``forward(x * scale)``, ``scale`` of shape (N, C, 1, ...) (one value
        per sample and input channel; for 5-D inputs also (N, C, t, 1, 1))."""
        one_frame = x.dim() == 4 or x.size(2) == 1
        if self.bn.training or not self._pointwise or not one_frame or scale.dim() != x.dim() or \
                scale.shape[2:].numel() != 1:
            return self.forward(x * scale)
        _, bias, frame_weight, matrix, column = self._folded()
        n, c = x.shape[:2]
        h, w = x.shape[-2:]
        if n == 1:
            y = torch.addmm(column, matrix * scale.view(1, c), x.reshape(c, h * w))
        else:
            y = channel_scaled_conv2d(x.reshape(n, c, h, w), scale.reshape(n, c), frame_weight, bias)
        return activate(y.view(n, -1, *x.shape[2:]), self._activation)

    def extra_repr(self) -> str:
        return "tf_same=True" if self.tf_same else ""


def _packed(weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor, object]:
    return weight, bias, pack_weight(weight.reshape(weight.size(0), -1))


def _prepared(weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    frame_weight = weight.squeeze(2) if weight.dim() == 5 else weight
    return weight, bias, frame_weight, weight.view(weight.size(0), -1), bias.unsqueeze(1)


__all__ = ["ConvBNAct", "tf_same_pad"]
