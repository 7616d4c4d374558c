"""Causal depthwise Conv3D (MoViNets): functional API, streaming step, fake
kernels, autograd and the pure-PyTorch references.

``x`` is ``(N, C, T, H, W)``, ``weight`` ``(C, 1, kT, kH, kW)``. Time is causal
(kT-1 zero frames in front, temporal stride 1): output frame t sees input
frames t-kT+1 .. t. Space: stride 1 or 2 (any positive int works), padding
``"same"`` (TensorFlow's rule, as MoViNet uses: ``out = ceil(in / stride)``,
the odd extra pixel at the bottom / right) or an int / (int, int) of
PyTorch-style symmetric zero padding. An activation (``"relu"``, ``"relu6"``,
``"hardswish"``, ``"swish"``) can be fused after the bias.

Streaming keeps the last kT-1 *input* frames of every channel in a ring
buffer; feeding a clip in chunks of any size gives the full-clip output.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _C

IntPair = Union[int, tuple[int, int]]
Padding = Union[str, int, tuple[int, int]]

ACTIVATIONS = ("relu", "relu6", "hardswish", "swish")


class StreamState(NamedTuple):
    """A causal depthwise Conv3D's streaming state: ``buffer`` (N, C, kT-1, H, W)
    holds the last kT-1 input frames (a ring), ``position`` (int64, one element)
    counts the frames consumed; zeros / 0 are the start of a video. ``padded``
    is either empty or a cache of ``buffer`` in the kernel's padded layout
    (so past frames are not padded again at every step), kept in step with
    ``buffer`` by the op: edit neither by hand."""

    buffer: Tensor
    position: Tensor
    padded: Tensor


# ---------------------------------------------------------------------------
# Argument normalisation (shared by the functional API and the module)
# ---------------------------------------------------------------------------


def _pair(value, name: str, op: str, temporal: bool) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if temporal and len(value) == 3:
        if value[0] != 1:
            raise ValueError(f"{op}: temporal {name} must be 1 (the conv is causal), got {value[0]}")
        value = value[1:]
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return value


def normalize_geometry(stride: IntPair, padding: Padding, op: str = "causal_dwconv3d",
                       temporal: bool = True) -> tuple[list[int], list[int], bool]:
    """(spatial stride, symmetric padding, tf_same) as the ops take them; op
    names the caller in errors; temporal accepts (1, h, w) triples."""
    sh, sw = _pair(stride, "stride", op, temporal)
    if sh < 1 or sw < 1:
        raise ValueError(f"{op}: stride must be positive, got {(sh, sw)}")
    if isinstance(padding, str):
        if padding != "same":
            raise ValueError(f"{op}: padding must be 'same', an int or a pair, got {padding!r}")
        return [sh, sw], [0, 0], True
    ph, pw = _pair(padding, "padding", op, temporal)
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {(ph, pw)}")
    return [sh, sw], [ph, pw], False


def _activation_name(activation: Optional[str]) -> str:
    if activation is None:
        return "none"
    name = "swish" if activation == "silu" else activation
    if name not in ACTIVATIONS:
        raise ValueError(f"causal_dwconv3d: activation must be None or one of {ACTIVATIONS}, got {activation!r}")
    return name


def spatial_padding(size: int, kernel: int, stride: int, padding: Optional[int]) -> tuple[int, int, int]:
    """(out, pad_front, pad_back) of one spatial dim; padding None = TF "same"."""
    if padding is None:
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    return (size + 2 * padding - kernel) // stride + 1, padding, padding


# ---------------------------------------------------------------------------
# Functional API
# ---------------------------------------------------------------------------

# The overloads themselves: calling the packet (torch.ops.fastvfx.<op>) first
# resolves the overload, several microseconds of a 7x7 step.
_CLIP_OP = torch.ops.fastvfx.causal_dwconv3d.default
_STREAM_OP = torch.ops.fastvfx.causal_dwconv3d_stream_.default
_STREAM_OUT_OP = torch.ops.fastvfx.causal_dwconv3d_stream_out_.default
# The eager paths, bound once (as the temporal shift's): plain tensors go
# through _C's typed dispatcher calls (every dispatch key still applies)
# instead of torch.ops' Python binding, which matches the arguments against
# the schema and boxes them, ~2 us of a 7x7 step's ~15; a clip that needs no
# gradient is called below autograd, whose kernel is Python (~4 us a call).
# Tensors with __torch_function__ (subclasses, a TorchFunctionMode) and
# traced code (torch.compile, export) call the OpOverloads.
_is_compiling = torch.compiler.is_compiling
_is_exporting = torch.compiler.is_exporting
_is_grad_enabled = torch.is_grad_enabled
_has_torch_function = torch._C._has_torch_function
_CLIP_NO_GRAD = _C._causal_dwconv3d_no_grad
_STREAM_EAGER = _C._causal_dwconv3d_stream_
_STREAM_OUT_EAGER = _C._causal_dwconv3d_stream_out_
# (stride, padding, activation) -> the ops' (stride, padding, tf_same,
# activation): a layer runs with the same few arguments at every call
# (normalising them cost ~0.5 us a step).
_OP_ARGUMENTS: dict = {}


def causal_dwconv3d(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntPair = 1,
    padding: Padding = "same",
    activation: Optional[str] = None,
) -> Tensor:
    """Full-clip causal depthwise Conv3D with fused bias and activation.
    Differentiable in x, weight and bias (dedicated backward kernels)."""
    stride_, pad, same, act = _op_arguments(stride, padding, activation)
    if _is_compiling() or _has_torch_function((x, weight) if bias is None else (x, weight, bias)) or (
        _is_grad_enabled() and (x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad))
    ):
        return _CLIP_OP(x, weight, bias, stride_, pad, same, act)
    return _CLIP_NO_GRAD(x, weight, bias, stride_, pad, same, act)


def init_stream_state(
    batch_size: int,
    channels: int,
    kernel_t: int,
    height: int,
    width: int,
    dtype: Optional[torch.dtype] = None,
    device: Optional[torch.device] = None,
    *,
    kernel_size: Optional[tuple[int, int, int]] = None,
    stride: IntPair = 1,
    padding: Padding = "same",
) -> StreamState:
    """A fresh streaming state: the start of a video.

    Given the layer's ``kernel_size`` (kT, kH, kW), ``stride`` and ``padding``,
    the state also carries the padded cache that spares each step re-padding
    the kT-1 past frames; without them the cache is empty (steps still work).
    """
    buffer = torch.zeros(batch_size, channels, kernel_t - 1, height, width, dtype=dtype, device=device)
    padded = buffer.new_empty((0,))
    # The padded cache serves the CPU kernels in float32/float64 (16-bit CPU
    # streams run a float32 kernel on converted tiles); on CUDA the position
    # lives on the device (the step reads and advances it there, no host sync).
    if kernel_size is not None and kernel_t > 1 and buffer.device.type == "cpu" and \
            buffer.dtype in (torch.float32, torch.float64):
        if kernel_size[0] != kernel_t:
            raise ValueError(f"init_stream_state: kernel_size {kernel_size} does not start with kernel_t={kernel_t}")
        stride_, pad, same = normalize_geometry(stride, padding)
        plane = _C.causal_dwconv3d_padded_numel(
            [batch_size, channels, 1, height, width], list(kernel_size), stride_, pad, same,
            buffer.dtype == torch.float64,
        )
        padded = buffer.new_zeros((batch_size * channels * (kernel_t - 1) * plane,))
    return StreamState(buffer, torch.zeros(1, dtype=torch.int64, device=buffer.device), padded)


def causal_dwconv3d_step(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    state: StreamState,
    stride: IntPair = 1,
    padding: Padding = "same",
    activation: Optional[str] = None,
    out: Optional[Tensor] = None,
) -> Tensor:
    """Process the next ``t >= 1`` frames ``x`` (N, C, t, H, W) of a stream.

    Reads the previous frames from ``state`` and updates it in place (no
    concatenation, no allocation but the output; pass ``out`` to reuse that
    too). Inference only: the step has no autograd, so with grad mode on an
    input that requires grad is refused (use ``torch.no_grad()``, or the
    full-clip op to train). A state whose batch, channels, size, dtype or
    device does not match raises and is left as is.
    """
    if _is_exporting():
        y = _stream_step_for_export(x, weight, bias, state, stride, padding, activation)
        return y if out is None else out.copy_(y)
    buffer, position, padded = state
    if _is_grad_enabled() and (x.requires_grad or weight.requires_grad or buffer.requires_grad or
                               (bias is not None and bias.requires_grad)):
        _refuse_grad(x, weight, bias, buffer)
    stride_, pad, same, act = _op_arguments(stride, padding, activation)
    eager = not _is_compiling() and not _has_torch_function(
        (x, weight, buffer) if bias is None else (x, weight, bias, buffer))
    try:
        if out is None:
            op = _STREAM_EAGER if eager else _STREAM_OP
            return op(x, weight, bias, buffer, position, padded, stride_, pad, same, act)
        op = _STREAM_OUT_EAGER if eager else _STREAM_OUT_OP
        op(x, weight, bias, buffer, position, padded, out, stride_, pad, same, act)
    except RuntimeError as error:
        # The binding checks a step with the full-clip op's checks and name (the
        # fake kernels with the op's): name the function the user called instead.
        message, named = _OP_PREFIX.subn(_STEP_OP + ":", str(error), count=1)
        if not named:
            raise
        raise RuntimeError(message) from None
    return out


def _op_arguments(stride, padding, activation) -> tuple[list[int], list[int], bool, str]:
    # Plain ints and strings only as keys: 1.0 == True == 1 would share one.
    if type(stride) is int and type(padding) in (int, str) and (activation is None or type(activation) is str):
        key = (stride, padding, activation)
        found = _OP_ARGUMENTS.get(key)
        if found is None:
            found = (*normalize_geometry(stride, padding), _activation_name(activation))
            if len(_OP_ARGUMENTS) < 256:
                _OP_ARGUMENTS[key] = found
        return found
    return (*normalize_geometry(stride, padding), _activation_name(activation))


_STEP_OP = "fastvfx.causal_dwconv3d_step"
_OP_PREFIX = re.compile(r"^fastvfx\.causal_dwconv3d(_stream_|_stream_out_)?:")


def _refuse_grad(x: Tensor, weight: Tensor, bias: Optional[Tensor], buffer: Tensor) -> None:
    """The step has no autograd: without this, under grad mode its output gets
    a grad_fn whose backward leaves the weight's grad None (silently wrong)."""
    if not torch.is_grad_enabled():
        return
    named = (("x", x), ("weight", weight), ("bias", bias), ("state.buffer", buffer))
    needing = [name for name, t in named if t is not None and t.requires_grad]
    if needing:
        raise RuntimeError(
            f"{_STEP_OP}: the streaming step is inference-only (no autograd), but {', '.join(needing)} "
            f"{'requires' if len(needing) == 1 else 'require'} grad; run it under torch.no_grad() or "
            "torch.inference_mode(), or train with the full-clip causal_dwconv3d "
            "(CausalDepthwiseConv3d.forward), which has autograd"
        )


