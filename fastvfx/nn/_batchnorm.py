"""BatchNorm folding shared by the modules and the reference models."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn


def fold_bn(weight: Tensor, bias: Optional[Tensor], bn: nn.modules.batchnorm._BatchNorm) -> tuple[Tensor, Tensor]:
    """(weight, bias) of a conv followed by an eval-mode BatchNorm, as one conv."""
    gain = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        gain = bn.weight * gain
    shift = -bn.running_mean * gain
    if bn.bias is not None:
        shift = shift + bn.bias
    if bias is not None:
        shift = shift + bias * gain
    return weight * gain.view(-1, *([1] * (weight.dim() - 1))), shift
