"""Temporal Focus Convolution cases: the fused module against SqueezeTime's
chain of modules, eval mode, on the SqueezeTime-K400 layers."""

from __future__ import annotations

from functools import partial
from typing import Sequence

import torch
from torch import Tensor

from ..nn.temporal_focus_conv2d import TemporalFocusConv2d
from ..ops.temporal_focus_conv2d import TemporalFocusConv2dReference
from .case import Case, to_device

# SqueezeTime-K400 TFC layers (16 frames squeezed into the channels): (C, H=W),
# all 1x1, stride 1, C_in = C_out; the first stage also with a 3x3 kernel.
TFC_STAGES = ((64, 56), (128, 28), (256, 14), (512, 7))
TFC_BATCHES = (1, 8)
TFC_KERNEL3_STAGE = (64, 56)


def _make_tfc(shape: Sequence[int], kernel: int) -> tuple[Tensor, torch.nn.Module, torch.nn.Module]:
    """x, the upstream module chain and the fused module, in eval mode with
    the same weights and non-trivial BatchNorm statistics; deterministic, so
    that every call builds the same modules."""
    n, c, h, w = shape
    with torch.random.fork_rng():
        torch.manual_seed(2)
        fused = TemporalFocusConv2d(c, c, kernel, padding=kernel // 2).eval()
        bn = fused.param_conv[2]
        with torch.no_grad():
            bn.running_mean.normal_(0, 0.1)
            bn.running_var.uniform_(0.5, 2.0)
    upstream = TemporalFocusConv2dReference(c, c, kernel, padding=kernel // 2).eval()
    upstream.load_state_dict(fused.state_dict())
    generator = torch.Generator().manual_seed(0)
    return to_device((torch.randn(shape, generator=generator), upstream, fused))


# Inference as a user runs it: no autograd graph for either side.
@torch.no_grad()
def _tfc_upstream(x: Tensor, upstream: torch.nn.Module, fused: torch.nn.Module):
    return upstream(x)


@torch.no_grad()
def _tfc_fused(x: Tensor, upstream: torch.nn.Module, fused: torch.nn.Module):
    return fused(x)


def _conv_flops(shape: Sequence[int], kernel: int) -> int:
    """Multiply-adds x 2 of the conv (C_in = C_out, 'same' padding, stride 1);
    the pool and the gate add under 0.1%."""
    n, c, h, w = shape
    return 2 * n * c * c * kernel * kernel * h * w


def cases() -> list[Case]:
    """TFC: the fused module against SqueezeTime's chain of modules, eval mode."""
    shapes = [(1, (n, c, hw, hw)) for n in TFC_BATCHES for c, hw in TFC_STAGES]
    c, hw = TFC_KERNEL3_STAGE
    shapes += [(3, (n, c, hw, hw)) for n in TFC_BATCHES]
    return [
        Case(f"tfc {k}x{k}", shape, "NCHW", partial(_make_tfc, shape, k), _tfc_upstream, _tfc_fused, exact=False,
             flops=_conv_flops(shape, k), name=f"tfc {k}x{k} {shape[1]}ch {shape[2]}² batch {shape[0]}")
        for k, shape in shapes
    ]