def _stream_step_for_export(x, weight, bias, state, stride, padding, activation) -> Tensor:
    """The streaming step as out-of-place torch ops, for torch.export (which
    wraps the mutating op in auto_functionalized, a form the ONNX exporter
    cannot translate). Same ring as the kernel: input frame a of the stream
    lives in buffer slot a % (kT-1). Slots of frames before the start are read
    from the buffer (zeros in a fresh state) and the padded cache is not used."""
    ring = weight.size(2) - 1
    if ring == 0:
        state.position.add_(x.size(2))
        return causal_dwconv3d(x, weight, bias, stride, padding, activation)
    slots = torch.arange(ring, device=state.buffer.device)
    start = state.position.to(state.buffer.device)
    chronological = state.buffer.index_select(2, torch.remainder(start - ring + slots, ring))
    y, kept = causal_dwconv3d_stream_reference(x, weight, bias, chronological, stride, padding, activation)
    end = start + x.size(2)  # the kept frames are end-kT+1 .. end-1
    state.buffer.copy_(kept.index_select(2, torch.remainder(slots - end + ring, ring)))
    state.position.copy_(end)
    return y


# ---------------------------------------------------------------------------
# References: pure PyTorch, as MoViNet's PyTorch port computes them.
# ---------------------------------------------------------------------------


