"""Temporal shift (TSM): functional API, fake kernels, autograd, references.

Shapes follow TSM: ``x`` is ``(N*T, C, H, W)``, frames of one clip adjacent,
``fold = C // fold_div``.

- ``"bidirectional"`` (TSM offline): channels ``[0, fold)`` take frame ``t+1``
  (the last frame gets zeros), channels ``[fold, 2*fold)`` take frame ``t-1``
  (the first frame gets zeros), the rest are unchanged.
- ``"past"`` (uni-directional, TSM online): channels ``[0, fold)`` take frame
  ``t-1`` (the first frame gets zeros).

``C < fold_div`` gives ``fold = 0``: the shift is the identity, as in TSM's
own code. All floating dtypes are supported; the shift moves bytes, so every
result is bit-exact.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _C

_MODES = ("bidirectional", "past")
_temporal_shift_op = torch.ops.fastvfx.temporal_shift.default
_temporal_shift_inplace_op = torch.ops.fastvfx.temporal_shift_.default
# The eager path's calls, bound once: a small stage's shift takes a few us, and
# the attribute lookups of torch.compiler.is_compiling and friends, and
# OpOverload.__call__'s frame, cost ~0.8 us of it (one thread, 8x8x2x2).
# A plain tensor goes through _C's typed dispatcher call (every dispatch key
# still applies); one with __torch_function__ (a subclass, or under a
# TorchFunctionMode) through torch.ops, which handles it. Traced code
# (torch.compile, export) calls the OpOverloads themselves.
_is_grad_enabled = torch.is_grad_enabled
_is_compiling = torch.compiler.is_compiling
_is_exporting = torch.compiler.is_exporting
_has_torch_function = torch._C._has_torch_function_unary
_temporal_shift_eager = _C._temporal_shift
_temporal_shift_inplace_eager = _C._temporal_shift_

# ---------------------------------------------------------------------------
# Functional API
# ---------------------------------------------------------------------------


def temporal_shift(x: Tensor, n_segment: int, fold_div: int = 8, mode: str = "bidirectional") -> Tensor:
    """Shifted copy of ``x`` (N*T, C, H, W); the output keeps x's memory
    format (contiguous or channels_last). Differentiable."""
    # The autograd kernel is C++ (csrc/ops/temporal_shift.cpp): with nothing
    # to record it costs a branch.
    if _is_compiling() or _has_torch_function(x):
        return _temporal_shift_op(x, n_segment, fold_div, mode, False)
    return _temporal_shift_eager(x, n_segment, fold_div, mode, False)


def temporal_shift_(x: Tensor, n_segment: int, fold_div: int = 8, mode: str = "bidirectional") -> Tensor:
    """Shift ``x`` in place and return it. Only the ``2*fold`` (``"past"``:
    ``fold``) shifted channels are touched.

    Under autograd the input is marked dirty (its version counter moves), so a
    tensor saved for backward elsewhere cannot be silently corrupted, and the
    gradient is the opposite shift. Never shift a tensor in place that is still
    needed unshifted (such as a residual identity).
    """
    if _is_exporting():
        # torch.export wraps a mutating custom op in auto_functionalized, which
        # the ONNX exporter cannot translate: record the out-of-place op.
        return x.copy_(torch.ops.fastvfx.temporal_shift(x, n_segment, fold_div, mode, False))
    if _is_grad_enabled() and x.requires_grad:
        return _TemporalShiftInplace.apply(x, n_segment, fold_div, mode)
    if _is_compiling() or _has_torch_function(x):
        _temporal_shift_inplace_op(x, n_segment, fold_div, mode, False)
    else:
        _temporal_shift_inplace_eager(x, n_segment, fold_div, mode, False)
    return x


def temporal_shift_online_(x: Tensor, cache: Tensor) -> tuple[Tensor, Tensor]:
    """One step of online (streaming) TSM, in place, without allocation.

    ``x`` (N, C, H, W) is the current frame and ``cache`` (N, fold, H, W) holds
    channels ``[0, fold)`` of the previous frame (zeros before the first). The
    two are swapped: afterwards ``x[:, :fold]`` holds the previous frame's
    channels and ``cache`` the current ones, ready for the next frame. ``x`` and
    ``cache`` must share the memory format (both contiguous or both
    channels_last). Returns ``(x, cache)``.
    """
    if torch.compiler.is_exporting():
        # As in temporal_shift_: the swap as out-of-place ops (a concat, which
        # exports as one node where a slice assignment becomes a scatter).
        fold = cache.size(1)
        current = x[:, :fold].clone()
        x.copy_(torch.cat((cache, x[:, fold:]), dim=1))
        return x, cache.copy_(current)
    if torch.is_grad_enabled() and (x.requires_grad or cache.requires_grad):
        return _TemporalShiftOnlineInplace.apply(x, cache)
    torch.ops.fastvfx.temporal_shift_online_(x, cache)
    return x, cache


def shift_conv1x1(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    n_segment: int = 8,
    fold_div: int = 8,
    mode: str = "bidirectional",
) -> Tensor:
    """``conv2d(temporal_shift(x), weight, bias)`` for a 1x1 convolution
    (stride 1, no padding, groups 1), computed without materialising the
    shifted tensor: each tile of the GEMM operand is gathered from its source
    frame as it is read. ``weight`` is ``(C_out, C_in, 1, 1)`` or
    ``(C_out, C_in)``. Differentiable."""
    return torch.ops.fastvfx.shift_conv1x1(x, weight, bias, n_segment, fold_div, mode)


# ---------------------------------------------------------------------------
# References: the pure-PyTorch formulations, written as TSM writes them.
# ---------------------------------------------------------------------------


def temporal_shift_reference(x: Tensor, n_segment: int, fold_div: int = 8, mode: str = "bidirectional") -> Tensor:
    """TSM's ``TemporalShift.shift`` (offline), and its uni-directional form."""
    nt, c, h, w = x.size()
    n_batch = nt // n_segment
    x = x.view(n_batch, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    if mode == "bidirectional":
        out[:, :-1, :fold] = x[:, 1:, :fold]  # shift left
        out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]  # shift right
        out[:, :, 2 * fold :] = x[:, :, 2 * fold :]  # not shift
    elif mode == "past":
        out[:, 1:, :fold] = x[:, :-1, :fold]
        out[:, :, fold:] = x[:, :, fold:]
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return out.view(nt, c, h, w)


