"""TSM on MobileNetV2 (Lin, Gan, Han, ICCV 2019), offline and online.

MobileNetV2 as torchvision / TSM define it (width 1.0): a 3x3 stem of 32
channels (stride 2), inverted residual blocks (t, c, n, s) = (1,16,1,1),
(6,24,2,2), (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1), a
1x1 conv to 1280, global average pool, dropout and a linear classifier. Each
block's ``conv`` is TSM's flat sequence (1x1 expansion, BN, ReLU6, 3x3
depthwise, BN, ReLU6, 1x1 projection, BN; no expansion when t = 1).

- Offline (``online=False``): the input is ``(N*T, 3, H, W)``, T =
  ``n_segment`` frames per clip; every block with a residual connection wraps
  its first 1x1 conv in ``TemporalShift(net, n_segment, fold_div=8)`` (TSM's
  residual shift; state dict key ``conv.0.net.weight``); the output is the
  average of the per-frame logits over each clip (TSN's consensus), ``(N, num_classes)``.
- Online (``online=True``): TSM's online model. Each residual block keeps a
  cache of the first C/8 channels of its input from the previous frame and
  replaces them (uni-directional shift, past to present). ``init_states()``
  gives zero caches, ``step(frame (N, 3, H, W), states)`` returns the frame's
  logits ``(N, num_classes)``. ``forward`` on a clip ``(N*T, 3, H, W)``
  applies the same uni-directional shift to all frames at once and averages
  the logits, so it equals the mean of T steps from zero caches.

Backends share the state dict and the block code; each block is built from
its backend's modules. ``"torch"`` shifts as TSM writes it (zeros and slice
copies; online, ``torch.cat`` of the cache) and runs ``nn.Sequential``
layers. ``"fastvfx"`` builds the layers as ``fastvfx.nn.FoldedSequential``
(eval mode: every BatchNorm folded into its conv, the shifted 1x1 expansion
run as ``fastvfx.shift_conv1x1``, the shifted tensor never written) and the
shift wrappers as ``fastvfx.nn.TemporalShift``; online, it swaps the cache in
place (``fastvfx.temporal_shift_online_``), adding the residual from the
swapped halves so the identity is never lost.

On the fastvfx backend's inference path (eval mode, float32 CPU, no
gradients, not compiling or exporting) ``forward`` and ``step`` run on an
inference plan: the stem and last convs (``_onednn.PlannedConv2d``; the stem
reads the NCHW frames as they come, on ``fastvfx.fused_conv2d``'s direct
path for few input channels), the 17
blocks (``fnn.folded_sequential.PlannedInvertedResidual``: one
``fastvfx.inverted_residual`` / ``inverted_residual_step`` call each) and the
classifier bound once to their folded, packed weights, and the caches'
shapes ``step`` expects. ``_batchnorm.cached_tree`` checks the whole model
once a call (a parameter, buffer or module replaced, a tensor changed in
place or moved, an ``eps`` or a training flag changed); the plan then runs as
a loop of op calls, with none of the per-layer fold caches and checks of the
modules' own paths (about 0.45 ms a step, one thread), and computes what
they compute, bit for bit.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch
from torch import Tensor, nn

from .. import _C
from .. import nn as fnn
from ..nn import _onednn
from ..nn._batchnorm import cached_tree
from ..nn.folded_sequential import PlannedInvertedResidual
from ..ops.fused_conv2d import fused_conv2d, pack_weight
from ..ops.temporal_shift import temporal_shift_online_, temporal_shift_reference

SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
FOLD_DIV = 8


# ---------------------------------------------------------------------------
# torch backend's modules: as torchvision / TSM write them
# ---------------------------------------------------------------------------


class TemporalShift(nn.Module):
    """TSM's residual shift wrapper: ``net(shift(x))``, shift written as TSM
    writes it (``torch.zeros_like`` and slice copies)."""

    def __init__(self, net: nn.Module, n_segment: int = 8, n_div: int = 8, mode: str = "bidirectional") -> None:
        super().__init__()
        self.net = net
        self.n_segment = n_segment
        self.fold_div = n_div
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        return self.net(temporal_shift_reference(x, self.n_segment, self.fold_div, self.mode))


class ShiftedSequential(nn.Sequential):
    """``nn.Sequential`` with ``shifted(x, ...) = self(shift(x))``: the torch
    counterpart of ``fastvfx.nn.FoldedSequential``."""

    def shifted(self, x: Tensor, n_segment: int, fold_div: int, mode: str) -> Tensor:
        return self(temporal_shift_reference(x, n_segment, fold_div, mode))


def _online_shift_torch(block: "InvertedResidualWithShift", x: Tensor, cache: Tensor) -> tuple[Tensor, Tensor]:
    """TSM online: the first C/8 channels come from the previous frame's cache."""
    fold = x.size(1) // FOLD_DIV
    x1, x2 = x[:, :fold], x[:, fold:]
    return x + block.conv(torch.cat((cache, x2), dim=1)), x1


