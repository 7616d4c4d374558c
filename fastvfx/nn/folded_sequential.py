"""FoldedSequential: an nn.Sequential of conv / BatchNorm / activation runs,
folded in eval mode."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import _C
from ..ops.depthwise_conv2d import depthwise_conv2d
from ..ops.inverted_residual import (InvertedResidualWeights, _activations, inverted_residual, inverted_residual_step,
                                     pack_weights)
from ..ops.temporal_shift import shift_conv1x1, temporal_shift
from ._activation import ACTIVATION_NAMES, activate
from . import _onednn
from ._batchnorm import cached, fold_bn, folded_conv_bn
from .temporal_shift import TemporalShift, _is_plain_conv1x1


class FoldedSequential(nn.Sequential):
    """``nn.Sequential(*layers)`` (same children, same state dict) whose
    layers are runs of a conv, an optional ``BatchNorm2d`` and an optional
    ReLU / ReLU6 / Hardswish / SiLU, as torchvision and TSM write their blocks.

    A conv is an ``nn.Conv2d`` or a ``fastvfx.nn.TemporalShift`` around a
    plain 1x1 one. Training mode runs the layers as written. Eval mode folds
    each BatchNorm into its conv (cached until a parameter or statistic
    changes). Inference on float32 CPU tensors (no gradients, no autocast,
    not compiling or exporting) then runs each conv, its bias and activation
    as one oneDNN primitive with prepacked weights (``fastvfx.nn._onednn``;
    channels_last input is the fast layout, the output keeps the input's),
    shifting first. Otherwise the activation is applied in place, a shifted
    1x1 conv runs as ``fastvfx.shift_conv1x1`` (the shifted tensor is never
    written) and a depthwise conv on a wide plane as
    ``fastvfx.depthwise_conv2d`` with the activation fused.

    ``shifted(x, n_segment, fold_div, mode)`` is ``forward(temporal_shift(x, ...))``
    with the shift done while the first conv (a plain 1x1) reads its input.

    ``inverted_residual(x, residual)`` runs a MobileNetV2 block's layers (1x1
    expansion + BN + activation, k x k depthwise + BN + activation, 1x1
    projection + BN; the expansion optional) as ONE fused op
    (``fastvfx.inverted_residual``, the expanded tensor never written), with
    the residual and a TemporalShift around the expansion done on read; it
    returns None where that op does not apply (see there).

    A model's inference plan binds these calls once (``plan_conv``,
    ``plan_inverted_residual``: folds not cached here, weights packed, the
    op's arguments ready) and validates the plan once a call
    (``_batchnorm.cached_tree``); the plan computes what ``forward`` /
    ``inverted_residual`` compute, bit for bit.
    """

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__(*layers)
        # The layers are fixed here: replace the module, not its children.
        self._runs = _runs(list(self))
        norms = [bn for _, bn, _ in self._runs if bn is not None]
        self._first_bn = str(norms[0]) if norms else None
        self._block = _inverted_residual_layout(list(self), self._runs)

    def _training(self) -> bool:
        return self.training if self._first_bn is None else self._modules[self._first_bn].training

    def forward(self, x: Tensor) -> Tensor:
        if self._training():
            return super().forward(x)
        return self._folded(x)

    def shifted(self, x: Tensor, n_segment: int, fold_div: int, mode: str) -> Tensor:
        first = self._modules[str(self._runs[0][0])]
        if self._training() or not _is_plain_conv1x1(first):
            return self.forward(temporal_shift(x, n_segment, fold_div, mode))
        return self._folded(x, (n_segment, fold_div, mode))

    def inverted_residual(self, x: Tensor, residual: bool, shift: Optional[tuple[int, int, str]] = None,
                          cache: Optional[Tensor] = None) -> Optional[Tensor]:
        """``self(x) (+ x)`` as one ``fastvfx.inverted_residual`` call, the
        expansion reading x shifted by ``shift`` ((n_segment, fold_div,
        mode), or the first layer's TemporalShift) or, online, its first
        channels from ``cache`` (consumed: it then holds x's); the residual is
        the unshifted x. None (nothing done) unless the layers are a MobileNetV2
        block, in eval mode, on a float32 CPU tensor without gradients, outside
        autocast, compile and export."""
        if self._block is None or self._training() or x.dim() != 4 or not _onednn.inference(x):
            return None
        shift = self._shift_of_first(shift)
        stride, activation, dw_activation = self._block
        weights = self._packed_block()
        if cache is not None:
            return inverted_residual_step(x, cache, weights, stride, residual, activation, dw_activation)
        if shift is None:
            return inverted_residual(x, weights, stride, residual, activation, dw_activation)
        n_segment, fold_div, mode = shift
        return inverted_residual(x, weights, stride, residual, activation, dw_activation, mode, n_segment, fold_div)

    def _packed_block(self) -> InvertedResidualWeights:
        """The folded weights in the fused op's layout, cached with the fold."""
        folded = [self._folded_weights(conv, bn) for conv, bn, _ in self._runs]
        sources = tuple(t for pair in folded for t in pair)
        return cached(self, "inverted_residual", sources, lambda: _pack_block(folded))

    def _fold(self, conv_index: int, bn_index: Optional[int]) -> tuple[Tensor, Optional[Tensor]]:
        """:meth:`_folded_weights` without the cache (a plan holds its own)."""
        inner, bn = self._conv_bn(conv_index, bn_index)
        if bn is None:
            return inner.weight, inner.bias
        return fold_bn(inner.weight, inner.bias, bn)

    def fold_block(self) -> Optional[InvertedResidualWeights]:
        """The folded weights of a MobileNetV2 block in the fused op's layout,
        not cached (for :meth:`plan_inverted_residual`, whose weights do not
        depend on the input), or None where :meth:`inverted_residual` does
        not apply whatever the input (not a block, or training mode)."""
        if self._block is None or self._training():
            return None
        return _pack_block([self._fold(conv, bn) for conv, bn, _ in self._runs])

    def plan_inverted_residual(self, weights: InvertedResidualWeights, residual: bool,
                               shift: Optional[tuple[int, int, str]] = None) -> "PlannedInvertedResidual":
        """:meth:`inverted_residual` bound once to ``weights`` (:meth:`fold_block`'s)."""
        shift = self._shift_of_first(shift)
        return PlannedInvertedResidual(weights, *self._block, residual, shift)

    def plan_conv(self, x: Tensor) -> Optional[_onednn.PlannedConv2d]:
        """A single run (conv, BN, activation) bound once for float32 CPU
        inputs shaped and laid out like ``x`` (a meta tensor will do) on the
        kernel its inference path picks (an NCHW ``x`` of at most 4 channels
        too: fused_conv2d's direct path, see ``_onednn.is_fused``); None for
        other sequences or in training mode. The output is channels_last."""
        if len(self._runs) != 1 or self._training():
            return None
        conv_index, bn_index, activation = self._runs[0]
        conv = self._modules[str(conv_index)]
        if isinstance(conv, TemporalShift):
            return None
        return _onednn.PlannedConv2d(conv, *self._fold(conv_index, bn_index), x, activation,
                                     fused=_onednn.is_fused(conv, x, direct=True))

    def _folded(self, x: Tensor, shift: Optional[tuple[int, int, str]] = None) -> Tensor:
        if _onednn.usable(x):
            return self._folded_onednn(x, shift)
        modules = list(self._modules.values())
        for conv_index, bn_index, activation in self._runs:
            conv = modules[conv_index]
            inner = conv.net if isinstance(conv, TemporalShift) else conv
            weight, bias = self._folded_weights(conv_index, bn_index)
            if isinstance(conv, TemporalShift):
                shift = (conv.n_segment, conv.fold_div, conv.mode)
            if shift is not None:
                x = shift_conv1x1(x, weight, bias, *shift)
                shift = None
            elif _fastvfx_depthwise(inner, x):
                x = depthwise_conv2d(x, weight, bias, inner.stride, inner.padding, activation)
                continue
            else:
                x = F.conv2d(x, weight, bias, inner.stride, inner.padding, inner.dilation, inner.groups)
            x = activate(x, activation)
        return x

    def _shift_of_first(self, shift: Optional[tuple[int, int, str]]) -> Optional[tuple[int, int, str]]:
        """The shift of the first run's TemporalShift wrapper, else ``shift``."""
        first = self._modules[str(self._runs[0][0])]
        if isinstance(first, TemporalShift):
            return first.n_segment, first.fold_div, first.mode
        return shift

    def _conv_bn(self, conv_index: int, bn_index: Optional[int]) -> tuple[nn.Conv2d, Optional[nn.Module]]:
        """A run's conv (unwrapped from a TemporalShift) and its BatchNorm."""
        conv = self._modules[str(conv_index)]
        inner = conv.net if isinstance(conv, TemporalShift) else conv
        return inner, None if bn_index is None else self._modules[str(bn_index)]

    def _folded_weights(self, conv_index: int, bn_index: Optional[int]) -> tuple[Tensor, Optional[Tensor]]:
        inner, bn = self._conv_bn(conv_index, bn_index)
        if bn is None:
            return inner.weight, inner.bias
        return folded_conv_bn(self, str(conv_index), inner, bn)

    def _folded_onednn(self, x: Tensor, shift: Optional[tuple[int, int, str]]) -> Tensor:
        """Every run as one oneDNN conv with its activation (prepacked weights,
        cached with the fold); a shift is done first (out of place, one pass
        over the narrow input). Batches whose widest intermediate exceeds
        ``_CHUNK_BYTES`` run in equal chunks (see there)."""
        shift = self._shift_of_first(shift)
        if shift is not None:
            x = temporal_shift(x, *shift)
        convs = []
        for conv_index, bn_index, activation in self._runs:
            conv = self._modules[str(conv_index)]
            inner = conv.net if isinstance(conv, TemporalShift) else conv
            convs.append((str(conv_index), inner, *self._folded_weights(conv_index, bn_index), activation))
        chunks = _chunks(x, [conv for _, conv, _, _, _ in convs])
        if chunks == 1:
            y = self._run_onednn(x, convs)
        else:
            y = torch.cat([self._run_onednn(part, convs) for part in x.tensor_split(chunks)])
        # oneDNN may answer an NCHW input in channels_last (the models feed channels_last).
        return y.contiguous(memory_format=_onednn.memory_format(x))

    def _run_onednn(self, x: Tensor, convs: list) -> Tensor:
        for slot, conv, weight, bias, activation in convs:
            if _onednn.is_fused(conv, x):
                x = _onednn.fused(self, slot, x, conv, weight, bias, activation)
            else:
                x = _onednn.conv2d(x, _onednn.packed(self, slot + "/onednn", weight, bias, conv, x), activation)
        return x


def _pack_block(folded: list[tuple[Tensor, Optional[Tensor]]]) -> InvertedResidualWeights:
    """A block's folded (weight, bias) pairs, expansion first when there is
    one, in the fused op's layout."""
    expand, dw, project = ([None] if len(folded) == 2 else []) + folded
    return pack_weights(*(expand or (None, None)), *dw, *project)


# Called directly, as the plans' convs are (see fastvfx.nn._onednn).
_inverted_residual_op = _C._plan_inverted_residual
_inverted_residual_step_op = _C._plan_inverted_residual_step


class PlannedInvertedResidual:
    """A MobileNetV2 block of an inference plan
    (``FoldedSequential.plan_inverted_residual``): its packed weights and
    settings bound to the fused ops once. ``plan(x)`` is
    ``fastvfx.inverted_residual`` (the block's shift, if any, on read) and
    ``plan.step(x, cache)`` ``fastvfx.inverted_residual_step`` (TSM online:
    ``x``'s first channels from ``cache``, which then holds them); a call is
    the op itself with no checks (the plan's owner checks its input once)."""

    __slots__ = ("_args", "_step_args")

    def __init__(self, weights: InvertedResidualWeights, stride: int, activation: Optional[str],
                 dw_activation: Optional[str], residual: bool, shift: Optional[tuple[int, int, str]]) -> None:
        w = weights
        self._step_args = (w.expand_weight, w.expand_bias, w.dw_weight, w.dw_bias, w.project_weight, w.project_bias,
                           w.hidden, w.out_channels, w.kernel_size, stride, residual,
                           *_activations(activation, dw_activation))
        # As ops.inverted_residual passes them (n_segment and fold unused without a shift).
        n_segment, fold_div, mode = shift or (8, 8, "none")
        self._args = self._step_args + (mode, n_segment, w.in_channels // fold_div)

    def __call__(self, x: Tensor) -> Tensor:
        return _inverted_residual_op(x, *self._args)

    def step(self, x: Tensor, cache: Tensor) -> Tensor:
        return _inverted_residual_step_op(x, cache, *self._step_args)


# A run whose widest intermediate exceeds this many bytes goes through the
# batch in chunks. MobileNetV2-TSM's clip (8 frames) writes 38 MB at its
# first expansion: every such tensor is a fresh mmap whose pages fault in on
# first touch (about 25 ms of the 38 MB conv's 32 ms, one thread), while
# chunks of a few MB are reused from the heap and stay in cache. Measured
# on the 8x224² clip, one thread: 165 ms against 210 unchunked (1 frame per
# chunk everywhere: 150-165).
_CHUNK_BYTES = 4 << 20


def _chunks(x: Tensor, convs: list[nn.Conv2d]) -> int:
    """Into how many batch chunks ``x`` goes through ``convs``: by the widest
    intermediate (a single conv writes none; splitting it would only add a
    ``torch.cat`` of its output)."""
    h, w = x.shape[-2:]
    widest = 0
    for conv in convs[:-1]:
        (kh, kw), (ph, pw), (sh, sw), (dh, dw) = conv.kernel_size, conv.padding, conv.stride, conv.dilation
        h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        widest = max(widest, conv.out_channels * h * w)
    return max(1, min(x.size(0), -(-widest * x.size(0) * x.element_size() // _CHUNK_BYTES)))


# Output width from which fastvfx.depthwise_conv2d beats oneDNN on an NCHW
# input (MobileNetV2's 3x3 layers, batch 8, docs/depthwise_conv2d.md: 1.2-4.7x
# at 28-112 wide outputs, 0.6-0.9x at 7-14 wide); channels_last input always.
_DEPTHWISE_MIN_OUT_WIDTH = 28


def _fastvfx_depthwise(conv: nn.Conv2d, x: Tensor) -> bool:
    """Whether the folded depthwise ``conv`` runs as fastvfx.depthwise_conv2d."""
    if not (conv.groups == conv.in_channels == conv.out_channels and conv.dilation == (1, 1)
            and max(conv.stride) <= 8 and x.dim() == 4):
        return False
    if torch.is_autocast_enabled(x.device.type) or x.dtype in (torch.bfloat16, torch.float16):
        # 16-bit (the op follows autocast's rules as conv2d does): on the CPU
        # always, since torch's 16-bit depthwise conv has no native kernel on
        # AVX2 (MobileNetV2's layers, batch 8, one thread: 14-490x slower than
        # fastvfx's, docs/mixed_precision.md); elsewhere torch's.
        return x.device.type == "cpu"
    if x.dtype not in (torch.float32, torch.float64):
        return False
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return True
    return x.size(-1) // conv.stride[1] >= _DEPTHWISE_MIN_OUT_WIDTH


def _inverted_residual_layout(layers: list[nn.Module], runs: list) -> Optional[tuple[int, Optional[str], Optional[str]]]:
    """(depthwise stride, expansion activation, depthwise activation) when
    the runs are a MobileNetV2 block (optional 1x1 expansion + BN + act, odd
    k x k depthwise with padding k // 2 + BN + act, 1x1 projection + BN), else None."""
    if len(runs) not in (2, 3) or any(bn is None for _, bn, _ in runs) or runs[-1][2] is not None:
        return None
    convs = [layers[i] for i, _, _ in runs]
    convs = [c.net if isinstance(c, TemporalShift) else c for c in convs]
    *expand, dw, project = convs
    if not all(_is_plain_conv1x1(c) for c in expand + [project]) or project.in_channels != dw.out_channels:
        return None
    (kh, kw), (sh, sw) = dw.kernel_size, dw.stride
    if not (dw.groups == dw.in_channels == dw.out_channels and kh == kw and kh % 2 == 1 and sh == sw
            and dw.padding == (kh // 2, kw // 2) and dw.dilation == (1, 1) and type(dw) is nn.Conv2d):
        return None
    if expand and expand[0].out_channels != dw.in_channels:
        return None
    if any(isinstance(layers[i], TemporalShift) for i, _, _ in runs[1:]):
        return None
    activations = [act or "none" for _, _, act in runs]
    return sh, activations[0], activations[-2]


def _runs(layers: list[nn.Module]) -> list[tuple[int, Optional[int], Optional[str]]]:
    """(conv index, BatchNorm index or None, activation name or None) of each run."""
    runs, i = [], 0
    while i < len(layers):
        start, conv = i, layers[i]
        plain = type(conv) is nn.Conv2d and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
        shifted = isinstance(conv, TemporalShift) and conv.net is not None and _is_plain_conv1x1(conv.net)
        if not (plain or shifted):
            raise TypeError(f"FoldedSequential: layer {i} ({type(conv).__name__}) is not an nn.Conv2d "
                            "(zero padding, integer) or a TemporalShift around a plain 1x1 one")
        bn = activation = None
        i += 1
        if i < len(layers) and type(layers[i]) is nn.BatchNorm2d:
            bn, i = i, i + 1
        if i < len(layers) and type(layers[i]) in ACTIVATION_NAMES:
            activation, i = ACTIVATION_NAMES[type(layers[i])], i + 1
        runs.append((start, bn, activation))
    return runs
