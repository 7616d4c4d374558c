"""TemporalShift: a drop-in for the TSM repository's module."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..ops.temporal_shift import shift_conv1x1, temporal_shift


def _is_plain_conv1x1(net: nn.Module) -> bool:
    return (
        type(net) is nn.Conv2d
        and net.kernel_size == (1, 1)
        and net.stride == (1, 1)
        and net.padding in ((0, 0), "valid")
        and net.dilation == (1, 1)
        and net.groups == 1
    )


class TemporalShift(nn.Module):
    """``forward(x) = net(temporal_shift(x))``, with TSM's constructor.

    Args:
        net: the wrapped module (TSM wraps the first conv of a residual
            branch), or None for the bare shift.
        n_segment: frames per clip (T); x is (N*T, C, H, W).
        n_div: fold_div; ``fold = C // n_div`` channels move each way.
        inplace: accepted for compatibility with TSM's constructor. TSM's
            in-place shift was withdrawn because it overwrote the residual
            identity; this module never modifies its input, whatever
            ``inplace`` says (the out-of-place shift is one pass over memory).
        mode: ``"bidirectional"`` (TSM offline) or ``"past"``.

    When ``net`` is a plain 1x1 ``nn.Conv2d`` (stride 1, no padding, groups 1),
    the shift is applied while the conv reads its input (``shift_conv1x1``) and
    the shifted tensor is never written.
    """

    def __init__(
        self,
        net: Optional[nn.Module] = None,
        n_segment: int = 8,
        n_div: int = 8,
        inplace: bool = False,
        mode: str = "bidirectional",
    ) -> None:
        super().__init__()
        if n_segment < 1:
            raise ValueError(f"n_segment must be >= 1, got {n_segment}")
        if n_div < 1:
            raise ValueError(f"n_div must be >= 1, got {n_div}")
        if mode not in ("bidirectional", "past"):
            raise ValueError(f"mode must be 'bidirectional' or 'past', got {mode!r}")
        self.net = net
        self.n_segment = n_segment
        self.fold_div = n_div
        self.inplace = inplace
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        net = self.net
        if net is not None and _is_plain_conv1x1(net) and net.padding_mode == "zeros":
            return shift_conv1x1(x, net.weight, net.bias, self.n_segment, self.fold_div, self.mode)
        shifted = temporal_shift(x, self.n_segment, self.fold_div, self.mode)
        return shifted if net is None else net(shifted)

    def extra_repr(self) -> str:
        return f"n_segment={self.n_segment}, fold_div={self.fold_div}, mode={self.mode!r}"
