"""TemporalFocusConv2d: SqueezeTime's Temporal Focus Convolution as a module."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ._batchnorm import folded_conv_bn
from ..ops.temporal_focus_conv2d import (
    IntOrPair,
    _check_groups,
    _gate_chain,
    channel_scaled_conv2d,
)


# The op itself: the module's arguments are already checked and normalised.
_TEMPORAL_FOCUS_CONV2D = torch.ops.fastvfx.temporal_focus_conv2d.default


class TemporalFocusConv2d(nn.Module):
    """SqueezeTime's Temporal Focus Convolution, fused.

    Holds the official submodules under the official names (``param_conv``:
    pool, 1x1 conv, BatchNorm, ReLU, 1x1 conv, sigmoid; ``temporal_conv``: the
    conv), so a state dict of SqueezeTime's ``Conv2d`` loads into it (its IOI
    branch ``spatial_conv`` is not part of this module: load with
    ``strict=False`` or drop those keys).

    ``forward(x)`` returns ``(y, scale)``: ``y = temporal_conv(scale * x)`` of
    shape ``(N, out_channels, H_out, W_out)`` and the gate ``scale`` of shape
    ``(N, in_channels, 1, 1)``, the ``param`` the official forward computes
    and hands to its IOI branch (``spatial_conv(x, param)``), whose output it
    adds to ``y``.

    - Training mode is exact: the gate runs as the official chain (BatchNorm
      with batch statistics, running statistics updated), and only the conv of
      the re-weighted input is fused (``channel_scaled_conv2d``).
    - Eval mode folds the BatchNorm into the first 1x1 conv and runs the whole
      op fused (``temporal_focus_conv2d``): one pass over x for the pooling,
      then the conv with the scale folded into its weights (or, for 1x1 on
      small maps, into its packed input tiles). Under ``torch.no_grad()`` the
      folded gate weights are cached until a parameter or statistic changes.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, bias: as
            ``nn.Conv2d`` (groups must be 1; padding ``"same"`` only for odd
            kernels, which pad symmetrically). Unlike the official module,
            whose ``temporal_conv`` ignores ``stride``, stride is honoured.
        pool: ``"avg"`` (official code) or ``"max"`` (paper text).
        hidden_channels: width of the gate (default: in_channels, as upstream).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair = 1,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        bias: bool = False,
        pool: str = "avg",
        hidden_channels: Optional[int] = None,
        groups: int = 1,
    ) -> None:
        super().__init__()
        _check_groups(groups, "fastvfx.nn.TemporalFocusConv2d")
        self.pool = pool
        self.param_conv = _gate_chain(in_channels, hidden_channels, pool)
        self.temporal_conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, _explicit_padding(padding, kernel_size), bias=bias
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        # Submodules and tensors by dict lookup: nn.Sequential indexing and
        # Module.__getattr__ cost microseconds per call, which shows at batch 1
        # on 7x7 maps (a whole layer there takes ~0.3 ms).
        gate = self._modules["param_conv"]._modules
        conv = self._modules["temporal_conv"]
        bn = gate["2"]
        if bn.training or bn.running_mean is None:
            scale = self.param_conv(x)
            return channel_scaled_conv2d(x, scale, conv.weight, conv.bias, conv.stride, conv.padding), scale
        # Without gradients the fold (a handful of tiny ops) is cached: it
        # shows for small inputs.
        fc1_weight, fc1_bias = folded_conv_bn(self, "fc1", gate["1"], bn, lambda w, b: (w.flatten(1), b))
        fc2, conv_params = gate["4"]._parameters, conv._parameters
        args = (x, conv_params["weight"], fc1_weight, fc1_bias, fc2["weight"], fc2.get("bias"),
                conv_params.get("bias"), conv.stride, conv.padding, self.pool)
        if not torch.is_grad_enabled() and not torch.compiler.is_compiling():
            # Nothing to record: skip the autograd kernel (registered in
            # Python, ~20 us a call: 5% of a batch-1 layer on 7x7 maps).
            with torch._C._AutoDispatchBelowAutograd():
                y, scale = _TEMPORAL_FOCUS_CONV2D(*args)
        else:
            y, scale = _TEMPORAL_FOCUS_CONV2D(*args)
        return y, scale.view(scale.shape + (1, 1))

    def extra_repr(self) -> str:
        return f"pool={self.pool!r}"


def _explicit_padding(padding, kernel_size) -> IntOrPair:
    """Integer padding for the op: "valid" is 0, "same" is k // 2 on both
    sides, which only odd kernels can use (even ones pad unevenly)."""
    if not isinstance(padding, str):
        return padding
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if padding == "valid":
        return 0
    if padding == "same" and all(k % 2 == 1 for k in kernel):
        return tuple(k // 2 for k in kernel)
    raise ValueError(f"padding={padding!r} with kernel_size={kernel_size}: use integer padding, or 'same' with odd kernels")
