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

Streaming: ``states = model.init_states(batch_size, height, width)``, then
``logits, states = model.step(frames, states)`` for chunks of any length; the
logits after the last chunk equal ``model(clip)``. The states are a pytree of
tensors only (dicts, lists and tuples of tensors), so that an exported step
can take and return them as graph inputs and outputs: the last kT-1 input
frames of every causal conv (the fastvfx backend's ring buffer,
``StreamState``), the running sum of every SE pooling and of the head's
pooling, and one frame count (int64) that all the poolings share.

Deviations from the official models: no pretrained weights (random init),
no stochastic depth, and the 2048-wide hidden layer of the head uses the same
activation as the rest of the network. ``stream=False`` builds the base
(non-causal) variant: temporally centred padding and global pooling, no
streaming.

Backends share the state dict and the block code; each block is built from
its backend's modules. ``"torch"`` uses plain modules written as MoViNet's
PyTorch port writes them (``nn.Conv3d`` with explicit ``F.pad``, ``torch.cat``
of a buffer when streaming). ``"fastvfx"`` uses ``fastvfx.nn``:
``CausalDepthwiseConv3dBNAct`` (``fastvfx.causal_dwconv3d`` / its stream step),
``ConvBNAct`` and ``CausalSqueezeExcitation``; in eval mode every BatchNorm is
folded into its conv with the activation fused, and the SE gate of a single
frame goes into the projection's weights (``ConvBNAct.scaled``).
"""

from __future__ import annotations

import functools
import operator
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import _C
from .. import nn as fnn
from ..nn import _onednn
from ..nn._activation import activate, activation_name
from ..nn._batchnorm import cached, folded_conv_bn
from ..ops.fused_conv2d import fused_conv2d, pack_weight
from ..nn.causal_squeeze_excitation import causal_pool
from ..nn.conv_bn_act import tf_same_pad

STEM_CHANNELS = 8
STEM_STRIDE = 2
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
# The fastvfx backend steps a stream on the calling thread alone while a step's
# frames hold at most this many pixels (batch x frames x H x W): at 172x172 the
# largest block is 5 M multiply-adds, the stem, head and classifier are 2 M
# each, and splitting such ops over threads cost more than it saved
# (docs/models.md, "MoViNet: threads"). The fused block op makes the same
# choice per block by its own work.
SERIAL_STEP_PIXELS = 200 * 200


def _make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


# ---------------------------------------------------------------------------
# torch backend's modules: plain PyTorch, as MoViNet's PyTorch port writes them
# ---------------------------------------------------------------------------


class ConvBNAct(nn.Module):
    """A conv without time extent (1x1x1 or 1xkxk), BN, activation; TF "same"
    padding. The torch counterpart of ``fastvfx.nn.ConvBNAct``."""

    def __init__(self, conv: nn.Conv3d, bn: nn.BatchNorm3d, act: nn.Module, tf_same: bool = True) -> None:
        super().__init__()
        self.conv = conv
        self.bn = bn
        self.act = act
        self.tf_same = tf_same

    def forward(self, x: Tensor) -> Tensor:
        if self.tf_same:
            x = tf_same_pad(x, self.conv.kernel_size[1:], self.conv.stride[1:])
        return self.act(self.bn(self.conv(x)))

    def scaled(self, x: Tensor, scale: Tensor) -> Tensor:
        return self(x * scale)


class CausalDWConvBNAct(nn.Module):
    """Depthwise conv (kT, kH, kW) + BN + activation, causal in time (kT-1 zero
    frames in front) or, for the base model, temporally centred. The torch
    counterpart of ``fastvfx.nn.CausalDepthwiseConv3dBNAct``."""

    state_type = Tensor  # a stream state: the last kT-1 input frames

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

    def init_state(self, batch_size: int, height: int, width: int, dtype: torch.dtype,
                   device: Optional[torch.device]) -> Tensor:
        """Zeros for the last kT-1 input frames (kT > 1): the start of a video."""
        return torch.zeros(batch_size, self.conv.in_channels, self.kernel[0] - 1, height, width, dtype=dtype,
                           device=device)

    def step(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Next frames of a stream (kT > 1); ``state`` is the last kT-1 input frames."""
        joined = torch.cat((state, x), dim=2)
        return self._conv(joined), joined[:, :, -(self.kernel[0] - 1):].clone()


