"""DepthwiseConv2d: a depthwise 2-D conv with fused bias and activation."""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
from torch import Tensor, nn

from ..ops.causal_dwconv3d import _activation_name
from ..ops.depthwise_conv2d import depthwise_conv2d, normalize_geometry
from ._batchnorm import fold_bn


class DepthwiseConv2d(nn.Module):
    """``nn.Conv2d(C, C, k, groups=C)`` followed by an optional fused
    activation, NCHW or channels_last (the output keeps the layout).

    Args:
        channels: C (one filter per channel).
        kernel_size: k or (kH, kW).
        stride: an int or (sh, sw).
        padding: "same" (TensorFlow's rule) or int / (int, int), symmetric.
        bias: learn a bias.
        activation: None, "relu", "relu6", "hardswish" or "swish", fused.

    ``weight`` is ``(C, 1, kH, kW)`` as in ``nn.Conv2d``, so a depthwise
    conv's state dict loads as it is.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: Union[int, tuple[int, int]] = 3,
        stride: Union[int, tuple[int, int]] = 1,
        padding: Union[str, int, tuple[int, int]] = "same",
        bias: bool = True,
        activation: Optional[str] = None,
    ) -> None:
        super().__init__()
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        if len(kernel_size) != 2 or min(kernel_size) < 1:
            raise ValueError(f"kernel_size must be an int or (kH, kW) of positive ints, got {kernel_size}")
        self.channels = channels
        self.kernel_size = tuple(kernel_size)
        self.stride = tuple(normalize_geometry(stride, padding)[0])  # validates
        self.padding = padding
        _activation_name(activation)  # validates
        self.activation = activation
        self.weight = nn.Parameter(torch.empty(channels, 1, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # As nn.Conv2d does (fan-in of one depthwise filter).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(math.prod(self.kernel_size))
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return depthwise_conv2d(x, self.weight, self.bias, self.stride, self.padding, self.activation)

    @torch.no_grad()
    def fuse_bn(self, bn: nn.BatchNorm2d) -> "DepthwiseConv2d":
        """Fold a following eval-mode BatchNorm into this conv's weight and
        bias. Returns self; the BatchNorm can then be dropped. Requires
        activation=None or an activation that follows the norm (the usual
        conv, BN, activation order): the fold happens before it."""
        if bn.num_features != self.channels:
            raise ValueError(f"fuse_bn: BatchNorm has {bn.num_features} features, the conv {self.channels} channels")
        weight, bias = fold_bn(self.weight, self.bias, bn)
        self.weight.copy_(weight)
        if self.bias is None:
            self.bias = nn.Parameter(bias.to(self.weight.dtype))
        else:
            self.bias.copy_(bias)
        return self

    def extra_repr(self) -> str:
        return (
            f"{self.channels}, kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding!r}, "
            f"bias={self.bias is not None}, activation={self.activation!r}"
        )