def _residual_torch(x: Tensor, y: Tensor) -> Tensor:
    return x + y


# ---------------------------------------------------------------------------
# fastvfx backend's functions (its modules are fastvfx.nn's)
# ---------------------------------------------------------------------------


def _online_shift_fastvfx(block: "InvertedResidualWithShift", x: Tensor, cache: Tensor) -> tuple[Tensor, Tensor]:
    """Swaps ``x[:, :fold]`` with the cache in place (``x`` is consumed) and
    returns ``(out, cache)``, the cache now holding this frame's channels. In
    inference the block is one fused op that reads the cache's channels and
    then updates it, leaving ``x`` untouched."""
    if block.conv.training or (torch.is_grad_enabled() and (x.requires_grad or cache.requires_grad)):
        return _online_shift_torch(block, x, cache)
    fold = cache.size(1)
    # The in-place swap needs one layout; the returned cache keeps x's, so a
    # stream converts its caches once (channels_last on the fast paths).
    cache = cache.contiguous(memory_format=_onednn.memory_format(x))
    out = block.conv.inverted_residual(x, True, cache=cache)
    if out is not None:
        return out, cache
    temporal_shift_online_(x, cache)
    out = block.conv(x)
    # The identity is the unshifted frame: its first channels now live in the cache.
    out[:, fold:] += x[:, fold:]
    out[:, :fold] += cache
    return out, cache


def _same(x: Tensor) -> Tensor:
    return x


def _head_torch(model: "MobileNetV2TSM", features: Tensor) -> Tensor:
    return model.classifier(features.mean((2, 3)))


def _head_fastvfx(model: "MobileNetV2TSM", features: Tensor) -> Tensor:
    """Global average pool and classifier; in inference the pool as a mean
    over the rows of the channels-last map and the linear layer as a 1x1
    ``fused_conv2d`` (``F.linear`` on one row took some 150 us in MKL)."""
    if model.training or not _onednn.inference(features) or not features.is_contiguous(memory_format=torch.channels_last):
        return _head_torch(model, features)
    linear = model.classifier[1]
    packed = _onednn.packed_fused(model, "classifier", linear.weight)
    return fused_conv2d(_pooled(features), packed, linear.bias).view(features.size(0), -1)


def _pooled(features: Tensor) -> Tensor:
    """The global average pool of channels-last features (N, C, H, W), as a
    mean over the rows of the map (the core's row sum): (N, C, 1, 1)."""
    return _onednn.mean_hw(features)


def _residual_fastvfx(x: Tensor, y: Tensor) -> Tensor:
    """y + x, in place on the fresh block output when autograd allows."""
    return x + y if torch.is_grad_enabled() and (x.requires_grad or y.requires_grad) else y.add_(x)


def _no_fused_block(block: "InvertedResidual", x: Tensor, shift: Optional[tuple[int, int, str]] = None) -> None:
    return None


def _fused_block(block: "InvertedResidual", x: Tensor, shift: Optional[tuple[int, int, str]] = None) -> Optional[Tensor]:
    """The whole block (residual and TSM shift included) as one
    ``fastvfx.inverted_residual`` call where it applies (inference), else None."""
    return block.conv.inverted_residual(x, block.use_res_connect, shift)


class _Parts:
    """The modules and functions a backend builds MobileNetV2-TSM from."""

    def __init__(self, backend: str) -> None:
        fast = backend == "fastvfx"
        self.sequential: type = fnn.FoldedSequential if fast else ShiftedSequential
        self.shift: Callable[..., nn.Module] = fnn.TemporalShift if fast else TemporalShift
        self.online_shift = _online_shift_fastvfx if fast else _online_shift_torch
        self.residual = _residual_fastvfx if fast else _residual_torch
        self.layout: Callable[[Tensor], Tensor] = _onednn.channels_last if fast else _same
        self.fused_block = _fused_block if fast else _no_fused_block
        self.head = _head_fastvfx if fast else _head_torch


    def depthwise_conv(self, channels: int, stride: int) -> nn.Module:
        """The 3x3 depthwise conv of a block (its BatchNorm and ReLU6 follow in
        the same sequence). Both backends use ``nn.Conv2d`` today; a fused
        depthwise module for the fastvfx backend goes in here."""
        return nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)