class CausalSqueezeExcitation(nn.Module):
    """SE whose pooling is the cumulative average over past frames (causal);
    ``both_pools`` also feeds the per-frame average (TF's "2plus3d" SE). The
    torch counterpart of ``fastvfx.nn.CausalSqueezeExcitation``."""

    def __init__(self, channels: int, squeeze: int, activation: type, gate: type, both_pools: bool,
                 causal: bool = True) -> None:
        super().__init__()
        self.both_pools = both_pools
        self.causal = causal
        self.fc1 = nn.Conv3d(channels * (2 if both_pools else 1), squeeze, 1)
        self.act = activation()
        self.fc2 = nn.Conv3d(squeeze, channels, 1)
        self.gate = gate()

    def scale(self, x: Tensor, total: Optional[Tensor] = None, counts: Optional[Tensor] = None):
        """The gate (N, C, t, 1, 1) and the new running sum."""
        pooled, new_total = causal_pool(x, total, counts, self.causal, self.both_pools)
        return self.gate(self.fc2(self.act(self.fc1(pooled)))), new_total

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale(x)[0]


def _same_avg_pool(x: Tensor, stride: int) -> Tensor:
    """TF-"same" 3x3 average pooling of (N, C, T, H, W), padding excluded from the mean."""
    h, w = x.shape[-2:]
    summed = F.avg_pool3d(tf_same_pad(x, (3, 3), (stride, stride)), (1, 3, 3), (1, stride, stride))
    ones = tf_same_pad(x.new_ones(1, 1, 1, h, w), (3, 3), (stride, stride))
    valid = F.avg_pool3d(ones, (1, 3, 3), (1, stride, stride))
    return summed / valid


# ---------------------------------------------------------------------------
# fastvfx backend's pieces that are plain PyTorch too, just cheaper per call
# ---------------------------------------------------------------------------


def _same_avg_pool_frames(x: Tensor, stride: int) -> Tensor:
    """:func:`_same_avg_pool` as 2-D pooling of the frames, with the divisor cached per size."""
    n, c, t, h, w = x.shape
    padded = tf_same_pad(x.transpose(1, 2).reshape(n * t, c, h, w), (3, 3), (stride, stride))
    y = F.avg_pool2d(padded, 3, stride) * _pool_divisor(h, w, stride, x.dtype, x.device)
    return y.view(n, t, c, *y.shape[-2:]).transpose(1, 2) if t > 1 else y.view(n, c, 1, *y.shape[-2:])


