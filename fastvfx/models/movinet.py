"""MoViNet-A0 (Kondratyuk et al., CVPR 2021), causal stream variant.

Input ``(N, 3, T, H, W)`` (172x172 in the paper), output ``(N, num_classes)``.
Block specification of A0 (stem 8 channels, then per block output channels,
expansion channels, depthwise kernel (kT, kH, kW), spatial stride)::

    stage 2: (8, 24, 1x5x5, 2)
    stage 3: (32, 80, 3x3x3, 2), (32, 80, 3x3x3, 1) x2
    stage 4: (56, 184, 5x3x3, 2), (56, 112, 3x3x3, 1), (56, 184, 3x3x3, 1)
    stage 5: (56, 184, 5x3x3, 1), (56, 184, 3x3x3, 1) x3
    stage 6: (104, 384, 5x3x3, 2), (104, 280, 1x5x5, 1) x2, (104, 344, 1x5x5, 1)
    head: 1x1x1 conv to 480, causal global average pool, 1x1x1 to 2048, 1x1x1 to classes

Each block: 1x1x1 expansion + BN + activation, causal depthwise conv + BN +
activation, squeeze-excitation whose pooling is a causal cumulative average
over time, 1x1x1 projection + BN, and a residual (TF-"same" 3x3 average pool
and a 1x1x1 conv + BN when stride or width change). Spatial padding follows
TensorFlow's "same" rule, as the released models do.

``conv_type="3d"`` uses one (kT, k, k) depthwise conv, swish activations and a
sigmoid SE gate; ``"2plus1d"`` (the released stream models) splits it into a
(1, k, k) spatial and a (kT, 1, 1) temporal depthwise conv, each with its BN
and activation, uses hard-swish and a hard-sigmoid gate, and feeds the SE
both the per-frame and the cumulative pooled features (TF's "2plus3d" SE).

Streaming: ``states = model.init_states()``, then ``logits, states =
model.step(frames, states)`` for chunks of any length; the logits after the
last chunk equal ``model(clip)``. The states are the last kT-1 input frames of
every causal conv, the running sum and frame count of every SE pooling and of
the head's pooling, all tensors (a count is a 0-d tensor), so that a traced
step (torch.export, ``fastvfx.export.stream_onnx``) carries them as data.

Deviations from the official models: no pretrained weights (random init),
no stochastic depth, and the 2048-wide hidden layer of the head uses the same
activation as the rest of the network. ``stream=False`` builds the base
(non-causal) variant: temporally centred padding and global pooling, no
streaming.

Backends share the state dict. ``"torch"`` is written as MoViNet's PyTorch
port writes it (``nn.Conv3d`` with explicit ``F.pad``, ``torch.cat`` of a
buffer when streaming). ``"fastvfx"`` runs the causal depthwise convs with
``fastvfx.causal_dwconv3d`` / ``causal_dwconv3d_step`` and, in eval mode,
folds every BatchNorm into its conv with the activation fused, and applies the
SE gate of a single frame inside the projection (``fastvfx.channel_scaled_conv2d``).
"""

from __future__ import annotations

import functools
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ops.causal_dwconv3d import causal_dwconv3d, causal_dwconv3d_step, init_stream_state
from ..ops.temporal_focus_conv2d import channel_scaled_conv2d
from ._common import (
    activate, activation_name, apply_activation_, folded_conv_bn, split_activation, swap_to_fastvfx, tf_same_pad,
)

STEM_CHANNELS = 8
HEAD_CHANNELS = 480
HIDDEN_CHANNELS = 2048
# Per stage: (out, expand, (kT, kH, kW), spatial stride) of each block.
A0_STAGES = (
    ((8, 24, (1, 5, 5), 2),),
    ((32, 80, (3, 3, 3), 2), (32, 80, (3, 3, 3), 1), (32, 80, (3, 3, 3), 1)),
    ((56, 184, (5, 3, 3), 2), (56, 112, (3, 3, 3), 1), (56, 184, (3, 3, 3), 1)),
    ((56, 184, (5, 3, 3), 1), (56, 184, (3, 3, 3), 1), (56, 184, (3, 3, 3), 1), (56, 184, (3, 3, 3), 1)),
    ((104, 384, (5, 3, 3), 2), (104, 280, (1, 5, 5), 1), (104, 280, (1, 5, 5), 1), (104, 344, (1, 5, 5), 1)),
)
CONV_TYPES = ("3d", "2plus1d")


