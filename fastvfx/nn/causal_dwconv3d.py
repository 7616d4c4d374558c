"""CausalDepthwiseConv3d: MoViNet's causal depthwise conv, full clip or streaming."""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ops.causal_dwconv3d import (
    StreamState,
    _activation_name,
    causal_dwconv3d,
    causal_dwconv3d_step,
    init_stream_state,
    normalize_geometry,
)
from ._activation import activate, activation_name, apply_activation_, split_activation
from ._batchnorm import fold_bn, folded_conv_bn
from .conv_bn_act import tf_same_pad


class CausalDepthwiseConv3d(nn.Module):
    """Depthwise Conv3D that only looks at past frames (MoViNets).

    ``forward(x)`` runs a full clip (N, C, T, H, W). For streaming,
    ``state = init_state(batch, height, width)`` starts a video and
    ``y, state = step(x, state)`` processes the next t >= 1 frames in constant
    memory; any chunking of a clip gives the ``forward`` output.

    Args:
        channels: C (depthwise: one filter per channel).
        kernel_size: kT or (kT, kH, kW); (1, k, k) spatial and (kT, 1, 1)
            temporal kernels are what (2+1)D MoViNet streams use.
        stride: spatial stride, an int or (sh, sw) (or (1, sh, sw)).
        padding: "same" (TensorFlow's rule, as MoViNet) or int / (int, int).
        bias: learn a bias.
        activation: None, "relu", "relu6", "hardswish" or "swish", fused.
        temporal_padding: "causal" (the default): ``forward`` pads kT-1 zero
            frames in front, T frames in, T out. "valid": the input already
            carries its kT-1 past frames in front (as a model that concatenates
            a stream buffer to each chunk passes it), T frames in, T-(kT-1)
            out, no zero frame. ``step`` is the same in both modes.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: Union[int, tuple[int, int, int]],
        stride: Union[int, tuple[int, ...]] = 1,
        padding: Union[str, int, tuple[int, int]] = "same",
        bias: bool = True,
        activation: Optional[str] = None,
        temporal_padding: str = "causal",
    ) -> None:
        super().__init__()
        if temporal_padding not in ("causal", "valid"):
            raise ValueError(f"temporal_padding must be 'causal' or 'valid', got {temporal_padding!r}")
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size,) * 3
        if len(kernel_size) != 3 or min(kernel_size) < 1:
            raise ValueError(f"kernel_size must be an int or (kT, kH, kW) of positive ints, got {kernel_size}")
        self.channels = channels
        self.kernel_size = tuple(kernel_size)
        self._geometry = normalize_geometry(stride, padding)  # validates
        self.stride = tuple(self._geometry[0])
        self.padding = padding
        self.activation = activation
        self.temporal_padding = temporal_padding
        _activation_name(activation)  # validates
        self.weight = nn.Parameter(torch.empty(channels, 1, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # As nn.Conv3d does (fan-in of one depthwise filter).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(math.prod(self.kernel_size))
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        kt = self.kernel_size[0]
        if self.temporal_padding == "causal" or kt == 1:
            return causal_dwconv3d(x, self.weight, self.bias, self.stride, self.padding, self.activation)
        if x.dim() != 5 or x.size(2) < kt:
            raise ValueError(f"CausalDepthwiseConv3d(temporal_padding='valid'): the input must be (N, C, T, H, W) "
                             f"with its {kt - 1} past frames in front and at least one new frame, got "
                             f"{tuple(x.shape)}")
        needs_grad = any(t is not None and t.requires_grad for t in (x, self.weight, self.bias))
        if torch.is_grad_enabled() and needs_grad:
            # The step has no autograd: the clip op over all frames, the
            # outputs of the kT-1 leading (history) frames dropped.
            y = causal_dwconv3d(x, self.weight, self.bias, self.stride, self.padding, self.activation)
            return y[:, :, kt - 1:]
        # The leading frames become a stream state (a ring at position kT-1
        # holds frame a in slot a; copied, as the step writes the ring), and
        # only the new frames are convolved.
        ring = x[:, :, : kt - 1].clone(memory_format=torch.contiguous_format)
        position = torch.full((1,), kt - 1, dtype=torch.int64, device=x.device)
        state = StreamState(ring, position, ring.new_empty((0,)))
        return causal_dwconv3d_step(x[:, :, kt - 1:], self.weight, self.bias, state, self.stride, self.padding,
                                    self.activation)

    def init_state(
        self,
        batch_size: int,
        height: int,
        width: int,
        dtype: Optional[torch.dtype] = None,
        device: Optional[torch.device] = None,
    ) -> StreamState:
        """Zeros: the start of a video, for inputs of this batch and frame size."""
        return init_stream_state(
            batch_size,
            self.channels,
            self.kernel_size[0],
            height,
            width,
            dtype=dtype or self.weight.dtype,
            device=device or self.weight.device,
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
        )

    def step(self, x: Tensor, state: StreamState, out: Optional[Tensor] = None) -> tuple[Tensor, StreamState]:
        """Output for the next frames x (N, C, t, H, W); ``state`` is updated in
        place and returned. Inference only (no autograd): run it under
        ``torch.no_grad()`` or ``torch.inference_mode()``, since the parameters
        require grad and a step under grad mode is refused."""
        y = causal_dwconv3d_step(
            x, self.weight, self.bias, state, self.stride, self.padding, self.activation, out=out
        )
        return y, state

    @torch.no_grad()
    def fuse_bn(self, bn: nn.BatchNorm3d) -> "CausalDepthwiseConv3d":
        """Fold a following BatchNorm (its running statistics, i.e. eval mode)
        into this conv's weight and bias, as a deployed MoViNet does. Returns
        self; the BatchNorm can then be dropped. Requires activation=None (the
        norm comes before any activation)."""
        if self.activation is not None:
            raise ValueError("fuse_bn: the conv has a fused activation; BatchNorm must come before it")
        if bn.num_features != self.channels:
            raise ValueError(f"fuse_bn: BatchNorm has {bn.num_features} features, the conv {self.channels} channels")
        weight, bias = fold_bn(self.weight, self.bias, bn)
        self.weight.copy_(weight)
        if self.bias is None:
            self.bias = nn.Parameter(bias.to(self.weight.dtype))
        else:
            self.bias.copy_(bias)
        return self

    def extra_repr(self) -> str:
        return (
            f"{self.channels}, kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding!r}, "
            f"bias={self.bias is not None}, activation={self.activation!r}"
            + (f", temporal_padding={self.temporal_padding!r}" if self.temporal_padding != "causal" else "")
        )


class CausalDepthwiseConv3dBNAct(nn.Module):
    """A MoViNet unit: depthwise ``nn.Conv3d`` (kT, kH, kW) without bias, its
    BatchNorm and activation, with TF "same" spatial padding; causal in time
    (kT-1 zero frames in front) or, ``causal=False``, temporally centred.
    Children ``conv``, ``bn``, ``act``: the state dict of that chain.

    Causal: ``forward`` runs ``fastvfx.causal_dwconv3d`` (with autograd), and
    ``step(x, state)`` its stream step (``init_state`` gives the
    :class:`StreamState`, updated in place). In eval mode the BatchNorm is
    folded into the kernel's weights (cached) and the activation fused into
    the kernel (swish applied after it). ``causal=False`` runs the chain in
    plain PyTorch.
    """

    state_type = StreamState

    def __init__(self, channels: int, kernel: tuple[int, int, int], stride: int = 1,
                 activation: Optional[type] = None, causal: bool = True, eps: float = 1e-3) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = stride
        self.causal = causal
        self.conv = nn.Conv3d(channels, channels, kernel, (1, stride, stride), groups=channels, bias=False)
        self.bn = nn.BatchNorm3d(channels, eps=eps)
        self.act = activation() if activation is not None else nn.Identity()
        self._activations = split_activation(activation_name(self.act))

    def forward(self, x: Tensor) -> Tensor:
        if not self.causal:
            kt = self.kernel[0]
            front = (kt - 1) // 2
            x = tf_same_pad(F.pad(x, (0, 0, 0, 0, front, kt - 1 - front)), self.kernel[1:], (self.stride,) * 2)
            return self.act(self.bn(self.conv(x)))
        if self.bn.training:
            return self.act(self.bn(causal_dwconv3d(x, self.conv.weight, None, self.stride, "same")))
        weight, bias = folded_conv_bn(self, "conv", self.conv, self.bn)
        fused, after = self._activations
        return activate(causal_dwconv3d(x, weight, bias, self.stride, "same", fused), after)

    def init_state(self, batch_size: int, height: int, width: int, dtype: Optional[torch.dtype] = None,
                   device: Optional[torch.device] = None) -> StreamState:
        """Zeros for input frames of this size: the start of a video."""
        weight = self.conv.weight
        return init_stream_state(batch_size, self.conv.in_channels, self.kernel[0], height, width,
                                 dtype or weight.dtype, device or weight.device, kernel_size=self.kernel,
                                 stride=self.stride, padding="same")

    def step(self, x: Tensor, state: StreamState) -> tuple[Tensor, StreamState]:
        """Output for the next frames (kT > 1; inference only); ``state`` is updated in place."""
        if self.bn.training:
            y = causal_dwconv3d_step(x, self.conv.weight, None, state, self.stride, "same")
            return self.act(self.bn(y)), state
        weight, bias = folded_conv_bn(self, "conv", self.conv, self.bn)
        fused, after = self._activations
        y = causal_dwconv3d_step(x, weight, bias, state, self.stride, "same", fused)
        return apply_activation_(y, after), state

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, causal={self.causal}"