@functools.lru_cache(maxsize=64)
def _pool_divisor(h: int, w: int, stride: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """9 / (number of unpadded pixels) of each TF-"same" 3x3 pooling window."""
    ones = tf_same_pad(torch.ones(1, 1, h, w, dtype=dtype, device=device), (3, 3), (stride, stride))
    return 1 / F.avg_pool2d(ones, 3, stride)


def _linear(conv: nn.Conv3d, x: Tensor, activation: Optional[str] = None) -> Tensor:
    """``activation`` of a 1x1x1 conv applied to vectors (N, C): the same GEMM
    without conv3d's per-call setup, which dominates on 1x1x1 inputs. In
    inference a 1x1 ``fastvfx.fused_conv2d`` with the activation fused
    (MKL's addmm on one row took 0.6 ms for the 2048 x 600 classifier)."""
    params = conv._parameters
    weight = params["weight"]
    if _onednn.inference(x):
        packed = cached(conv, "fused", (weight,), lambda: pack_weight(weight.reshape(weight.size(0), -1)))
        return fused_conv2d(x[:, :, None, None], packed, params["bias"], activation=activation).flatten(1)
    return activate(F.linear(x, weight.view(weight.size(0), -1), params["bias"]), activation)


# ---------------------------------------------------------------------------
# The model: one code path, modules chosen by backend at construction
# ---------------------------------------------------------------------------


class _Parts:
    """The modules a backend builds MoViNet from."""

    def __init__(self, backend: str) -> None:
        fast = backend == "fastvfx"
        self.backend = backend
        self.causal_unit = fnn.CausalDepthwiseConv3dBNAct if fast else CausalDWConvBNAct
        self.squeeze_excitation = fnn.CausalSqueezeExcitation if fast else CausalSqueezeExcitation
        self.same_avg_pool = _same_avg_pool_frames if fast else _same_avg_pool
        self._conv_bn_act = fnn.ConvBNAct if fast else ConvBNAct

    def conv_bn_act(self, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1,
                    activation: Optional[type] = None) -> nn.Module:
        """A conv without time extent (1x1x1 or 1xkxk), BN, activation; TF "same" padding."""
        conv = nn.Conv3d(in_channels, out_channels, (1, kernel, kernel), (1, stride, stride), bias=False)
        act = activation() if activation is not None else nn.Identity()
        return self._conv_bn_act(conv, nn.BatchNorm3d(out_channels, eps=1e-3), act, tf_same=True)


class ShortcutProjection(nn.Module):
    """Residual path when the block changes stride or width: TF-"same" 3x3
    average pool (stride 2; padding excluded from the mean), then 1x1x1 conv + BN."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, parts: _Parts) -> None:
        super().__init__()
        self.stride = stride
        self._pool = parts.same_avg_pool
        self.proj = parts.conv_bn_act(in_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride != 1:
            x = self._pool(x, self.stride)
        return self.proj(x)


class MoViNetBlock(nn.Module):
    """Expansion, causal depthwise unit(s), SE, projection (the SE gate
    applied by ``project.scaled``), residual."""

    def __init__(self, in_channels: int, out_channels: int, expand: int, kernel: tuple[int, int, int], stride: int,
                 conv_type: str, causal: bool, parts: _Parts) -> None:
        super().__init__()
        activation = nn.SiLU if conv_type == "3d" else nn.Hardswish
        gate = nn.Sigmoid if conv_type == "3d" else nn.Hardsigmoid
        self.expand = parts.conv_bn_act(in_channels, expand, activation=activation)
        kt, kh, kw = kernel
        if conv_type == "3d" or kt == 1:
            units = [parts.causal_unit(expand, kernel, stride, activation, causal)]
        else:
            units = [parts.causal_unit(expand, (1, kh, kw), stride, activation, causal),
                     parts.causal_unit(expand, (kt, 1, 1), 1, activation, causal)]
        self.deep = nn.Sequential(*units)
        self.se = parts.squeeze_excitation(expand, _make_divisible(expand * 0.25), activation, gate,
                                           both_pools=conv_type == "2plus1d", causal=causal)
        self.project = parts.conv_bn_act(expand, out_channels)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = ShortcutProjection(in_channels, out_channels, stride, parts)
        self._fused_step = parts.backend == "fastvfx"

    def forward(self, x: Tensor) -> Tensor:
        y = self.deep(self.expand(x))
        out = self.project.scaled(y, self.se.scale(y)[0])
        return out + (x if self.shortcut is None else self.shortcut(x))

    def state_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """Input (height, width) of each causal unit with kT > 1, for block
        inputs of this size."""
        sizes = []
        for unit in self.deep:
            if unit.kernel[0] > 1:
                sizes.append((height, width))
            height, width = -(-height // unit.stride), -(-width // unit.stride)
        return sizes

    def init_state(self, batch_size: int, height: int, width: int, dtype: torch.dtype,
                   device: Optional[torch.device]) -> tuple[list, Tensor]:
        """(states of the causal units with kT > 1, SE running sum) for input
        frames of this size: the start of a video."""
        causal = [unit for unit in self.deep if unit.kernel[0] > 1]
        unit_states = [unit.init_state(batch_size, h, w, dtype, device)
                       for unit, (h, w) in zip(causal, self.state_sizes(height, width))]
        channels = self.se.fc2.out_channels
        return unit_states, torch.zeros(batch_size, channels, 1, 1, 1, dtype=dtype, device=device)

    def step(self, x: Tensor, state: tuple[list, Tensor], counts: Tensor):
        """Next frames ``x`` of a stream, whose positions in it are ``counts``
        (t,); inference only. Submodules are called through ``forward`` (a
        step is the per-frame hot path: no hooks). The fastvfx backend steps
        one frame in eval mode without gradients as one
        ``fastvfx.movinet_block_step`` call; other chunks, training mode,
        gradient mode and torch.compile / torch.export (which then record the
        ops below) take the module path."""
        if self._fused_step and x.size(2) == 1 and x.dtype in _FUSED_DTYPES and x.is_cpu and \
                not self._modules["expand"]._modules["bn"].training and not torch.is_grad_enabled() and \
                not torch.compiler.is_compiling():
            return self._step_fused(x, state, counts)
        modules = self._modules
        unit_states, se_total = state
        y = modules["expand"].forward(x)
        new_unit_states = []
        for unit in modules["deep"]:
            if unit.kernel[0] > 1:
                y, unit_state = unit.step(y, unit_states[len(new_unit_states)])
                new_unit_states.append(unit_state)
            else:
                y = unit.forward(y)
        scale, se_total = modules["se"].scale(y, se_total, counts)
        out = modules["project"].scaled(y, scale)
        shortcut = modules.get("shortcut")
        return out.add_(x if shortcut is None else shortcut.forward(x)), (new_unit_states, se_total)

    def _step_slots(self) -> list[tuple[dict, str]]:
        """Where every object the fused step's weights come from is held: the
        submodules (in their parents' ``_modules``), their parameters and
        buffers, and each BatchNorm's eps (in its ``__dict__``)."""
        slots = [(self._modules, name) for name in ("expand", "deep", "se", "project", "shortcut")]
        modules = self._modules
        deep = modules["deep"]
        slots += [(deep._modules, name) for name in deep._modules]
        parts = [modules["expand"], modules["se"], modules["project"], *deep._modules.values()]
        shortcut = modules.get("shortcut")  # None: a plain attribute, not in _modules
        if shortcut is not None:
            slots.append((shortcut._modules, "proj"))
            parts.append(shortcut.proj)
        for part in parts:
            for name, child in part._modules.items():
                slots.append((part._modules, name))
                slots += [(child._parameters, key) for key in child._parameters]
                slots += [(child._buffers, key) for key in child._buffers]
                if isinstance(child, nn.modules.batchnorm._BatchNorm):
                    slots.append((child.__dict__, "eps"))
        return slots

    def _step_weights(self) -> tuple[list, list]:
        """The fused op's arguments before and after the states and the SE
        running sum and count: the submodules' folded weights as GEMM
        matrices, the depthwise kernels, strides and names."""
        modules = self._modules
        expand, se, project, shortcut = modules["expand"], modules["se"], modules["project"], modules.get("shortcut")
        units = list(modules["deep"]._modules.values())
        dw = [folded_conv_bn(unit, "conv", unit.conv, unit.bn) for unit in units]
        # ConvBNAct._folded(): (weight, bias, frame weight, GEMM matrix, bias column).
        _, expand_bias, _, expand_matrix, _ = expand._folded()
        _, project_bias, _, project_matrix, _ = project._folded()
        shortcut_matrix = shortcut_bias = None
        if shortcut is not None:
            _, shortcut_bias, _, shortcut_matrix, _ = shortcut.proj._folded()
        gate = "sigmoid" if type(se.gate) is nn.Sigmoid else "hardsigmoid"
        head = [expand_matrix, expand_bias, [w for w, _ in dw], [b for _, b in dw], [unit.stride for unit in units]]
        tail = [se.both_pools, project_matrix, project_bias, shortcut_matrix, shortcut_bias, expand._activation, gate]
        return head + [None] * 3 + list(se.matrices()), tail

    def _step_fused(self, x: Tensor, state: tuple[list, Tensor], counts: Tensor):
        """:meth:`step` of one frame through the fused op, with the folded
        weights of the submodules, cached until a :class:`_SlotKey` over
        :meth:`_step_slots` goes stale; the states are updated in place."""
        unit_states, se_total = state
        # The op adds to the running sum in place; a sum left by a longer
        # chunk's module path is a slice of its cumulative sums.
        se_total = se_total.contiguous()
        cache = self.__dict__.get("_fastvfx_step")
        if cache is None or not cache[0].fresh():
            key = _SlotKey(self._step_slots())
            cache = self.__dict__["_fastvfx_step"] = (key, *self._step_weights())
        _, head, tail = cache
        # The states' three lists fill the op's argument slots 5-7 (the
        # argument list is the cache's own, refilled each step: no copy).
        head[5] = [s.buffer for s in unit_states]
        head[6] = [s.position for s in unit_states]
        head[7] = [s.padded for s in unit_states]
        y = _BLOCK_STEP(x, *head, se_total, counts, *tail)
        return y, (unit_states, se_total)


_FUSED_DTYPES = (torch.float32, torch.float64)
_BLOCK_STEP = torch.ops.fastvfx.movinet_block_step.default
_VERSION = operator.attrgetter("_version")


class _SlotKey:
    """Validity of values derived from the objects held in some dict slots
    (a module's ``_modules``, ``_parameters``, ``_buffers``, ``__dict__``):
    fresh while every slot holds the same object and every tensor among them
    keeps its version (in-place writes: ``mul_`` under no_grad,
    ``load_state_dict``; a training-mode BatchNorm forward moves
    ``num_batches_tracked``'s) and its data pointer (``.to()`` /
    ``.double()`` swap a parameter's memory). Checked at every frame of a
    stream over about fifty slots per block, hence the C-level ``map`` loops
    and list comparisons. Writes through ``.data`` bypass the version counter
    (PyTorch gives ``.data`` its own) and are not seen, as by any
    version-based cache."""

    __slots__ = ("dicts", "keys", "objects", "tensors", "stamps")

    def __init__(self, slots: list[tuple[dict, str]]) -> None:
        self.dicts = [d for d, _ in slots]
        self.keys = [k for _, k in slots]
        # Holding the objects keeps their ids from being reused meanwhile.
        self.objects = list(map(dict.get, self.dicts, self.keys))
        self.tensors = [o for o in self.objects if isinstance(o, Tensor)]
        self.stamps = self._stamps()

    def _stamps(self) -> tuple[list, list]:
        return list(map(_VERSION, self.tensors)), list(map(Tensor.data_ptr, self.tensors))

    def fresh(self) -> bool:
        return all(map(operator.is_, map(dict.get, self.dicts, self.keys), self.objects)) and \
            self._stamps() == self.stamps


class MoViNet(nn.Module):
    """MoViNet-A0; see the module docstring. ``backend`` is "torch" or "fastvfx"."""

    def __init__(self, num_classes: int = 600, stream: bool = True, conv_type: str = "3d",
                 dropout: float = 0.2, backend: str = "torch") -> None:
        super().__init__()
        if conv_type not in CONV_TYPES:
            raise ValueError(f"conv_type must be one of {CONV_TYPES}, got {conv_type!r}")
        self.stream = stream
        self.conv_type = conv_type
        self.backend = backend
        self.config = {"num_classes": num_classes, "stream": stream, "conv_type": conv_type, "dropout": dropout}
        parts = _Parts(backend)
        activation = nn.SiLU if conv_type == "3d" else nn.Hardswish
        self.stem = parts.conv_bn_act(3, STEM_CHANNELS, kernel=3, stride=STEM_STRIDE, activation=activation)
        blocks, channels = [], STEM_CHANNELS
        for stage in A0_STAGES:
            for out, expand, kernel, stride in stage:
                blocks.append(MoViNetBlock(channels, out, expand, kernel, stride, conv_type, stream, parts))
                channels = out
        self.blocks = nn.Sequential(*blocks)
        self.head = parts.conv_bn_act(channels, HEAD_CHANNELS, activation=activation)
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
        if self.backend == "torch":
            return self.classifier(pooled).flatten(1)
        dense9, act, dropout, dense10 = self.classifier
        hidden = _linear(dense9, pooled.flatten(1), activation_name(act))
        return _linear(dense10, dropout(hidden))


    def init_states(self, batch_size: int = 1, height: int = 172, width: int = 172,
                    dtype: Optional[torch.dtype] = None, device: Optional[torch.device] = None) -> dict:
        """Stream states for a new video of frames ``(batch_size, 3, t, height, width)``:
        ``{"frames": count (int64), "blocks": [per block: ([conv states], SE sum)],
        "pool": head sum}``, tensors only."""
        if not self.stream:
            raise RuntimeError("MoViNet: init_states / step need the stream (causal) model, built with stream=True")
        dtype = dtype or self.head.conv.weight.dtype
        device = device or self.head.conv.weight.device
        h, w = -(-height // STEM_STRIDE), -(-width // STEM_STRIDE)
        blocks = []
        for block in self.blocks:
            blocks.append(block.init_state(batch_size, h, w, dtype, device))
            stride = block.deep[0].stride
            h, w = -(-h // stride), -(-w // stride)
        pool = torch.zeros(batch_size, HEAD_CHANNELS, 1, 1, 1, dtype=dtype, device=device)
        return {"frames": torch.zeros((), dtype=torch.int64, device=device), "blocks": blocks, "pool": pool}

    def _check_states(self, frames: Tensor, states) -> None:
        """Raise before any state is touched when ``states`` do not come from
        this model's ``init_states`` (structure, backend) or do not fit ``frames``."""
        blocks = states.get("blocks") if isinstance(states, dict) else None
        if not isinstance(blocks, (list, tuple)) or len(blocks) != len(self.blocks) or \
                not isinstance(states.get("pool"), Tensor) or not isinstance(states.get("frames"), Tensor):
            raise ValueError("MoViNet step: states do not belong to this model (use model.init_states())")
        state_type = self.blocks[1].deep[-1].state_type
        for block, state in zip(self.blocks, blocks):
            causal = [unit for unit in block.deep if unit.kernel[0] > 1]
            if not isinstance(state, (list, tuple)) or len(state) != 2 or len(state[0]) != len(causal) or \
                    not all(isinstance(s, state_type) for s in state[0]):
                raise ValueError("MoViNet step: states do not belong to this model (use model.init_states())")
        # The second block holds the first conv state (the first has kT = 1).
        h, w = frames.shape[-2:]
        for stride in (STEM_STRIDE, self.blocks[0].deep[0].stride):
            h, w = -(-h // stride), -(-w // stride)
        first = blocks[1][0][0]
        got = tuple((first if isinstance(first, Tensor) else first.buffer).shape[-2:])
        pool = states["pool"]
        if pool.shape[0] != frames.size(0) or pool.dtype != frames.dtype or \
                got != self.blocks[1].state_sizes(h, w)[0]:
            raise ValueError(f"MoViNet step: the states do not fit frames of shape {tuple(frames.shape)} "
                             f"({frames.dtype}); use init_states() with this batch, frame size and dtype")

    @torch.no_grad()
    def step(self, frames: Tensor, states: dict) -> tuple[Tensor, dict]:
        """Logits after the next frames ``(N, 3, t, H, W)`` of a stream (t >= 1);
        returns ``(logits (N, num_classes), states)``."""
        self._check(frames, "step")
        self._check_states(frames, states)
        if self.backend == "fastvfx" and frames.is_cpu and not torch.compiler.is_compiling() and \
                frames.size(0) * frames.size(2) * frames.size(3) * frames.size(4) <= SERIAL_STEP_PIXELS:
            with _C.serial():
                return self._step(frames, states)
        return self._step(frames, states)

    def _step(self, frames: Tensor, states: dict) -> tuple[Tensor, dict]:
        count = states["frames"]
        counts = count + torch.arange(1, frames.size(2) + 1, device=count.device)
        y = self.stem(frames)
        new_blocks = []
        for block, block_state in zip(self.blocks, states["blocks"]):
            y, block_state = block.step(y, block_state, counts)
            new_blocks.append(block_state)
        y = self.head(y)
        total = y.sum((2, 3, 4), keepdim=True) / (y.size(3) * y.size(4)) + states["pool"]
        logits = self.classify(total / counts[-1])
        return logits, {"frames": counts[-1], "blocks": new_blocks, "pool": total}


def movinet_a0(num_classes: int = 600, stream: bool = True, conv_type: str = "3d", backend: str = "torch",
               dropout: float = 0.2) -> MoViNet:
    """MoViNet-A0, random weights. ``stream=True``: the causal model, with
    ``init_states()`` / ``step(frames, states)``."""
    from . import _check_backend

    _check_backend(backend)
    return MoViNet(num_classes, stream, conv_type, dropout, backend)
