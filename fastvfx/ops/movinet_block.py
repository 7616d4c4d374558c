"""Fused MoViNet block stream step: functional API, fake kernel and the
pure-PyTorch reference.

One frame ``x`` (N, C_in, 1, H, W) of a stream goes through a MoViNet block
whose BatchNorms are folded, in one op call: the 1x1 expansion and its
activation, the causal depthwise unit(s) (each with its activation; a unit
with kT > 1 steps its :class:`StreamState`), the squeeze-excitation whose
pooling is the running average over the stream, the 1x1 projection with the
SE gate folded into its weights, and the residual (the input, or a TF-"same"
3x3 average pool with the block's stride and a 1x1 projection). Inference
only; the states and the SE running sum are updated in place.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .causal_dwconv3d import (
    StreamState,
    _apply_activation,
    causal_dwconv3d_reference,
    causal_dwconv3d_stream_reference,
    spatial_padding,
)

_OP = "fastvfx.movinet_block_step"
GATES = ("sigmoid", "hardsigmoid")


def movinet_block_step(
    x: Tensor,
    expand_weight: Tensor,
    expand_bias: Tensor,
    dw_weights: Sequence[Tensor],
    dw_biases: Sequence[Tensor],
    dw_strides: Sequence[int],
    states: Sequence[StreamState],
    se_weight1: Tensor,
    se_bias1: Tensor,
    se_weight2: Tensor,
    se_bias2: Tensor,
    se_total: Tensor,
    count: Tensor,
    project_weight: Tensor,
    project_bias: Tensor,
    shortcut_weight: Optional[Tensor] = None,
    shortcut_bias: Optional[Tensor] = None,
    activation: str = "swish",
    gate: str = "sigmoid",
    both_pools: bool = False,
) -> Tensor:
    """The block's output (N, C_out, 1, H', W') for the next frame ``x``.

    Weights are those of the folded block: ``expand_weight`` (E, C_in),
    ``dw_weights[u]`` (E, 1, kT, kH, kW) with spatial stride ``dw_strides[u]``,
    ``se_weight1`` (S, E, or 2E with ``both_pools``: the frame's mean is
    appended to the running average), ``se_weight2`` (E, S),
    ``project_weight`` (C_out, E), ``shortcut_weight`` (C_out, C_in) or None
    (identity residual); every bias is a vector. ``states`` holds one
    :class:`StreamState` per unit with kT > 1, in unit order; ``se_total``
    (N, E, 1, 1, 1) is the running sum of the frame means and ``count`` (int64,
    one element) the position of ``x`` in the stream, from 1. ``activation``:
    "swish", "hardswish", "relu", "relu6" or "none"; ``gate``: "sigmoid" or
    "hardsigmoid". Nothing is written when an argument does not fit.
    """
    _refuse_grad(x, expand_weight, project_weight, dw_weights)
    return torch.ops.fastvfx.movinet_block_step(
        x, expand_weight, expand_bias, list(dw_weights), list(dw_biases), list(dw_strides),
        [s.buffer for s in states], [s.position for s in states], [s.padded for s in states],
        se_weight1, se_bias1, se_weight2, se_bias2, se_total, count, both_pools, project_weight, project_bias,
        shortcut_weight, shortcut_bias, activation, gate,
    )


def _refuse_grad(x: Tensor, expand_weight: Tensor, project_weight: Tensor, dw_weights: Sequence[Tensor]) -> None:
    """The op has no autograd: under grad mode its output would silently
    carry no gradient to the weights."""
    if not torch.is_grad_enabled():
        return
    if any(t.requires_grad for t in (x, expand_weight, project_weight, *dw_weights)):
        raise RuntimeError(
            f"{_OP}: the block step is inference-only (no autograd), but an input requires grad; run it under "
            "torch.no_grad() or torch.inference_mode(), or train with the model's clip forward"
        )


# ---------------------------------------------------------------------------
# Reference: pure PyTorch, as MoViNet's PyTorch port steps a block.
# ---------------------------------------------------------------------------


def _gate(logits: Tensor, gate: str) -> Tensor:
    return torch.sigmoid(logits) if gate == "sigmoid" else F.hardsigmoid(logits)


def _conv1x1(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    return F.conv3d(x, weight[:, :, None, None, None], bias)


def _same_avg_pool(x: Tensor, stride: int) -> Tensor:
    """TF-"same" 3x3 average pooling of (N, C, T, H, W), padding excluded from the mean."""
    _, top, bottom = spatial_padding(x.size(3), 3, stride, None)
    _, left, right = spatial_padding(x.size(4), 3, stride, None)
    pad = (left, right, top, bottom)
    summed = F.avg_pool3d(F.pad(x, pad), (1, 3, 3), (1, stride, stride))
    valid = F.avg_pool3d(F.pad(torch.ones_like(x[:1, :1]), pad), (1, 3, 3), (1, stride, stride))
    return summed / valid


def movinet_block_step_reference(
    x: Tensor,
    expand_weight: Tensor,
    expand_bias: Tensor,
    dw_weights: Sequence[Tensor],
    dw_biases: Sequence[Tensor],
    dw_strides: Sequence[int],
    buffers: Sequence[Tensor],
    se_weight1: Tensor,
    se_bias1: Tensor,
    se_weight2: Tensor,
    se_bias2: Tensor,
    se_total: Tensor,
    count: Tensor,
    project_weight: Tensor,
    project_bias: Tensor,
    shortcut_weight: Optional[Tensor] = None,
    shortcut_bias: Optional[Tensor] = None,
    activation: str = "swish",
    gate: str = "sigmoid",
    both_pools: bool = False,
) -> tuple[Tensor, list[Tensor], Tensor]:
    """The block step with ``F.conv3d``, ``torch.cat`` of each unit's last
    kT-1 input frames (``buffers``, oldest first) and the SE on pooled
    ``(N, C, 1, 1, 1)`` maps. Returns (y, new buffers, new se_total)."""
    y = _apply_activation(_conv1x1(x, expand_weight, expand_bias), activation)
    new_buffers = []
    for weight, bias, stride in zip(dw_weights, dw_biases, dw_strides):
        if weight.size(2) > 1:
            y, kept = causal_dwconv3d_stream_reference(y, weight, bias, buffers[len(new_buffers)], stride, "same",
                                                       activation)
            new_buffers.append(kept)
        else:
            y = causal_dwconv3d_reference(y, weight, bias, stride, "same", activation)
    frame_mean = y.mean((3, 4), keepdim=True)
    total = se_total + frame_mean
    pooled = total / count
    if both_pools:
        pooled = torch.cat((pooled, frame_mean), dim=1)
    hidden = _apply_activation(_conv1x1(pooled, se_weight1, se_bias1), activation)
    scale = _gate(_conv1x1(hidden, se_weight2, se_bias2), gate)
    out = _conv1x1(y * scale, project_weight, project_bias)
    if shortcut_weight is None:
        return out + x, new_buffers, total
    stride = 1
    for s in dw_strides:
        stride *= s
    residual = _same_avg_pool(x, stride) if stride > 1 else x
    return out + _conv1x1(residual, shortcut_weight, shortcut_bias), new_buffers, total


# ---------------------------------------------------------------------------
# Fake kernel
# ---------------------------------------------------------------------------


@torch.library.register_fake("fastvfx::movinet_block_step")
def _movinet_block_step_fake(x, expand_weight, expand_bias, dw_weights, dw_biases, dw_strides, buffers, positions,
                             paddeds, se_weight1, se_bias1, se_weight2, se_bias2, se_total, count, both_pools,
                             project_weight, project_bias, shortcut_weight, shortcut_bias, activation, gate):
    torch._check(x.dim() == 5 and x.shape[2] == 1,
                 lambda: f"{_OP}: expected one frame x of shape (N, C, 1, H, W), got {tuple(x.shape)}")
    torch._check(x.dtype in (torch.float32, torch.float64), lambda: f"{_OP}: supports float32 and float64, got {x.dtype}")
    torch._check(len(dw_weights) == len(dw_biases) == len(dw_strides) > 0,
                 lambda: f"{_OP}: dw_weights, dw_biases and dw_strides must be equally long and not empty")
    torch._check(project_weight.dim() == 2 and project_weight.shape[1] == expand_weight.shape[0],
                 lambda: f"{_OP}: project_weight must be (C_out, {expand_weight.shape[0]})")
    h, w = x.shape[3], x.shape[4]
    for stride in dw_strides:
        h, w = -(-h // stride), -(-w // stride)
    return x.new_empty((x.shape[0], project_weight.shape[0], 1, h, w))