def _make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


# ---------------------------------------------------------------------------
# torch backend: plain modules, as MoViNet's PyTorch port writes them
# ---------------------------------------------------------------------------


class ConvBNAct(nn.Module):
    """A conv without time extent (1x1x1 or 1xkxk), BN, activation; TF "same" padding."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1,
                 activation: Optional[type] = None) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride
        self.conv = nn.Conv3d(in_channels, out_channels, (1, kernel, kernel), (1, stride, stride), bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3)
        self.act = activation() if activation is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = tf_same_pad(x, (self.kernel, self.kernel), (self.stride, self.stride))
        return self.act(self.bn(self.conv(x)))


class CausalDWConvBNAct(nn.Module):
    """Depthwise conv (kT, kH, kW) + BN + activation, causal in time (kT-1 zero
    frames in front) or, for the base model, temporally centred."""

    def __init__(self, channels: int, kernel: tuple[int, int, int], stride: int, activation: type,
                 causal: bool = True) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = stride
        self.causal = causal
        self.conv = nn.Conv3d(channels, channels, kernel, (1, stride, stride), groups=channels, bias=False)
        self.bn = nn.BatchNorm3d(channels, eps=1e-3)
        self.act = activation()

    def _conv(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(tf_same_pad(x, self.kernel[1:], (self.stride, self.stride)))))

    def forward(self, x: Tensor) -> Tensor:
        kt = self.kernel[0]
        front = kt - 1 if self.causal else (kt - 1) // 2
        return self._conv(F.pad(x, (0, 0, 0, 0, front, kt - 1 - front)))

    def step(self, x: Tensor, state: Optional[Tensor]):
        """Next frames of a stream; ``state`` is the last kT-1 input frames (None: zeros)."""
        kt = self.kernel[0]
        if kt == 1:
            return self._conv(x), None
        if state is None:
            state = x.new_zeros(x.size(0), x.size(1), kt - 1, x.size(3), x.size(4))
        elif state.shape[:2] != x.shape[:2] or state.shape[3:] != x.shape[3:]:
            raise ValueError(f"MoViNet step: a stream state of shape {tuple(state.shape)} does not fit frames "
                             f"of shape {tuple(x.shape)}")
        joined = torch.cat((state, x), dim=2)
        return self._conv(joined), joined[:, :, -(kt - 1):].clone()


class CausalSqueezeExcitation(nn.Module):
    """SE whose pooling is the cumulative average over past frames (causal);
    ``both_pools`` also feeds the per-frame average (TF's "2plus3d" SE)."""

    def __init__(self, channels: int, activation: type, gate: type, both_pools: bool, causal: bool = True) -> None:
        super().__init__()
        squeeze = _make_divisible(channels * 0.25)
        self.both_pools = both_pools
        self.causal = causal
        self.fc1 = nn.Conv3d(channels * (2 if both_pools else 1), squeeze, 1)
        self.act = activation()
        self.fc2 = nn.Conv3d(squeeze, channels, 1)
        self.gate = gate()

    def pooled(self, x: Tensor, state: Optional[tuple[Tensor, Tensor]]):
        """(pooled features (N, C or 2C, t, 1, 1), new state (running sum, frames))."""
        frame_means = x.mean((3, 4), keepdim=True)
        if not self.causal:
            pooled = frame_means.mean(2, keepdim=True).expand_as(frame_means)
            new_state = None
        else:
            total, count = state if state is not None else (0, x.new_zeros(()))
            sums = torch.cumsum(frame_means, dim=2) + total
            counts = count + torch.arange(1, x.size(2) + 1, dtype=x.dtype, device=x.device)
            pooled = sums / counts.view(1, 1, -1, 1, 1)
            new_state = (sums[:, :, -1:], count + x.size(2))
        if self.both_pools:
            pooled = torch.cat((pooled, frame_means), dim=1)
        return pooled, new_state

    def excite(self, pooled: Tensor) -> Tensor:
        return self.gate(self.fc2(self.act(self.fc1(pooled))))

    def scale(self, x: Tensor, state=None):
        """The gate (N, C, t, 1, 1) and the new pooling state."""
        pooled, new_state = self.pooled(x, state)
        return self.excite(pooled), new_state

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale(x)[0]

    def step(self, x: Tensor, state):
        scale, state = self.scale(x, state)
        return x * scale, state


class ShortcutProjection(nn.Module):
    """Residual path when the block changes stride or width: TF-"same" 3x3
    average pool (stride 2; padding excluded from the mean), then 1x1x1 conv + BN."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.proj = ConvBNAct(in_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride != 1:
            x = _same_avg_pool(x, self.stride)
        return self.proj(x)


def _same_avg_pool(x: Tensor, stride: int) -> Tensor:
    h, w = x.shape[-2:]
    summed = F.avg_pool3d(tf_same_pad(x, (3, 3), (stride, stride)), (1, 3, 3), (1, stride, stride))
    ones = tf_same_pad(x.new_ones(1, 1, 1, h, w), (3, 3), (stride, stride))
    valid = F.avg_pool3d(ones, (1, 3, 3), (1, stride, stride))
    return summed / valid


class MoViNetBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, expand: int, kernel: tuple[int, int, int], stride: int,
                 conv_type: str, causal: bool) -> None:
        super().__init__()
        activation = nn.SiLU if conv_type == "3d" else nn.Hardswish
        gate = nn.Sigmoid if conv_type == "3d" else nn.Hardsigmoid
        self.expand = ConvBNAct(in_channels, expand, activation=activation)
        kt, kh, kw = kernel
        if conv_type == "3d" or kt == 1:
            units = [CausalDWConvBNAct(expand, kernel, stride, activation, causal)]
        else:
            units = [CausalDWConvBNAct(expand, (1, kh, kw), stride, activation, causal),
                     CausalDWConvBNAct(expand, (kt, 1, 1), 1, activation, causal)]
        self.deep = nn.Sequential(*units)
        self.se = CausalSqueezeExcitation(expand, activation, gate, both_pools=conv_type == "2plus1d", causal=causal)
        self.project = ConvBNAct(expand, out_channels)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = ShortcutProjection(in_channels, out_channels, stride)

    def _residual(self, x: Tensor) -> Tensor:
        return x if self.shortcut is None else self.shortcut(x)

    def forward(self, x: Tensor) -> Tensor:
        return self._residual(x) + self.project(self.se(self.deep(self.expand(x))))

    def step(self, x: Tensor, state):
        unit_states, se_state = state if state is not None else ([None] * len(self.deep), None)
        y = self.expand(x)
        new_unit_states = []
        for unit, unit_state in zip(self.deep, unit_states):
            y, unit_state = unit.step(y, unit_state)
            new_unit_states.append(unit_state)
        y, se_state = self.se.step(y, se_state)
        return self._residual(x) + self.project(y), (new_unit_states, se_state)


class MoViNet(nn.Module):
    """MoViNet-A0; see the module docstring. ``backend`` is "torch" or "fastvfx"."""

    def __init__(self, num_classes: int = 600, stream: bool = True, conv_type: str = "3d",
                 dropout: float = 0.2) -> None:
        super().__init__()
        if conv_type not in CONV_TYPES:
            raise ValueError(f"conv_type must be one of {CONV_TYPES}, got {conv_type!r}")
        self.stream = stream
        self.conv_type = conv_type
        self.backend = "torch"
        activation = nn.SiLU if conv_type == "3d" else nn.Hardswish
        self.stem = ConvBNAct(3, STEM_CHANNELS, kernel=3, stride=2, activation=activation)
        blocks, channels = [], STEM_CHANNELS
        for stage in A0_STAGES:
            for out, expand, kernel, stride in stage:
                blocks.append(MoViNetBlock(channels, out, expand, kernel, stride, conv_type, causal=stream))
                channels = out
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvBNAct(channels, HEAD_CHANNELS, activation=activation)
        self.classifier = nn.Sequential(
            nn.Conv3d(HEAD_CHANNELS, HIDDEN_CHANNELS, 1), activation(), nn.Dropout(dropout),
            nn.Conv3d(HIDDEN_CHANNELS, num_classes, 1),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _check(self, x: Tensor, what: str) -> None:
        if x.dim() != 5 or x.size(1) != 3:
            raise ValueError(f"MoViNet {what}: expected frames of shape (N, 3, T, H, W), got {tuple(x.shape)}")

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, "forward")
        y = self.head(self.blocks(self.stem(x)))
        # The causal pooling's value at the last frame is the clip average.
        return self.classify(y.mean((2, 3, 4), keepdim=True))

    def classify(self, pooled: Tensor) -> Tensor:
        """Logits of pooled head features (N, 480, 1, 1, 1)."""
        return self.classifier(pooled).flatten(1)

    def init_states(self) -> dict:
        """Stream states for a new video (filled at the first step, which fixes
        the batch size and frame size of the stream)."""
        if not self.stream:
            raise RuntimeError("MoViNet: init_states / step need the stream (causal) model, built with stream=True")
        return {"backend": self.backend, "frames": None, "blocks": [None] * len(self.blocks), "pool": None}

    @torch.no_grad()
    def step(self, frames: Tensor, states: dict) -> tuple[Tensor, dict]:
        """Logits after the next frames ``(N, 3, t, H, W)`` of a stream (t >= 1);
        returns ``(logits (N, num_classes), states)``."""
        self._check(frames, "step")
        if not isinstance(states, dict) or states.get("backend") != self.backend or \
                len(states.get("blocks", ())) != len(self.blocks):
            raise ValueError("MoViNet step: states do not belong to this model (use model.init_states())")
        geometry = (frames.size(0), *frames.shape[3:], frames.dtype)
        if states["frames"] is not None and states["frames"] != geometry:
            raise ValueError(f"MoViNet step: the stream started with (batch, height, width, dtype) "
                             f"{states['frames']}, got {geometry}")
        y = self.stem(frames)
        new_blocks = []
        for block, block_state in zip(self.blocks, states["blocks"]):
            y, block_state = block.step(y, block_state)
            new_blocks.append(block_state)
        y = self.head(y)
        total, count = states["pool"] if states["pool"] is not None else (0, y.new_zeros(()))
        total = y.sum((2, 3, 4), keepdim=True) / (y.size(3) * y.size(4)) + total
        count = count + y.size(2)
        logits = self.classify(total / count)
        return logits, {"backend": self.backend, "frames": geometry, "blocks": new_blocks, "pool": (total, count)}


# ---------------------------------------------------------------------------
# fastvfx backend: same attributes and state dict, other forwards
# ---------------------------------------------------------------------------


def _pointwise(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """A 1x1x1 conv with bias; one frame of one clip is a single GEMM."""
    n, c, t, h, w = x.shape
    if n == 1 and t == 1:
        y = torch.addmm(bias.unsqueeze(1), weight.view(weight.size(0), c), x.view(c, h * w))
        return y.view(1, -1, 1, h, w)
    return F.conv3d(x, weight, bias)


class FastConvBNAct(ConvBNAct):
    def forward(self, x: Tensor) -> Tensor:
        if self.bn.training:
            return super().forward(x)
        weight, bias = folded_conv_bn(self, "conv", self.conv, self.bn)
        if self.kernel == 1:
            y = _pointwise(x, weight, bias)
        else:
            x = tf_same_pad(x, (self.kernel, self.kernel), (self.stride, self.stride))
            if x.size(2) == 1:  # one frame: conv2d (conv3d has no fast path for it)
                y = F.conv2d(x[:, :, 0], weight[:, :, 0], bias, self.stride).unsqueeze(2)
            else:
                y = F.conv3d(x, weight, bias, self.conv.stride)
        return _activate(y, self.act)


def _activate(y: Tensor, act: nn.Module) -> Tensor:
    return activate(y, activation_name(act))


class FastCausalDWConvBNAct(CausalDWConvBNAct):
    def forward(self, x: Tensor) -> Tensor:
        if not self.causal:
            return super().forward(x)
        if self.bn.training:
            return self.act(self.bn(causal_dwconv3d(x, self.conv.weight, None, self.stride, "same")))
        weight, bias = folded_conv_bn(self, "conv", self.conv, self.bn)
        fused, after = split_activation(activation_name(self.act))
        return activate(causal_dwconv3d(x, weight, bias, self.stride, "same", fused), after)

    def step(self, x: Tensor, state):
        kt = self.kernel[0]
        if kt == 1:
            return self.forward(x), None
        if state is None:
            state = init_stream_state(x.size(0), x.size(1), kt, x.size(3), x.size(4), x.dtype, x.device,
                                      kernel_size=self.kernel, stride=self.stride, padding="same")
        if self.bn.training:
            y = causal_dwconv3d_step(x, self.conv.weight, None, state, self.stride, "same")
            return self.act(self.bn(y)), state
        weight, bias = folded_conv_bn(self, "conv", self.conv, self.bn)
        fused, after = split_activation(activation_name(self.act))
        y = causal_dwconv3d_step(x, weight, bias, state, self.stride, "same", fused)
        return apply_activation_(y, after), state


class FastMoViNetBlock(MoViNetBlock):
    """Eval mode, one frame: the SE gate goes into the projection's weights
    instead of a pass over the expanded features (one clip: a weight scaled
    per input channel, then one GEMM; several: ``channel_scaled_conv2d``)."""

    def _gated_project(self, y: Tensor, scale: Tensor) -> Tensor:
        project = self.project
        if project.bn.training or y.size(2) != 1:
            return project(y * scale)
        weight, bias = folded_conv_bn(project, "conv", project.conv, project.bn)
        n, c, _, h, w = y.shape
        weight = weight.view(weight.size(0), c)
        if n == 1:
            out = torch.addmm(bias.unsqueeze(1), weight * scale.view(1, c), y.view(c, h * w))
        else:
            out = channel_scaled_conv2d(y.view(n, c, h, w), scale.view(n, c), weight[:, :, None, None], bias)
        return out.view(n, -1, 1, h, w)

    def forward(self, x: Tensor) -> Tensor:
        y = self.deep(self.expand(x))
        if y.size(2) != 1:
            return self._residual(x) + self.project(self.se(y))
        return self._residual(x) + self._gated_project(y, self.se.scale(y)[0])

    def step(self, x: Tensor, state):
        modules = self._modules
        if modules["project"].bn.training or x.size(2) != 1:
            return super().step(x, state)
        # One frame in eval mode, the per-frame hot path of a stream: submodules
        # are called through forward() (no hooks) and the SE gate is a vector.
        unit_states, se_state = state if state is not None else ([None] * len(modules["deep"]), None)
        y = modules["expand"].forward(x)
        new_unit_states = []
        for unit, unit_state in zip(modules["deep"], unit_states):
            y, unit_state = unit.step(y, unit_state)
            new_unit_states.append(unit_state)
        scale, se_state = modules["se"].frame_gate(y, se_state)
        out = self._gated_project(y, scale)
        shortcut = modules.get("shortcut")
        return out.add_(x if shortcut is None else shortcut.forward(x)), (new_unit_states, se_state)


def _linear(conv: nn.Conv3d, x: Tensor) -> Tensor:
    """A 1x1x1 conv applied to vectors (..., C): the same GEMM without conv3d's
    per-call setup, which dominates on 1x1x1 inputs."""
    params = conv._parameters
    weight = params["weight"]
    return F.linear(x, weight.view(weight.size(0), -1), params["bias"])


class FastCausalSqueezeExcitation(CausalSqueezeExcitation):
    def frame_gate(self, x: Tensor, state) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Eval mode, one causal frame: the gate as an (N, C) matrix, and the new state."""
        n, c = x.shape[:2]
        frame_means = x.mean((3, 4), keepdim=True)
        total, count = state if state is not None else (0, x.new_zeros(()))
        total = frame_means + total
        pooled = (total / (count + 1)).view(n, c)
        if self.both_pools:
            pooled = torch.cat((pooled, frame_means.view(n, c)), dim=1)
        modules = self._modules
        hidden = apply_activation_(_linear(modules["fc1"], pooled), activation_name(modules["act"]))
        logits = _linear(modules["fc2"], hidden)
        gate = torch.sigmoid_(logits) if type(modules["gate"]) is nn.Sigmoid else F.hardsigmoid(logits, inplace=True)
        return gate, (total, count + 1)

    def pooled(self, x: Tensor, state):
        if not self.causal or x.size(2) != 1:
            return super().pooled(x, state)
        # One frame: the running sum plus this frame's mean, no cumsum.
        frame_means = x.mean((3, 4), keepdim=True)
        total, count = state if state is not None else (0, x.new_zeros(()))
        total = frame_means + total
        pooled = total / (count + 1)
        if self.both_pools:
            pooled = torch.cat((pooled, frame_means), dim=1)
        return pooled, (total, count + 1)

    def excite(self, pooled: Tensor) -> Tensor:
        n, c, t = pooled.shape[:3]
        if t == 1:
            hidden = _activate(_linear(self.fc1, pooled.view(n, c)), self.act)
            return self.gate(_linear(self.fc2, hidden)).view(n, -1, 1, 1, 1)
        vectors = pooled.view(n, c, t).transpose(1, 2)
        hidden = _activate(_linear(self.fc1, vectors), self.act)
        gate = self.gate(_linear(self.fc2, hidden))
        return gate.transpose(1, 2).reshape(n, -1, t, 1, 1)


class FastShortcutProjection(ShortcutProjection):
    def forward(self, x: Tensor) -> Tensor:
        if self.stride != 1 and x.size(2) == 1:
            n, c, _, h, w = x.shape
            padded = tf_same_pad(x.view(n, c, h, w), (3, 3), (self.stride, self.stride))
            x = (F.avg_pool2d(padded, 3, self.stride) * _pool_divisor(h, w, self.stride, x.dtype, x.device)).unsqueeze(2)
        elif self.stride != 1:
            x = _same_avg_pool(x, self.stride)
        return self.proj(x)


@functools.lru_cache(maxsize=64)
def _pool_divisor(h: int, w: int, stride: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """9 / (number of unpadded pixels) of each TF-"same" 3x3 pooling window."""
    ones = tf_same_pad(torch.ones(1, 1, h, w, dtype=dtype, device=device), (3, 3), (stride, stride))
    return 1 / F.avg_pool2d(ones, 3, stride)


class FastMoViNet(MoViNet):
    def classify(self, pooled: Tensor) -> Tensor:
        dense9, act, dropout, dense10 = self.classifier
        hidden = _activate(_linear(dense9, pooled.flatten(1)), act)
        return _linear(dense10, dropout(hidden))


FASTVFX_CLASSES = {
    ConvBNAct: FastConvBNAct,
    CausalDWConvBNAct: FastCausalDWConvBNAct,
    MoViNetBlock: FastMoViNetBlock,
    CausalSqueezeExcitation: FastCausalSqueezeExcitation,
    ShortcutProjection: FastShortcutProjection,
    MoViNet: FastMoViNet,
}


def to_fastvfx(model: nn.Module) -> nn.Module:
    """Swap the torch-backend modules of a MoViNet (in place) for their fastvfx forms."""
    return swap_to_fastvfx(model, FASTVFX_CLASSES, MoViNet)


def movinet_a0(num_classes: int = 600, stream: bool = True, conv_type: str = "3d", backend: str = "torch",
               dropout: float = 0.2) -> MoViNet:
    """MoViNet-A0, random weights. ``stream=True``: the causal model, with
    ``init_states()`` / ``step(frames, states)``."""
    from . import _check_backend

    _check_backend(backend)
    model = MoViNet(num_classes, stream, conv_type, dropout)
    return to_fastvfx(model) if backend == "fastvfx" else model