def _apply_activation(y: Tensor, activation: Optional[str]) -> Tensor:
    name = _activation_name(activation)
    if name == "relu":
        return F.relu(y)
    if name == "relu6":
        return F.relu6(y)
    if name == "hardswish":
        return F.hardswish(y)
    if name == "swish":
        return F.silu(y)
    return y


def causal_dwconv3d_reference(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntPair = 1,
    padding: Padding = "same",
    activation: Optional[str] = None,
) -> Tensor:
    """``F.conv3d(F.pad(x, ...), groups=C)`` with explicit causal and spatial padding."""
    (sh, sw), pad, same = normalize_geometry(stride, padding)
    kt, kh, kw = weight.shape[2:]
    _, pt, pb = spatial_padding(x.size(3), kh, sh, None if same else pad[0])
    _, pl, pr = spatial_padding(x.size(4), kw, sw, None if same else pad[1])
    padded = F.pad(x, (pl, pr, pt, pb, kt - 1, 0))
    y = F.conv3d(padded, weight, bias, stride=(1, sh, sw), groups=x.size(1))
    return _apply_activation(y, activation)


def causal_dwconv3d_stream_reference(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    buffer: Tensor,
    stride: IntPair = 1,
    padding: Padding = "same",
    activation: Optional[str] = None,
) -> tuple[Tensor, Tensor]:
    """The upstream streaming step: concatenate the buffer in front of the
    chunk, run a generic depthwise conv3d, keep the last kT-1 frames.
    Returns (y, new_buffer)."""
    (sh, sw), pad, same = normalize_geometry(stride, padding)
    kt, kh, kw = weight.shape[2:]
    joined = torch.cat((buffer, x), dim=2)
    _, pt, pb = spatial_padding(x.size(3), kh, sh, None if same else pad[0])
    _, pl, pr = spatial_padding(x.size(4), kw, sw, None if same else pad[1])
    y = F.conv3d(F.pad(joined, (pl, pr, pt, pb)), weight, bias, stride=(1, sh, sw), groups=x.size(1))
    return _apply_activation(y, activation), joined[:, :, joined.size(2) - (kt - 1) :]


