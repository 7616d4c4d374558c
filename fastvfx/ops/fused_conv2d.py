"""Inference conv with its bias, activation and a residual fused, on the
core's pointwise kernels: functional API, weight packing, fake kernel and the
pure-PyTorch reference.

``act(conv2d(x) + bias)`` joined with a tensor ``r`` of the output's shape
(``residual_op`` "add": ``act(c + r)``, ResNet's ``relu(conv + x)``;
"add_after": ``act(c) + r``; "mul": ``act(c) * r``, SqueezeTime's gated IOI
conv) in one call: each output tile is one GEMM tile (output pixels by
output channels) whose input rows are read in place (a 1x1 conv on
channels_last x) or from a zero-padded channels-last copy of x (k x k, each
kernel row one contiguous run), and whose bias, residual and activation are
applied in registers before the only store. The models' inference paths run
their convs on it; the weight is packed once (:func:`pack_weight`). A 3x3
weight packed with ``winograd=2`` (or True) or ``winograd=4`` runs a
stride-1 conv by Winograd F(2x2, 3x3) or F(4x4, 3x3) on the same GEMM tiles
(2.25x or 4x fewer multiply-adds; the same sums up to rounding). float32 CPU tensors, groups 1, symmetric padding, no
autograd.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _C

from .causal_dwconv3d import _apply_activation
from .inverted_residual import _pack_pointwise

_OP = "fastvfx.fused_conv2d"
RESIDUAL_OPS = ("add", "add_after", "mul")


class PackedConvWeight(NamedTuple):
    """A conv's weight in the kernel's layout (:func:`pack_weight`)."""

    packed: Tensor  # (ceil(C_out / 32), kh * kw * C_in, 32); by Winograd (ceil(C_out / 32), 16 or 36, C_in, 32)
    out_channels: int
    kernel_size: tuple[int, int]


def pack_weight(weight: Tensor, winograd: Union[bool, int] = False) -> PackedConvWeight:
    """The kernel's layout of a conv weight (C_out, C_in, kh, kw) (or (C_out,
    C_in) for a 1x1 conv): (C_out, kh, kw, C_in) in panels of 32 outputs.
    ``winograd`` (a 3x3 kernel, for stride 1): 2 (or True) or 4, the output
    tile of Winograd F(2x2, 3x3) or F(4x4, 3x3); the weight transformed, each
    kernel's G w G^T ((m + 2) x (m + 2); F(2x2): G = [1 0 0; 1/2 1/2 1/2;
    1/2 -1/2 1/2; 0 0 1], F(4x4): on the points 0, 1, -1, 1/2, -2) as
    (C_out, 16 or 36, C_in), packed 4-D, which the op then runs with 2.25x
    or 4x fewer multiply-adds (see ``docs/models.md``, Winograd). F(4x4)
    rounds a little more: about 3e-6 of the output's scale at a few hundred
    input channels, against 1e-6."""
    tile = 2 if winograd is True else int(winograd or 0)
    if tile not in (0, 2, 4):
        raise ValueError(f"{_OP}: winograd must be False, True, 2 or 4, got {winograd!r}")
    with torch.no_grad():
        w = weight.detach().float()
        if w.dim() == 2:
            w = w[:, :, None, None]
        if w.dim() != 4:
            raise ValueError(f"{_OP}: weight must be (C_out, C_in, kh, kw), got {tuple(weight.shape)}")
        cout, _, kh, kw = w.shape
        if tile:
            if (kh, kw) != (3, 3):
                raise ValueError(f"{_OP}: Winograd F({tile}x{tile}, 3x3) packs a 3x3 kernel, got {kh}x{kw}")
            # each kernel's G w G^T as (C_out, 16 or 36, C_in), packed 4-D (so
            # that the op tells it from a direct packing of any shape)
            return PackedConvWeight(_C._pack_winograd(w.cpu(), tile), cout, (kh, kw))
        flat = w.permute(0, 2, 3, 1).reshape(cout, -1)
        return PackedConvWeight(_pack_pointwise(flat, flat.shape[1]), cout, (kh, kw))


def space_to_depth_weight(weight: Tensor) -> Tensor:
    """A 5x5 stride-2 conv's weight (C_out, C_in, 5, 5), padding 2, as the
    weight (C_out, 4 C_in, 3, 3) of the stride-1 conv, padding 1, on the 2x2
    space-to-depth of its input (``fastvfx._C._space_to_depth2``: channel
    2p C_in + 2c + q of pixel (a, b) is x[c, 2a + p, 2b + q]): tap (u, v)
    of phase (p, q) is the original's (2u + p, 2v + q), zero past the
    kernel. The same sums in another order; 3x3 and stride 1, it runs by
    Winograd (SqueezeTime's stem)."""
    if weight.dim() != 4 or tuple(weight.shape[2:]) != (5, 5):
        raise ValueError(f"{_OP}: space_to_depth_weight takes a 5x5 kernel, got {tuple(weight.shape)}")
    cout, cin = weight.shape[:2]
    padded = F.pad(weight, (0, 1, 0, 1))  # rows and columns 0..5: 2u + p with u < 3
    return padded.view(cout, cin, 3, 2, 3, 2).permute(0, 3, 1, 5, 2, 4).reshape(cout, 4 * cin, 3, 3)


def _pair(v) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v)


