"""Activations of the fused modules: by name, fused into a kernel or applied
in place on a fresh intermediate."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATION_NAMES = {nn.SiLU: "swish", nn.Hardswish: "hardswish", nn.ReLU: "relu", nn.ReLU6: "relu6"}


def activation_name(act: nn.Module) -> Optional[str]:
    """The fused-activation name of a module, None for Identity; raise for others."""
    if type(act) is nn.Identity:
        return None
    name = ACTIVATION_NAMES.get(type(act))
    if name is None:
        raise ValueError(f"no fused form of activation {type(act).__name__}")
    return name


# Swish is applied by torch after the causal dwconv kernel, the others inside
# it. The kernel's fused swish first used a scalar exp per element (262 us
# fused against 94 us for the conv plus torch's silu_ at 80x22x22x3x3x3); its
# vectorised exp now makes the two about equal (72 / 60, 102 / 101 and
# 54 / 61 us at 80x22², 40x43², 184x11²), so either choice is fine.
KERNEL_FUSED_ACTIVATIONS = ("relu", "relu6", "hardswish")


def split_activation(name: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(activation to fuse into a causal dwconv kernel, activation to apply after)."""
    return (name, None) if name is None or name in KERNEL_FUSED_ACTIVATIONS else (None, name)


def activate(y: Tensor, name: Optional[str]) -> Tensor:
    """The activation ``name`` applied by torch: in place on a fresh
    intermediate, out of place when autograd needs the input."""
    if name is None:
        return y
    if torch.is_grad_enabled() and y.requires_grad:
        return apply_activation_(y.clone(), name)
    return apply_activation_(y, name)


def apply_activation_(y: Tensor, name: Optional[str]) -> Tensor:
    """The activation, in place on a fresh intermediate."""
    if name is None:
        return y
    if name == "swish":
        return F.silu(y, inplace=True)
    if name == "hardswish":
        return F.hardswish(y, inplace=True)
    if name == "relu":
        return F.relu(y, inplace=True)
    return F.relu6(y, inplace=True)