def temporal_shift_online_reference(x: Tensor, shift_buffer: Tensor) -> tuple[Tensor, Tensor]:
    """TSM's online demo step: returns (shifted frame, new shift buffer)."""
    fold = shift_buffer.size(1)
    x1, x2 = x[:, :fold], x[:, fold:]
    return torch.cat((shift_buffer, x2), dim=1), x1


def shift_conv1x1_reference(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    n_segment: int = 8,
    fold_div: int = 8,
    mode: str = "bidirectional",
) -> Tensor:
    """Shift, then a plain 1x1 conv: what TSM's residual shift + conv computes."""
    if weight.dim() == 2:
        weight = weight[:, :, None, None]
    return F.conv2d(temporal_shift_reference(x, n_segment, fold_div, mode), weight, bias)


# ---------------------------------------------------------------------------
# Fake (meta) kernels: shapes, memory formats and the same argument checks as
# the C++ kernels, for torch.compile / FakeTensor.
# ---------------------------------------------------------------------------


def _memory_format_of(x: Tensor) -> torch.memory_format:
    if x.is_contiguous():
        return torch.contiguous_format
    if x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _check_shift_args(x: Tensor, n_segment: int, fold_div: int, mode: str, op: str) -> None:
    torch._check(x.dim() == 4, lambda: f"{op}: expected x of shape (N*T, C, H, W), got a {x.dim()}-D tensor")
    torch._check(x.dtype.is_floating_point, lambda: f"{op}: expected a floating-point tensor, got {x.dtype}")
    torch._check(n_segment >= 1, lambda: f"{op}: n_segment must be >= 1, got {n_segment}")
    torch._check(fold_div >= 1, lambda: f"{op}: fold_div must be >= 1, got {fold_div}")
    torch._check(mode in _MODES, lambda: f"{op}: mode must be 'bidirectional' or 'past', got {mode!r}")
    torch._check(
        x.size(0) % n_segment == 0,
        lambda: f"{op}: the first dimension (N*T = {x.size(0)}) must be divisible by n_segment = {n_segment}",
    )


@torch.library.register_fake("fastvfx::temporal_shift")
def _temporal_shift_fake(x, n_segment, fold_div=8, shift_mode="bidirectional", reverse=False):
    _check_shift_args(x, n_segment, fold_div, shift_mode, "fastvfx.temporal_shift")
    return torch.empty_like(x, memory_format=_memory_format_of(x))


@torch.library.register_fake("fastvfx::temporal_shift_")
def _temporal_shift_inplace_fake(x, n_segment, fold_div=8, shift_mode="bidirectional", reverse=False):
    _check_shift_args(x, n_segment, fold_div, shift_mode, "fastvfx.temporal_shift_")