def _packed_for_inference(op: str, x: Tensor, weight: Union[Tensor, PackedConvWeight], bias: Optional[Tensor],
                          residual: Optional[Tensor]) -> PackedConvWeight:
    """``weight`` packed (unless it is), after refusing an input that requires
    grad (the ops have no autograd)."""
    tensors = [x, bias, residual] + ([weight] if isinstance(weight, Tensor) else [])
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        raise RuntimeError(f"{op}: inference-only (no autograd), but an input requires grad; run it under "
                           "torch.no_grad() or torch.inference_mode(), or use F.conv2d")
    return weight if isinstance(weight, PackedConvWeight) else pack_weight(weight)


def fused_conv2d(x: Tensor, weight: Union[Tensor, PackedConvWeight], bias: Optional[Tensor] = None,
                 stride: int = 1, padding=0, residual: Optional[Tensor] = None, activation: Optional[str] = None,
                 residual_op: str = "add") -> Tensor:
    """``conv2d(x, weight, bias, stride, padding)``, its activation
    (None, "relu", "relu6", "hardswish", "swish", "sigmoid") and ``residual``
    joined by ``residual_op`` (see the module docstring), channels_last (N,
    C_out, OH, OW). ``weight``: (C_out, C_in, kh, kw), packed on every call,
    or :func:`pack_weight`'s result. Inference only (float32 CPU, no
    autograd)."""
    weight = _packed_for_inference(_OP, x, weight, bias, residual)
    return torch.ops.fastvfx.fused_conv2d.default(x, weight.packed, bias, residual, weight.out_channels,
                                                  list(weight.kernel_size), stride, _pair(padding),
                                                  activation or "none", residual_op)


def fused_conv2d_residual_(x: Tensor, weight: Union[Tensor, PackedConvWeight], residual: Tensor,
                           bias: Optional[Tensor] = None, stride: int = 1, padding=0,
                           activation: Optional[str] = None, residual_op: str = "add") -> Tensor:
    """:func:`fused_conv2d` with its result written over ``residual`` (which
    is returned) instead of a fresh output, for a caller that owns the
    residual and needs it no more: ``residual`` must be channels_last
    contiguous and share no memory with ``x``, the weight or the bias. The
    residual's cache lines are read and written back in place; a fresh
    output's are first fetched from wherever the allocator's block last was
    (SqueezeTime's blocks, one thread: 109.1 against 110.9 ms a clip,
    python bench/plan_overhead.py)."""
    weight = _packed_for_inference(f"{_OP}_residual_", x, weight, bias, residual)
    torch.ops.fastvfx.fused_conv2d_residual_.default(x, weight.packed, bias, residual, weight.out_channels,
                                                     list(weight.kernel_size), stride, _pair(padding),
                                                     activation or "none", residual_op)
    return residual


def fused_conv2d_reference(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: int = 1, padding=0,
                           residual: Optional[Tensor] = None, activation: Optional[str] = None,
                           residual_op: str = "add") -> Tensor:
    """The same with ``F.conv2d`` and torch's activations."""
    if weight.dim() == 2:
        weight = weight[:, :, None, None]
    y = F.conv2d(x, weight, bias, stride, _pair(padding))
    if residual is not None and residual_op == "add":
        y = y + residual
    y = torch.sigmoid(y) if activation == "sigmoid" else _apply_activation(y, activation)
    if residual is not None and residual_op == "add_after":
        y = y + residual
    if residual is not None and residual_op == "mul":
        y = y * residual
    return y


@torch.library.register_fake("fastvfx::fused_conv2d")
def _fused_conv2d_fake(x, packed_weight, bias, residual, out_channels, kernel_size, stride, padding, activation,
                       residual_op):
    torch._check(x.dim() == 4, lambda: f"{_OP}: expected x of shape (N, C, H, W), got {tuple(x.shape)}")
    torch._check(x.dtype == torch.float32, lambda: f"{_OP}: supports float32 only, got {x.dtype}")
    oh = (x.shape[2] + 2 * padding[0] - kernel_size[0]) // stride + 1 if x.shape[2] > 0 else 0
    ow = (x.shape[3] + 2 * padding[1] - kernel_size[1]) // stride + 1 if x.shape[3] > 0 else 0
    return torch.empty((x.shape[0], out_channels, oh, ow), dtype=x.dtype, device=x.device,
                       memory_format=torch.channels_last)


@torch.library.register_fake("fastvfx::fused_conv2d_residual_")
def _fused_conv2d_residual_fake(x, packed_weight, bias, residual, out_channels, kernel_size, stride, padding,
                                activation, residual_op):
    out = _fused_conv2d_fake(x, packed_weight, bias, residual, out_channels, kernel_size, stride, padding, activation,
                             residual_op)
    torch._check(residual.shape == out.shape,
                 lambda: f"{_OP}_residual_: residual must have the output's shape {tuple(out.shape)}, "
                         f"got {tuple(residual.shape)}")