def _conv_bn_relu(parts: _Parts, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Module:
    return parts.sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """TSM's flat ``conv`` sequence (1x1 expansion, BN, ReLU6, 3x3 depthwise,
    BN, ReLU6, 1x1 projection, BN); ``shift`` wraps the expansion in the
    backend's TemporalShift (offline residual blocks)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int, parts: _Parts,
                 n_segment: Optional[int] = None) -> None:
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.stride = stride
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self._residual = parts.residual
        self._fused_block = parts.fused_block
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            parts.depthwise_conv(hidden, stride), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),
        ]
        if n_segment is not None:
            layers[0] = parts.shift(layers[0], n_segment, FOLD_DIV, mode="bidirectional")
        self.conv = parts.sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        fused = self._fused_block(self, x)
        if fused is not None:
            return fused
        return self._residual(x, self.conv(x)) if self.use_res_connect else self.conv(x)


class InvertedResidualWithShift(InvertedResidual):
    """TSM online: ``forward(x, cache)`` shifts the first C/8 channels in from
    the previous frame's cache and returns ``(out, new cache)``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int, parts: _Parts) -> None:
        super().__init__(in_channels, out_channels, stride, expand_ratio, parts)
        self._online_shift = parts.online_shift

    def forward(self, x: Tensor, shift_buffer: Tensor) -> tuple[Tensor, Tensor]:
        return self._online_shift(self, x, shift_buffer)

    def forward_clip(self, x: Tensor, n_segment: int) -> Tensor:
        """All frames of clips (N*T, C, H, W) at once, with the same uni-directional shift."""
        fused = self._fused_block(self, x, (n_segment, FOLD_DIV, "past"))
        if fused is not None:
            return fused
        return self._residual(x, self.conv.shifted(x, n_segment, FOLD_DIV, "past"))


class _PlannedLinear:
    """The classifier of a plan: the global average pool of the
    channels-last features and the linear layer as a 1x1 fused_conv2d
    (:func:`_head_fastvfx`, bound once)."""

    __slots__ = ("_weight", "_bias", "_out_features")

    def __init__(self, linear: nn.Linear) -> None:
        packed = pack_weight(linear.weight)
        self._weight, self._bias, self._out_features = packed.packed, linear.bias, packed.out_channels

    def __call__(self, features: Tensor) -> Tensor:
        return _onednn._fused_conv2d_op(_pooled(features), self._weight, self._bias, None, self._out_features,
                                        [1, 1], 1, [0, 0], "none", "add").view(features.size(0), -1)


class _Plan(NamedTuple):
    """MobileNetV2TSM's inference plan for one input shape (see the module
    docstring). The input is NCHW where the stem runs on fused_conv2d (its
    ``fused``), else channels_last; every output is channels_last."""

    stem: _onednn.PlannedConv2d
    blocks: tuple[tuple[PlannedInvertedResidual, bool], ...]  # (block, takes a cache in step())
    last: _onednn.PlannedConv2d
    classifier: _PlannedLinear
    states: list[torch.Size]  # the caches step() takes, in order
    check_states: _C._ShapeCheck  # states' shapes in float32 (and their layout), checked in one call

    def clip(self, x: Tensor) -> Tensor:
        """Every frame's logits (N*T, num_classes) (``forward`` before the mean)."""
        y = self.stem(x)
        for block, _ in self.blocks:
            y = block(y)
        return self.classifier(self.last(y))

    def step(self, frame: Tensor, states: list[Tensor], channels_last: bool = False) -> tuple[Tensor, list[Tensor]]:
        """``step``'s logits and new states for caches of ``self.states``'
        shapes; ``channels_last``: every cache is already channels_last
        contiguous (``check_states`` said so), and they are returned as they are."""
        y, caches = self.stem(frame), iter(states)
        if channels_last:
            for block, online in self.blocks:
                y = block.step(y, next(caches)) if online else block(y)
            return self.classifier(self.last(y)), list(states)
        new_states = []
        for block, online in self.blocks:
            if online:
                # The op needs one layout; the returned cache keeps it (a stream converts once).
                cache = next(caches).contiguous(memory_format=torch.channels_last)
                y = block.step(y, cache)
                new_states.append(cache)
            else:
                y = block(y)
        return self.classifier(self.last(y)), new_states


def _plan_input(plan: _Plan, x: Tensor) -> Tensor:
    """``x`` in the layout ``plan``'s stem reads."""
    return x.contiguous() if plan.stem.fused else _onednn.to_channels_last(x)


class _SharedPlan(NamedTuple):
    """What every input shape's plan shares (the blocks' and the last 1x1
    conv's packings do not depend on it), and the latest shape's plan."""

    blocks: list[tuple[InvertedResidual, object]]  # (block, its packed weights)
    last: _onednn.PlannedConv2d
    classifier: _PlannedLinear
    plans: dict


def _cache_error(i: int, cache: Tensor, want: tuple, dtype: torch.dtype) -> ValueError:
    if not isinstance(cache, Tensor):
        return ValueError(f"MobileNetV2-TSM step: cache {i} is a {type(cache).__name__}, not a tensor; use the states "
                          "init_states() or step() gave")
    return ValueError(f"MobileNetV2-TSM step: cache {i} has shape {tuple(cache.shape)} ({cache.dtype}), the frame "
                      f"needs {tuple(want)} ({dtype}); init_states() with this batch and frame size")


class MobileNetV2TSM(nn.Module):
    """See the module docstring."""

    def __init__(self, num_classes: int, n_segment: int = 8, online: bool = False, dropout: float = 0.2,
                 backend: str = "torch") -> None:
        super().__init__()
        if n_segment < 1:
            raise ValueError(f"n_segment must be >= 1, got {n_segment}")
        self.n_segment = n_segment
        self.online = online
        self.backend = backend
        self.config = {"num_classes": num_classes, "n_segment": n_segment, "online": online, "dropout": dropout}
        parts = _Parts(backend)
        self._layout = parts.layout
        self._head = parts.head
        features: list[nn.Module] = [_conv_bn_relu(parts, 3, STEM_CHANNELS, 3, stride=2)]
        channels = STEM_CHANNELS
        for t, c, n, s in SETTINGS:
            for i in range(n):
                stride = s if i == 0 else 1
                residual = stride == 1 and channels == c
                if online and residual:
                    block: InvertedResidual = InvertedResidualWithShift(channels, c, stride, t, parts)
                else:
                    block = InvertedResidual(channels, c, stride, t, parts, n_segment if residual else None)
                features.append(block)
                channels = c
        features.append(_conv_bn_relu(parts, channels, LAST_CHANNELS, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(LAST_CHANNELS, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def _check(self, x: Tensor, what: str, clip: bool) -> None:
        layout = "(N*T, 3, H, W)" if clip else "(N, 3, H, W)"
        if x.dim() != 4 or x.size(1) != 3:
            raise ValueError(f"MobileNetV2-TSM {what}: expected frames of shape {layout}, got {tuple(x.shape)}")
        if clip and x.size(0) % self.n_segment != 0:
            raise ValueError(f"MobileNetV2-TSM {what}: the batch of frames ({x.size(0)}) is not a multiple of "
                             f"n_segment={self.n_segment}")

    def _logits(self, features: Tensor) -> Tensor:
        return self._head(self, features)

    def _planned(self, x: Tensor) -> Optional[_Plan]:
        """The inference plan for inputs shaped like ``x``, or None off the
        inference path (see the module docstring) or where a layer would not
        run fused (a module in training mode, or replaced by another kind).
        Built on first use, kept until ``cached_tree`` sees the model change;
        the part that depends on the input shape (the stem's oneDNN packing,
        the caches' shapes) for the latest shape."""
        if self.training or self.backend != "fastvfx" or not _onednn.usable(x):
            return None
        shared = cached_tree(self, "plan", self._shared_plan)
        if shared is None:
            return None
        key = (x.shape, self.n_segment)
        plan = shared.plans.get(key)
        if plan is None:
            shared.plans.clear()
            plan = shared.plans[key] = self._plan(x, shared)
        return plan

    def _shared_plan(self) -> Optional[_SharedPlan]:
        features = list(self.features)
        stem, blocks, last = features[0], features[1:-1], features[-1]
        if any(m.training for m in self.modules()) or not all(
                isinstance(m, InvertedResidual) and isinstance(m.conv, fnn.FoldedSequential) for m in blocks) or \
                not all(isinstance(m, fnn.FoldedSequential) for m in (stem, last)):
            return None
        packed = [(block, block.conv.fold_block()) for block in blocks]
        # A 1x1 conv: the kernel and its packing do not depend on the input's size.
        last_input = torch.empty(1, last[0].in_channels, 1, 1, device="meta")
        planned_last = last.plan_conv(last_input)
        if any(weights is None for _, weights in packed) or planned_last is None:
            return None
        return _SharedPlan(packed, planned_last, _PlannedLinear(self.classifier[1]), {})

    def _plan(self, x: Tensor, shared: _SharedPlan) -> Optional[_Plan]:
        # On NCHW frames where the stem's kernel reads them (fused_conv2d's
        # direct path), else on a channels_last copy (oneDNN).
        frames = torch.empty(x.shape, device="meta")
        if not _onednn.is_fused(self.features[0][0], frames, direct=True):
            frames = frames.contiguous(memory_format=torch.channels_last)
        stem = self.features[0].plan_conv(frames)
        if stem is None:
            return None
        blocks, states = [], []
        n, _, h, w = x.shape
        stride = self.features[0][0].stride[0]
        h, w = -(-h // stride), -(-w // stride)
        for block, weights in shared.blocks:
            online = isinstance(block, InvertedResidualWithShift)
            shift = (self.n_segment, FOLD_DIV, "past") if online else None
            blocks.append((block.conv.plan_inverted_residual(weights, block.use_res_connect, shift), online))
            if online:
                states.append(torch.Size((n, weights.in_channels // FOLD_DIV, h, w)))
            h, w = -(-h // block.stride), -(-w // block.stride)
        return _Plan(stem, tuple(blocks), shared.last, shared.classifier, states,
                     _C._ShapeCheck([list(shape) for shape in states]))

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, "forward", clip=True)
        plan = self._planned(x)
        if plan is not None:
            logits = plan.clip(_plan_input(plan, x))
            return logits.view(-1, self.n_segment, logits.size(1)).mean(1)
        y = x if self.training else self._layout(x)
        for module in self.features:
            y = module.forward_clip(y, self.n_segment) if isinstance(module, InvertedResidualWithShift) else module(y)
        logits = self._logits(y)
        return logits.view(-1, self.n_segment, logits.size(1)).mean(1)

    def _shift_blocks(self) -> list[InvertedResidualWithShift]:
        return [m for m in self.features if isinstance(m, InvertedResidualWithShift)]

    def init_states(self, batch_size: int = 1, height: int = 224, width: int = 224,
                    dtype: Optional[torch.dtype] = None) -> list[Tensor]:
        """Zero shift caches (one per residual block) for frames of this size."""
        if not self.online:
            raise RuntimeError("MobileNetV2-TSM: init_states / step need the online model (online=True)")
        dtype = dtype or self.classifier[1].weight.dtype
        states, h, w = [], height, width
        for module in self.features:
            if isinstance(module, InvertedResidualWithShift):
                channels = module.conv[0].in_channels
                states.append(torch.zeros(batch_size, channels // FOLD_DIV, h, w, dtype=dtype))
            stride = module.stride if isinstance(module, InvertedResidual) else module[0].stride[0]
            h, w = -(-h // stride), -(-w // stride)
        return states

    @torch.no_grad()
    def step(self, frame: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Logits of the next frame ``(N, 3, H, W)``; returns ``(logits, states)``."""
        self._check(frame, "step", clip=False)
        plan = self._planned(frame)
        count = len(self._shift_blocks()) if plan is None else len(plan.states)
        if not isinstance(states, (list, tuple)) or len(states) != count:
            raise ValueError("MobileNetV2-TSM step: states do not belong to this model (use model.init_states())")
        if plan is not None:
            # The caches checked in one call against the shapes the plan expects.
            states = states if isinstance(states, list) else list(states)
            i = plan.check_states.first_mismatch(states)
            if i >= 0:
                raise _cache_error(i, states[i], plan.states[i], torch.float32)
            return plan.step(_plan_input(plan, frame), states, plan.check_states.channels_last(states))
        y, new_states, i = frame if self.training else self._layout(frame), [], 0
        for module in self.features:
            if isinstance(module, InvertedResidualWithShift):
                cache = states[i]
                want = (y.size(0), y.size(1) // FOLD_DIV, *y.shape[2:])
                if tuple(cache.shape) != want or cache.dtype != y.dtype:
                    raise _cache_error(i, cache, want, y.dtype)
                y, cache = module(y, cache)
                new_states.append(cache)
                i += 1
            else:
                y = module(y)
        return self._logits(y), new_states


def mobilenet_v2_tsm(num_classes: int, n_segment: int = 8, online: bool = False, backend: str = "torch",
                     dropout: float = 0.2) -> MobileNetV2TSM:
    """MobileNetV2 with TSM, random weights (see the module docstring)."""
    from . import _check_backend

    _check_backend(backend)
    return MobileNetV2TSM(num_classes, n_segment, online, dropout, backend)