@torch.library.register_fake("fastvfx::temporal_shift_online_")
def _temporal_shift_online_fake(x, cache):
    op = "fastvfx.temporal_shift_online_"
    torch._check(x.dim() == 4 and cache.dim() == 4, lambda: f"{op}: expected 4-D x and cache")
    torch._check(cache.dtype == x.dtype, lambda: f"{op}: cache dtype {cache.dtype} does not match x dtype {x.dtype}")
    torch._check(cache.device == x.device, lambda: f"{op}: cache is on {cache.device} but x is on {x.device}")
    torch._check(
        cache.size(0) == x.size(0) and cache.shape[2:] == x.shape[2:] and cache.size(1) <= x.size(1),
        lambda: f"{op}: cache of shape {tuple(cache.shape)} does not fit x of shape {tuple(x.shape)}",
    )


@torch.library.register_fake("fastvfx::shift_conv1x1")
def _shift_conv1x1_fake(x, weight, bias, n_segment, fold_div=8, shift_mode="bidirectional"):
    op = "fastvfx.shift_conv1x1"
    _check_shift_args(x, n_segment, fold_div, shift_mode, op)
    torch._check(
        weight.dim() == 2 or (weight.dim() == 4 and weight.size(2) == 1 and weight.size(3) == 1),
        lambda: f"{op}: weight must be (C_out, C_in, 1, 1) or (C_out, C_in)",
    )
    torch._check(weight.size(1) == x.size(1), lambda: f"{op}: weight and x disagree on input channels")
    out = x.new_empty((x.size(0), weight.size(0), x.size(2), x.size(3)))
    return out.contiguous(memory_format=_memory_format_of(x))


# ---------------------------------------------------------------------------
# Autograd. The shift's adjoint is the opposite shift (reverse=True); the
# out-of-place shift's autograd kernel is C++ (csrc/ops/temporal_shift.cpp).
# ---------------------------------------------------------------------------


class _TemporalShiftInplace(torch.autograd.Function):
    # torch.library autograd does not cover mutating ops, so the in-place shift
    # gets a Function that marks its input dirty.
    @staticmethod
    def forward(ctx, x, n_segment, fold_div, mode):
        torch.ops.fastvfx.temporal_shift_(x, n_segment, fold_div, mode, False)
        ctx.mark_dirty(x)
        ctx.args = (n_segment, fold_div, mode)
        return x

    @staticmethod
    def backward(ctx, grad):
        # Out of place: the incoming gradient may be shared with other branches.
        return torch.ops.fastvfx.temporal_shift(grad, *ctx.args, True), None, None, None


class _TemporalShiftOnlineInplace(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, cache):
        torch.ops.fastvfx.temporal_shift_online_(x, cache)
        ctx.mark_dirty(x, cache)
        ctx.fold = cache.size(1)
        return x, cache

    @staticmethod
    def backward(ctx, grad_x, grad_cache):
        # x_out[:, :fold] = cache_in, x_out[:, fold:] = x_in[:, fold:], cache_out = x_in[:, :fold]
        fold = ctx.fold
        gx = grad_x.clone()
        if grad_cache is None:
            gx[:, :fold] = 0
        else:
            gx[:, :fold] = grad_cache
        return gx, grad_x[:, :fold].clone()


def _shift_conv1x1_setup(ctx, inputs, output):
    x, weight, bias, n_segment, fold_div, mode = inputs
    ctx.save_for_backward(x, weight)
    ctx.args = (n_segment, fold_div, mode)
    ctx.has_bias = bias is not None


def _shift_conv1x1_backward(ctx, grad):
    x, weight = ctx.saved_tensors
    n_segment, fold_div, mode = ctx.args
    w2 = weight.reshape(weight.size(0), weight.size(1))
    grad_x = grad_w = grad_b = None
    if ctx.needs_input_grad[0]:
        grad_shifted = F.conv2d(grad, w2.t()[:, :, None, None])
        grad_x = torch.ops.fastvfx.temporal_shift(grad_shifted, n_segment, fold_div, mode, True)
    if ctx.needs_input_grad[1]:
        shifted = torch.ops.fastvfx.temporal_shift(x, n_segment, fold_div, mode, False)
        grad_w = torch.einsum("fohw,fihw->oi", grad, shifted).reshape(weight.shape)
    if ctx.has_bias and ctx.needs_input_grad[2]:
        grad_b = grad.sum((0, 2, 3))
    return grad_x, grad_w, grad_b, None, None, None


torch.library.register_autograd(
    "fastvfx::shift_conv1x1", _shift_conv1x1_backward, setup_context=_shift_conv1x1_setup
)
