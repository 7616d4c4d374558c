"""Fused inverted residual block (MobileNetV2; TSM's shift on read):
functional API, weight packing, fake kernels and the pure-PyTorch reference.

One call runs a whole block with its BatchNorms folded: the 1x1 expansion
and its activation, the k x k depthwise conv (stride 1 or 2, padding k // 2)
and its activation, the 1x1 projection and the residual. The expanded
tensor is never written: each thread expands the rows a band of output rows
needs into a ring of rows that stays in cache, and the bias, activations and
residual are applied in the GEMM tiles (``csrc/kernels/inverted_residual``).
TSM's temporal shift of the block input happens while the expansion reads
it, and the residual adds the unshifted input, as in TSM. Inference only
(float32, CPU); the weights are packed once (:func:`pack_weights`).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .causal_dwconv3d import _apply_activation
from .temporal_shift import temporal_shift_online_reference, temporal_shift_reference

_OP = "fastvfx.inverted_residual"
_STEP_OP = "fastvfx.inverted_residual_step"
# Output channels per packed weight panel (csrc/kernels/include/fastvfx/inverted_residual.h).
PANEL = 32
SHIFTS = ("bidirectional", "past")


class InvertedResidualWeights(NamedTuple):
    """A block's folded weights in the kernel's layout (:func:`pack_weights`)."""

    expand_weight: Optional[Tensor]  # (ceil(hidden / 32), C_in, 32) or None
    expand_bias: Optional[Tensor]  # (round_up(hidden, 32),)
    dw_weight: Tensor  # (k * k, round_up(hidden, 32))
    dw_bias: Tensor
    project_weight: Tensor  # (ceil(C_out / 32), round_up(hidden, 32), 32)
    project_bias: Tensor  # (round_up(C_out, 32),)
    in_channels: int
    hidden: int
    out_channels: int
    kernel_size: int


def _padded(n: int) -> int:
    return -(-n // PANEL) * PANEL


def _pack_pointwise(weight: Tensor, k_padded: int) -> Tensor:
    """(out, in) -> (ceil(out / 32), k_padded, 32) panels, zeros past out and in."""
    out, cin = weight.shape
    buf = weight.new_zeros(_padded(out), k_padded)
    buf[:out, :cin] = weight
    return buf.view(-1, PANEL, k_padded).transpose(1, 2).contiguous()


def _padded_vector(v: Optional[Tensor], n: int, like: Tensor) -> Tensor:
    buf = like.new_zeros(_padded(n))
    if v is not None:
        buf[:n] = v
    return buf


def pack_weights(expand_weight: Optional[Tensor], expand_bias: Optional[Tensor], dw_weight: Tensor,
                 dw_bias: Optional[Tensor], project_weight: Tensor,
                 project_bias: Optional[Tensor]) -> InvertedResidualWeights:
    """The kernel's layout of a block's (folded) weights, in PyTorch's conv
    layouts: ``expand_weight`` (hidden, C_in[, 1, 1]) or None (no expansion:
    hidden = C_in), ``dw_weight`` (hidden, 1, k, k), ``project_weight``
    (C_out, hidden[, 1, 1]); biases are vectors or None (zeros). Pack once and
    reuse: the models cache it with the BatchNorm fold."""
    with torch.no_grad():
        dw_weight = dw_weight.detach().float()
        hidden, k = dw_weight.shape[0], dw_weight.shape[-1]
        if dw_weight.dim() != 4 or dw_weight.shape[1] != 1 or dw_weight.shape[2] != k:
            raise ValueError(f"{_OP}: dw_weight must be (hidden, 1, k, k), got {tuple(dw_weight.shape)}")
        project = project_weight.detach().float().reshape(project_weight.shape[0], -1)
        if project.shape[1] != hidden:
            raise ValueError(f"{_OP}: project_weight must be (C_out, {hidden}), got {tuple(project_weight.shape)}")
        hp = _padded(hidden)
        if expand_weight is not None:
            expand = expand_weight.detach().float().reshape(expand_weight.shape[0], -1)
            if expand.shape[0] != hidden:
                raise ValueError(f"{_OP}: expand_weight must be ({hidden}, C_in), got {tuple(expand_weight.shape)}")
            in_channels = expand.shape[1]
            packed_expand = _pack_pointwise(expand, in_channels)
            packed_expand_bias = _padded_vector(expand_bias, hidden, dw_weight)
        else:
            in_channels, packed_expand, packed_expand_bias = hidden, None, None
        dw = dw_weight.new_zeros(hp, k * k)
        dw[:hidden] = dw_weight.reshape(hidden, k * k)
        return InvertedResidualWeights(
            packed_expand, packed_expand_bias, dw.t().contiguous(), _padded_vector(dw_bias, hidden, dw_weight),
            _pack_pointwise(project, hp), _padded_vector(project_bias, project.shape[0], dw_weight),
            in_channels, hidden, project.shape[0], k,
        )


def _refuse_grad(op: str, x: Tensor) -> None:
    """The op has no autograd: under grad mode its output would silently
    carry no gradient."""
    if torch.is_grad_enabled() and x.requires_grad:
        raise RuntimeError(f"{op}: the fused block is inference-only (no autograd), but x requires grad; run it under "
                           "torch.no_grad() or torch.inference_mode(), or train with the block's modules")


def _activations(activation: Optional[str], dw_activation: Optional[str]) -> tuple[str, str]:
    expand = activation or "none"
    return expand, expand if dw_activation is None else (dw_activation or "none")


def inverted_residual(x: Tensor, weights: InvertedResidualWeights, stride: int = 1, residual: bool = False,
                      activation: Optional[str] = "relu6", dw_activation: Optional[str] = None,
                      shift: Optional[str] = None, n_segment: int = 8, fold_div: int = 8) -> Tensor:
    """The block's output (N, C_out, H', W'), channels_last, for ``x`` (N, C_in,
    H, W) (channels_last is read directly; other layouts are converted).

    ``activation`` follows the expansion and, unless ``dw_activation`` is given,
    the depthwise conv ("relu6" in MobileNetV2; "relu", "hardswish", "swish" or
    None). ``residual`` adds ``x`` (stride 1, C_in == C_out). ``shift``
    "bidirectional" or "past" applies TSM's temporal shift to ``x`` (clips of
    ``n_segment`` frames, ``C_in // fold_div`` channels per direction) as the
    block reads it; the residual is the unshifted ``x``.
    """
    _refuse_grad(_OP, x)
    if shift is not None and shift not in SHIFTS:
        raise ValueError(f"{_OP}: shift must be None, 'bidirectional' or 'past', got {shift!r}")
    if fold_div < 1:
        raise ValueError(f"{_OP}: fold_div must be >= 1, got {fold_div}")
    expand_act, dw_act = _activations(activation, dw_activation)
    fold = x.size(1) // fold_div if x.dim() == 4 else 0
    w = weights
    return torch.ops.fastvfx.inverted_residual.default(
        x, w.expand_weight, w.expand_bias, w.dw_weight, w.dw_bias, w.project_weight, w.project_bias, w.hidden,
        w.out_channels, w.kernel_size, stride, residual, expand_act, dw_act, shift or "none", n_segment, fold,
    )


def inverted_residual_step(x: Tensor, cache: Tensor, weights: InvertedResidualWeights, stride: int = 1,
                           residual: bool = False, activation: Optional[str] = "relu6",
                           dw_activation: Optional[str] = None) -> Tensor:
    """One frame ``x`` (N, C_in, H, W) of online TSM through the block:
    channels ``[0, fold)`` are read from ``cache`` (N, fold, H, W), the
    previous frame's, and the residual is the unshifted ``x``. Afterwards
    ``cache`` holds this frame's channels ``[0, fold)``. Arguments as
    :func:`inverted_residual`."""
    _refuse_grad(_STEP_OP, x)
    expand_act, dw_act = _activations(activation, dw_activation)
    w = weights
    return torch.ops.fastvfx.inverted_residual_step.default(
        x, cache, w.expand_weight, w.expand_bias, w.dw_weight, w.dw_bias, w.project_weight, w.project_bias,
        w.hidden, w.out_channels, w.kernel_size, stride, residual, expand_act, dw_act,
    )


# ---------------------------------------------------------------------------
# Reference: pure PyTorch, as torchvision's MobileNetV2 and TSM write the block.
# ---------------------------------------------------------------------------


def inverted_residual_reference(x: Tensor, expand_weight: Optional[Tensor], expand_bias: Optional[Tensor],
                                dw_weight: Tensor, dw_bias: Optional[Tensor], project_weight: Tensor,
                                project_bias: Optional[Tensor], stride: int = 1, residual: bool = False,
                                activation: Optional[str] = "relu6", dw_activation: Optional[str] = None,
                                shift: Optional[str] = None, n_segment: int = 8, fold_div: int = 8) -> Tensor:
    """``conv(shift(x)) (+ x)`` with ``conv`` = 1x1, act, depthwise k x k, act,
    1x1 as ``F.conv2d`` calls (weights in PyTorch's layouts, as
    :func:`pack_weights` takes them)."""
    expand_act, dw_act = (None if a == "none" else a for a in _activations(activation, dw_activation))
    h = temporal_shift_reference(x, n_segment, fold_div, shift) if shift is not None else x
    if expand_weight is not None:
        h = _apply_activation(F.conv2d(h, expand_weight.reshape(expand_weight.shape[0], -1, 1, 1), expand_bias),
                              expand_act)
    k = dw_weight.shape[-1]
    h = _apply_activation(F.conv2d(h, dw_weight, dw_bias, stride, k // 2, groups=dw_weight.shape[0]), dw_act)
    y = F.conv2d(h, project_weight.reshape(project_weight.shape[0], -1, 1, 1), project_bias)
    return y + x if residual else y


def inverted_residual_step_reference(x: Tensor, cache: Tensor, expand_weight: Optional[Tensor],
                                     expand_bias: Optional[Tensor], dw_weight: Tensor, dw_bias: Optional[Tensor],
                                     project_weight: Tensor, project_bias: Optional[Tensor], stride: int = 1,
                                     residual: bool = False, activation: Optional[str] = "relu6",
                                     dw_activation: Optional[str] = None) -> tuple[Tensor, Tensor]:
    """TSM's online step (``torch.cat`` of the cache and the frame's other
    channels) through the block; returns (y, new cache)."""
    shifted, new_cache = temporal_shift_online_reference(x, cache)
    y = inverted_residual_reference(shifted, expand_weight, expand_bias, dw_weight, dw_bias, project_weight,
                                    project_bias, stride, False, activation, dw_activation)
    return (y + x if residual else y), new_cache


# ---------------------------------------------------------------------------
# Fake kernels
# ---------------------------------------------------------------------------


def _fake_output(op: str, x: Tensor, out_channels: int, kernel_size: int, stride: int) -> Tensor:
    torch._check(x.dim() == 4, lambda: f"{op}: expected x of shape (N, C, H, W), got {tuple(x.shape)}")
    torch._check(x.dtype == torch.float32, lambda: f"{op}: supports float32 only, got {x.dtype}")
    torch._check(kernel_size >= 1 and kernel_size % 2 == 1, lambda: f"{op}: kernel_size must be odd and positive")
    torch._check(1 <= stride <= 8, lambda: f"{op}: stride must be in [1, 8], got {stride}")
    h = (x.shape[2] - 1) // stride + 1
    w = (x.shape[3] - 1) // stride + 1
    return torch.empty((x.shape[0], out_channels, h, w), dtype=x.dtype, device=x.device,
                       memory_format=torch.channels_last)


@torch.library.register_fake("fastvfx::inverted_residual")
def _inverted_residual_fake(x, expand_weight, expand_bias, dw_weight, dw_bias, project_weight, project_bias, hidden,
                            out_channels, kernel_size, stride, residual, expand_activation, dw_activation, shift,
                            n_segment, fold):
    return _fake_output(_OP, x, out_channels, kernel_size, stride)


@torch.library.register_fake("fastvfx::inverted_residual_step")
def _inverted_residual_step_fake(x, cache, expand_weight, expand_bias, dw_weight, dw_bias, project_weight,
                                 project_bias, hidden, out_channels, kernel_size, stride, residual, expand_activation,
                                 dw_activation):
    return _fake_output(_STEP_OP, x, out_channels, kernel_size, stride)