# ---------------------------------------------------------------------------
# Fake kernels
# ---------------------------------------------------------------------------


def _output_shape(x, weight, stride, padding, tf_same):
    kh, kw = weight.shape[3], weight.shape[4]
    oh = spatial_padding(x.shape[3], kh, stride[0], None if tf_same else padding[0])[0]
    ow = spatial_padding(x.shape[4], kw, stride[1], None if tf_same else padding[1])[0]
    return (x.shape[0], x.shape[1], x.shape[2], oh, ow)


_FLOAT_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def _check_fake(x, weight, op="fastvfx.causal_dwconv3d"):
    torch._check(x.dim() == 5, lambda: f"{op}: expected x of shape (N, C, T, H, W), got {tuple(x.shape)}")
    torch._check(
        x.dtype in _FLOAT_DTYPES, lambda: f"{op}: supports float32, float64, bfloat16 and float16, got {x.dtype}"
    )
    torch._check(
        weight.dim() == 5 and weight.shape[0] == x.shape[1] and weight.shape[1] == 1,
        lambda: f"{op}: weight must be (C, 1, kT, kH, kW) with C = {x.shape[1]}, got {tuple(weight.shape)}",
    )


@torch.library.register_fake("fastvfx::causal_dwconv3d")
def _causal_dwconv3d_fake(x, weight, bias, stride, padding, tf_same, activation):
    _check_fake(x, weight)
    return x.new_empty(_output_shape(x, weight, stride, padding, tf_same))


