"""Temporal Focus Convolution (SqueezeTime): functional API, fake kernels,
autograd, references.

SqueezeTime squeezes the T frames of a clip into the channel axis; the
Temporal Focus Convolution gives each sample a per-input-channel importance
from a tiny gate and convolves the re-weighted input:

    scale = sigmoid(fc2(relu(fc1(pool(x)))))          # (N, C_in), pool over H*W
    y     = conv2d(x * scale[:, :, None, None], weight, bias, stride, padding)

The official code pools by average (the paper text says max: both are
supported) and has a BatchNorm between fc1 and the ReLU; in the fused op that
BatchNorm is folded into ``fc1_weight`` / ``fc1_bias`` (``fastvfx.nn.
TemporalFocusConv2d`` does it in eval mode). ``x * scale`` is never written:
the scale is folded into per-sample weights ``W[o, i] * scale[n, i]``.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_POOLS = ("avg", "max")
IntOrPair = Union[int, Sequence[int]]


def _pair(value: IntOrPair) -> list[int]:
    if isinstance(value, int):
        return [value, value]
    value = list(value)
    if len(value) == 1:
        return value * 2
    return value


def _check_groups(groups: int, op: str) -> None:
    if groups != 1:
        raise NotImplementedError(f"{op}: groups={groups} is not supported; only groups=1 (a dense conv)")


# ---------------------------------------------------------------------------
# Functional API
# ---------------------------------------------------------------------------


def temporal_focus_conv2d(
    x: Tensor,
    weight: Tensor,
    fc1_weight: Tensor,
    fc1_bias: Optional[Tensor],
    fc2_weight: Tensor,
    fc2_bias: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    pool: str = "avg",
    groups: int = 1,
) -> tuple[Tensor, Tensor]:
    """Fused TFC: returns ``(y, scale)``.

    Args:
        x: ``(N, C_in, H, W)``, float32, float64, bfloat16 or float16, contiguous or channels_last
            (y keeps the layout; other strides are copied first).
        weight: ``(C_out, C_in, kH, kW)`` conv weight (any kernel size).
        fc1_weight: ``(C_hidden, C_in)`` or ``(C_hidden, C_in, 1, 1)``; with the
            gate's BatchNorm already folded in.
        fc1_bias: ``(C_hidden,)`` or None.
        fc2_weight: ``(C_in, C_hidden)`` or ``(C_in, C_hidden, 1, 1)``.
        fc2_bias: ``(C_in,)`` or None.
        bias: ``(C_out,)`` or None.
        stride, padding: an int or a pair, as in ``F.conv2d``.
        pool: ``"avg"`` (the official code) or ``"max"`` (the paper text).
        groups: must be 1.

    Returns:
        ``y`` of shape ``(N, C_out, H_out, W_out)`` and ``scale`` of shape
        ``(N, C_in)``, the gate (SqueezeTime's IOI branch reuses it).
        Differentiable in x, weight, the fc weights and all biases.
    """
    _check_groups(groups, "fastvfx.temporal_focus_conv2d")
    return torch.ops.fastvfx.temporal_focus_conv2d(
        x, weight, fc1_weight, fc1_bias, fc2_weight, fc2_bias, bias, _pair(stride), _pair(padding), pool
    )


def channel_scaled_conv2d(
    x: Tensor,
    scale: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    groups: int = 1,
) -> Tensor:
    """``conv2d(x * scale[:, :, None, None], weight, bias, stride, padding)``
    without writing ``x * scale``: the conv half of TFC, for a scale computed
    elsewhere (the module's training mode, whose gate uses batch statistics).
    ``scale`` is ``(N, C_in)`` or ``(N, C_in, 1, 1)``. Differentiable."""
    _check_groups(groups, "fastvfx.channel_scaled_conv2d")
    return torch.ops.fastvfx.channel_scaled_conv2d(x, scale, weight, bias, _pair(stride), _pair(padding))


# ---------------------------------------------------------------------------
# References: pure PyTorch, written as SqueezeTime writes them.
# ---------------------------------------------------------------------------


def _as_conv1x1(w: Tensor) -> Tensor:
    return w if w.dim() == 4 else w[:, :, None, None]


def temporal_focus_conv2d_reference(
    x: Tensor,
    weight: Tensor,
    fc1_weight: Tensor,
    fc1_bias: Optional[Tensor],
    fc2_weight: Tensor,
    fc2_bias: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    pool: str = "avg",
) -> tuple[Tensor, Tensor]:
    """The gate as the official module chains it (pool, 1x1 conv, ReLU, 1x1
    conv, sigmoid; its BatchNorm folded into fc1), then the conv of the
    re-weighted input. Returns ``(y, scale)`` with scale ``(N, C_in)``."""
    if pool == "avg":
        pooled = F.adaptive_avg_pool2d(x, (1, 1))
    elif pool == "max":
        pooled = F.adaptive_max_pool2d(x, (1, 1))
    else:
        raise ValueError(f"unknown pool {pool!r}")
    hidden = F.relu(F.conv2d(pooled, _as_conv1x1(fc1_weight), fc1_bias))
    param = torch.sigmoid(F.conv2d(hidden, _as_conv1x1(fc2_weight), fc2_bias))
    y = F.conv2d(param * x, weight, bias, stride, padding)
    return y, param.flatten(1)


def channel_scaled_conv2d_reference(
    x: Tensor, scale: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOrPair = 1,
    padding: IntOrPair = 0,
) -> Tensor:
    """The re-weighted input, written, then ``F.conv2d``."""
    return F.conv2d(x * scale.reshape(scale.size(0), scale.size(1), 1, 1), weight, bias, stride, padding)


class TemporalFocusConv2dReference(nn.Module):
    """SqueezeTime's ``Conv2d`` (Channel-Time Learning module) without its IOI
    branch (``spatial_conv``): the upstream chain of separate modules, with the
    official attribute names, so state dicts move between it and
    ``fastvfx.nn.TemporalFocusConv2d`` unchanged.

    ``forward(x)`` returns ``(temporal_conv(param * x), param)``, ``param`` of
    shape ``(N, C_in, 1, 1)``: what the official forward computes before it
    adds ``spatial_conv(x, param)``. The official code gives
    ``temporal_conv`` stride 1 whatever ``stride`` says (its blocks
    downsample before); here ``stride`` is honoured.
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
    ) -> None:
        super().__init__()
        self.param_conv = _gate_chain(in_channels, hidden_channels, pool)
        self.temporal_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        param = self.param_conv(x)
        return self.temporal_conv(param * x), param


def _gate_chain(in_channels: int, hidden_channels: Optional[int], pool: str) -> nn.Sequential:
    """The official ``param_conv``: pool, 1x1, BN, ReLU, 1x1, sigmoid."""
    if pool not in _POOLS:
        raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
    hidden = in_channels if hidden_channels is None else hidden_channels
    return nn.Sequential(
        nn.AdaptiveAvgPool2d((1, 1)) if pool == "avg" else nn.AdaptiveMaxPool2d((1, 1)),
        nn.Conv2d(in_channels, hidden, 1, stride=1, padding=0, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, in_channels, 1, bias=False),
        nn.Sigmoid(),
    )


# ---------------------------------------------------------------------------
# Fake (meta) kernels: shapes, memory formats and the C++ kernels' checks, for
# torch.compile / FakeTensor.
# ---------------------------------------------------------------------------


def _output_format(x: Tensor) -> torch.memory_format:
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _check_conv_args(x, weight, bias, stride, padding, op) -> list[int]:
    torch._check(x.dim() == 4, lambda: f"{op}: expected x of shape (N, C_in, H, W), got a {x.dim()}-D tensor")
    torch._check(
        x.dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16),
        lambda: f"{op}: expected a float32, float64, bfloat16 or float16 tensor, got {x.dtype}",
    )
    torch._check(weight.dim() == 4, lambda: f"{op}: expected weight of shape (C_out, C_in, kH, kW)")
    torch._check(
        weight.size(1) == x.size(1), lambda: f"{op}: weight expects {weight.size(1)} input channels but x has {x.size(1)}"
    )
    torch._check(weight.dtype == x.dtype, lambda: f"{op}: weight dtype {weight.dtype} does not match x dtype {x.dtype}")
    if bias is not None:
        torch._check(bias.dim() == 1 and bias.size(0) == weight.size(0), lambda: f"{op}: bias must have shape (C_out,)")
    torch._check(len(stride) == 2 and min(stride) >= 1, lambda: f"{op}: stride must be >= 1, got {stride}")
    torch._check(len(padding) == 2 and min(padding) >= 0, lambda: f"{op}: padding must be >= 0, got {padding}")
    out_size = []
    for d in range(2):
        padded = x.size(2 + d) + 2 * padding[d]
        torch._check(padded >= weight.size(2 + d), lambda: f"{op}: kernel size is larger than the padded input")
        out_size.append((padded - weight.size(2 + d)) // stride[d] + 1)
    return out_size


def _check_matrix(w: Tensor, rows, cols, name: str, op: str) -> None:
    torch._check(
        (w.dim() == 2 or (w.dim() == 4 and w.size(2) == 1 and w.size(3) == 1)) and w.size(0) == rows and w.size(1) == cols,
        lambda: f"{op}: {name} must have shape ({rows}, {cols}) or ({rows}, {cols}, 1, 1), got {tuple(w.shape)}",
    )


def _check_vector(b: Optional[Tensor], size, name: str, op: str) -> None:
    if b is not None:
        torch._check(b.dim() == 1 and b.size(0) == size, lambda: f"{op}: {name} must have shape ({size},)")


def _empty_output(x: Tensor, weight: Tensor, out_size: list[int]) -> Tensor:
    out = x.new_empty((x.size(0), weight.size(0), out_size[0], out_size[1]))
    return out.contiguous(memory_format=_output_format(x))


@torch.library.register_fake("fastvfx::temporal_focus_conv2d")
def _temporal_focus_conv2d_fake(x, weight, fc1_weight, fc1_bias, fc2_weight, fc2_bias=None, bias=None,
                                stride=(1, 1), padding=(0, 0), pool="avg"):
    op = "fastvfx.temporal_focus_conv2d"
    out_size = _check_conv_args(x, weight, bias, stride, padding, op)
    torch._check(pool in _POOLS, lambda: f"{op}: pool must be 'avg' or 'max', got {pool!r}")
    torch._check(fc1_weight.dim() in (2, 4), lambda: f"{op}: fc1_weight must be 2-D or 4-D")
    hidden, cin = fc1_weight.size(0), x.size(1)
    _check_matrix(fc1_weight, hidden, cin, "fc1_weight", op)
    _check_matrix(fc2_weight, cin, hidden, "fc2_weight", op)
    _check_vector(fc1_bias, hidden, "fc1_bias", op)
    _check_vector(fc2_bias, cin, "fc2_bias", op)
    torch._check(
        x.size(0) == 0 or x.size(2) * x.size(3) > 0, lambda: f"{op}: the gate pools over H*W, which is empty in x"
    )
    return _empty_output(x, weight, out_size), x.new_empty((x.size(0), cin))


@torch.library.register_fake("fastvfx::channel_scaled_conv2d")
def _channel_scaled_conv2d_fake(x, scale, weight, bias=None, stride=(1, 1), padding=(0, 0)):
    op = "fastvfx.channel_scaled_conv2d"
    out_size = _check_conv_args(x, weight, bias, stride, padding, op)
    torch._check(
        (scale.dim() == 2 or (scale.dim() == 4 and scale.size(2) == 1 and scale.size(3) == 1))
        and scale.size(0) == x.size(0) and scale.size(1) == x.size(1),
        lambda: f"{op}: scale must have shape (N, C_in) or (N, C_in, 1, 1), got {tuple(scale.shape)}",
    )
    return _empty_output(x, weight, out_size)


# ---------------------------------------------------------------------------
# Autograd. Composite torch ops: correct in every case, fused where it pays.
# ---------------------------------------------------------------------------


def _is_pointwise(weight: Tensor, stride, padding) -> bool:
    return weight.size(2) == 1 and weight.size(3) == 1 and list(stride) == [1, 1] and list(padding) == [0, 0]


def _scaled_conv_backward(grad_y, x, scale, weight, stride, padding, need_x, need_scale, need_weight):
    """Gradients of ``conv2d(x * scale, weight)`` for x, scale (N, C_in) and weight.

    A 1x1 conv never writes ``x * scale``: with ``M_n = G_n X_n^T`` (the
    gradient of sample n's folded weight W * s_n), ``dW = sum_n M_n * s_n``
    and ``ds_n = sum_o W * M_n``, one batched GEMM for both. Other convs go
    through ``aten.convolution_backward`` on the re-weighted input.
    """
    n, cin = scale.shape
    cout = weight.size(0)
    grad_x = grad_scale = grad_weight = None
    if _is_pointwise(weight, stride, padding):
        w = weight.reshape(cout, cin)
        g = grad_y.reshape(n, cout, -1)
        if need_scale or need_weight:
            m = torch.bmm(g, x.reshape(n, cin, -1).transpose(1, 2))  # (N, C_out, C_in)
            if need_weight:
                grad_weight = torch.einsum("noi,ni->oi", m, scale).reshape(weight.shape)
            if need_scale:
                grad_scale = torch.einsum("noi,oi->ni", m, w)
        if need_x:
            w_n = w.unsqueeze(0) * scale.unsqueeze(1)  # (N, C_out, C_in)
            grad_x = torch.bmm(w_n.transpose(1, 2), g).reshape(x.shape)
        return grad_x, grad_scale, grad_weight
    s = scale[:, :, None, None]
    grad_xs, grad_weight, _ = torch.ops.aten.convolution_backward(
        grad_y, x * s, weight, None, list(stride), list(padding), [1, 1], False, [0, 0], 1,
        [need_x or need_scale, need_weight, False],
    )
    if need_x:
        grad_x = grad_xs * s
    if need_scale:
        grad_scale = (grad_xs * x).sum((2, 3))
    return grad_x, grad_scale, grad_weight


def _pool_backward(x: Tensor, grad_pooled: Tensor, pool: str) -> Tensor:
    """Gradient of the (N, C) global pool with respect to x."""
    n, c, h, w = x.shape
    if pool == "avg":
        return (grad_pooled / (h * w))[:, :, None, None].expand(n, c, h, w)
    _, index = F.adaptive_max_pool2d(x, (1, 1), return_indices=True)
    return torch.zeros((n, c, h * w), dtype=x.dtype, device=x.device).scatter(2, index.view(n, c, 1), grad_pooled.view(n, c, 1)).view(
        n, c, h, w
    )


def _pooled(x: Tensor, pool: str) -> Tensor:
    return x.mean((2, 3)) if pool == "avg" else x.amax((2, 3))


def _needs_input_grad(ctx, count: int) -> tuple[bool, ...]:
    # torch.library leaves trailing None / default arguments out of
    # needs_input_grad: pad it to the schema's argument count.
    need = tuple(ctx.needs_input_grad)
    return need + (False,) * (count - len(need))


def _temporal_focus_conv2d_setup(ctx, inputs, output):
    x, weight, fc1_weight, fc1_bias, fc2_weight, fc2_bias, bias, stride, padding, pool = inputs
    _, scale = output
    ctx.save_for_backward(x, weight, fc1_weight, fc1_bias, fc2_weight, scale)
    ctx.has_fc2_bias = fc2_bias is not None
    ctx.has_bias = bias is not None
    ctx.args = (stride, padding, pool)


def _temporal_focus_conv2d_backward(ctx, grad_y, grad_scale_out):
    x, weight, fc1_weight, fc1_bias, fc2_weight, scale = ctx.saved_tensors
    stride, padding, pool = ctx.args
    need = _needs_input_grad(ctx, 10)
    need_gate = any(need[i] for i in (0, 2, 3, 4, 5))
    grad_x, grad_scale, grad_weight = _scaled_conv_backward(
        grad_y, x, scale, weight, stride, padding, need[0], need_gate, need[1]
    )
    grad_bias = grad_y.sum((0, 2, 3)) if ctx.has_bias and need[6] else None
    grads = [grad_x, grad_weight, None, None, None, None, grad_bias, None, None, None]
    if not need_gate:
        return tuple(grads)
    if grad_scale_out is not None:
        grad_scale = grad_scale + grad_scale_out
    # Gate: s = sigmoid(z2), z2 = fc2(h), h = relu(z1), z1 = fc1(p), p = pool(x).
    hidden, cin = fc1_weight.size(0), x.size(1)
    w1 = fc1_weight.reshape(hidden, cin)
    w2 = fc2_weight.reshape(cin, hidden)
    pooled = _pooled(x, pool)
    z1 = F.linear(pooled, w1, fc1_bias)
    h = torch.relu(z1)
    grad_z2 = grad_scale * scale * (1 - scale)
    grad_z1 = (grad_z2 @ w2) * (z1 > 0)
    if need[2]:
        grads[2] = (grad_z1.t() @ pooled).reshape(fc1_weight.shape)
    if need[3] and fc1_bias is not None:
        grads[3] = grad_z1.sum(0)
    if need[4]:
        grads[4] = (grad_z2.t() @ h).reshape(fc2_weight.shape)
    if need[5] and ctx.has_fc2_bias:
        grads[5] = grad_z2.sum(0)
    if need[0]:
        grads[0] = grad_x + _pool_backward(x, grad_z1 @ w1, pool)
    return tuple(grads)


torch.library.register_autograd(
    "fastvfx::temporal_focus_conv2d", _temporal_focus_conv2d_backward, setup_context=_temporal_focus_conv2d_setup
)


def _channel_scaled_conv2d_setup(ctx, inputs, output):
    x, scale, weight, bias, stride, padding = inputs
    ctx.save_for_backward(x, scale, weight)
    ctx.has_bias = bias is not None
    ctx.args = (stride, padding)


def _channel_scaled_conv2d_backward(ctx, grad_y):
    x, scale, weight = ctx.saved_tensors
    stride, padding = ctx.args
    need = _needs_input_grad(ctx, 6)
    grad_x, grad_scale, grad_weight = _scaled_conv_backward(
        grad_y, x, scale.reshape(scale.size(0), scale.size(1)), weight, stride, padding, need[0], need[1], need[2]
    )
    if grad_scale is not None:
        grad_scale = grad_scale.reshape(scale.shape)
    grad_bias = grad_y.sum((0, 2, 3)) if ctx.has_bias and need[3] else None
    return grad_x, grad_scale, grad_weight, grad_bias, None, None


torch.library.register_autograd(
    "fastvfx::channel_scaled_conv2d", _channel_scaled_conv2d_backward, setup_context=_channel_scaled_conv2d_setup
)