@torch.library.register_fake("fastvfx::_causal_dwconv3d_backward")
def _causal_dwconv3d_backward_fake(grad, x, weight, stride, padding, tf_same, output_mask):
    dx = torch.empty_like(x, memory_format=torch.contiguous_format) if output_mask[0] else x.new_empty((0,))
    dw = torch.empty_like(weight, memory_format=torch.contiguous_format) if output_mask[1] else x.new_empty((0,))
    db = x.new_empty((x.shape[1],)) if output_mask[2] else x.new_empty((0,))
    return dx, dw, db


@torch.library.register_fake("fastvfx::causal_dwconv3d_stream_")
def _causal_dwconv3d_stream_fake(x, weight, bias, buffer, position, padded, stride, padding, tf_same, activation):
    _check_fake(x, weight, "fastvfx.causal_dwconv3d_stream_")
    torch._check(
        buffer.device == x.device and buffer.dtype == x.dtype,
        lambda: f"fastvfx.causal_dwconv3d_stream_: stream buffer ({buffer.dtype}, {buffer.device}) does not "
        f"match x ({x.dtype}, {x.device})",
    )
    torch._check(
        tuple(buffer.shape) == (x.shape[0], x.shape[1], weight.shape[2] - 1, x.shape[3], x.shape[4]),
        lambda: f"fastvfx.causal_dwconv3d_stream_: stream buffer of shape {tuple(buffer.shape)} does not match",
    )
    return x.new_empty(_output_shape(x, weight, stride, padding, tf_same))


@torch.library.register_fake("fastvfx::causal_dwconv3d_stream_out_")
def _causal_dwconv3d_stream_out_fake(
    x, weight, bias, buffer, position, padded, out, stride, padding, tf_same, activation
):
    _check_fake(x, weight, "fastvfx.causal_dwconv3d_stream_out_")


# ---------------------------------------------------------------------------
# Autograd: dedicated backward kernels for the conv; a fused activation is
# differentiated at its pre-activation, recomputed by the fast forward.
# ---------------------------------------------------------------------------


def _activation_grad(z: Tensor, grad: Tensor, name: str) -> Tensor:
    if name == "relu":
        return grad * (z > 0)
    if name == "relu6":
        return grad * ((z > 0) & (z < 6))
    if name == "hardswish":
        return grad * torch.where(z < -3, 0.0, torch.where(z > 3, 1.0, (2 * z + 3) / 6)).to(z.dtype)
    if name == "swish":
        s = torch.sigmoid(z)
        return grad * (s * (1 + z * (1 - s)))
    return grad


def _setup(ctx, inputs, output):
    x, weight, bias, stride, padding, tf_same, activation = inputs
    ctx.save_for_backward(x, weight, bias)
    ctx.geometry = (stride, padding, tf_same)
    ctx.activation = activation
    ctx.has_bias = bias is not None


def _backward(ctx, grad):
    x, weight, bias = ctx.saved_tensors
    stride, padding, tf_same = ctx.geometry
    if ctx.activation != "none":
        z = torch.ops.fastvfx.causal_dwconv3d(x, weight, bias, stride, padding, tf_same, "none")
        grad = _activation_grad(z, grad, ctx.activation)
    mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]]
    dx, dw, db = torch.ops.fastvfx._causal_dwconv3d_backward(grad, x, weight, stride, padding, tf_same, mask)
    return (dx if mask[0] else None, dw if mask[1] else None, db if mask[2] else None, None, None, None, None)


torch.library.register_autograd("fastvfx::causal_dwconv3d", _backward, setup_context=_setup)
