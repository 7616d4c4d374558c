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

Backends share the state dict. ``"torch"`` shifts as TSM writes it (zeros and
slice copies; online, ``torch.cat`` of the cache). ``"fastvfx"`` in eval mode
folds every BatchNorm into its conv, runs the shifted 1x1 expansion as
``fastvfx.shift_conv1x1`` (the shifted tensor is never written) and, online,
swaps the cache in place (``fastvfx.temporal_shift_online_``), adding the
residual from the swapped halves so the identity is never lost. In training
mode it uses ``fastvfx.nn.TemporalShift`` with the unfolded BatchNorms.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn.temporal_shift import TemporalShift as FastTemporalShift
from ..ops.temporal_shift import shift_conv1x1, temporal_shift, temporal_shift_online_, temporal_shift_reference
from ._common import folded_conv_bn, swap_to_fastvfx

SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
FOLD_DIV = 8


# ---------------------------------------------------------------------------
# torch backend: as torchvision / TSM write it
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


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.stride = stride
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class InvertedResidualWithShift(InvertedResidual):
    """TSM online: ``forward(x, cache)`` shifts the first C/8 channels in from
    the previous frame's cache and returns ``(out, new cache)``."""

    def forward(self, x: Tensor, shift_buffer: Tensor) -> tuple[Tensor, Tensor]:
        fold = x.size(1) // FOLD_DIV
        x1, x2 = x[:, :fold], x[:, fold:]
        return x + self.conv(torch.cat((shift_buffer, x2), dim=1)), x1

    def forward_clip(self, x: Tensor, n_segment: int) -> Tensor:
        """All frames of clips (N*T, C, H, W) at once, with the same uni-directional shift."""
        return x + self.conv(temporal_shift_reference(x, n_segment, FOLD_DIV, "past"))


class MobileNetV2TSM(nn.Module):
    """See the module docstring."""

    def __init__(self, num_classes: int, n_segment: int = 8, online: bool = False, dropout: float = 0.2) -> None:
        super().__init__()
        if n_segment < 1:
            raise ValueError(f"n_segment must be >= 1, got {n_segment}")
        self.n_segment = n_segment
        self.online = online
        self.backend = "torch"
        features: list[nn.Module] = [ConvBNReLU(3, STEM_CHANNELS, 3, stride=2)]
        channels = STEM_CHANNELS
        for t, c, n, s in SETTINGS:
            for i in range(n):
                stride = s if i == 0 else 1
                residual = stride == 1 and channels == c
                if online and residual:
                    block: InvertedResidual = InvertedResidualWithShift(channels, c, stride, t)
                else:
                    block = InvertedResidual(channels, c, stride, t)
                    if residual:
                        block.conv[0] = TemporalShift(block.conv[0], n_segment, FOLD_DIV)
                features.append(block)
                channels = c
        features.append(ConvBNReLU(channels, LAST_CHANNELS, 1))
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
        return self.classifier(features.mean((2, 3)))

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, "forward", clip=True)
        y = x
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
        if not isinstance(states, (list, tuple)) or len(states) != len(self._shift_blocks()):
            raise ValueError("MobileNetV2-TSM step: states do not belong to this model (use model.init_states())")
        y, new_states, i = frame, [], 0
        for module in self.features:
            if isinstance(module, InvertedResidualWithShift):
                cache = states[i]
                want = (y.size(0), y.size(1) // FOLD_DIV, *y.shape[2:])
                if tuple(cache.shape) != want or cache.dtype != y.dtype:
                    raise ValueError(f"MobileNetV2-TSM step: cache {i} has shape {tuple(cache.shape)} "
                                     f"({cache.dtype}), the frame needs {want} ({y.dtype}); "
                                     "init_states() with this batch and frame size")
                y, cache = module(y, cache)
                new_states.append(cache)
                i += 1
            else:
                y = module(y)
        return self._logits(y), new_states


# ---------------------------------------------------------------------------
# fastvfx backend
# ---------------------------------------------------------------------------


class FastConvBNReLU(ConvBNReLU):
    def forward(self, x: Tensor) -> Tensor:
        conv, bn, _ = self
        if bn.training:
            return super().forward(x)
        weight, bias = folded_conv_bn(self, "conv", conv, bn)
        return F.relu6(F.conv2d(x, weight, bias, conv.stride, conv.padding), inplace=True)


def _relu6(y: Tensor) -> Tensor:
    return F.relu6(y, inplace=not (torch.is_grad_enabled() and y.requires_grad))


class FastInvertedResidual(InvertedResidual):
    """Eval mode: BatchNorms folded; the shifted expansion is ``shift_conv1x1``."""

    def _branch(self, x: Tensor, shift_mode: Optional[str] = None, n_segment: int = 1) -> Tensor:
        layers = self.conv
        y = x
        start = 0
        if len(layers) == 8:
            first = layers[0]
            conv = first.net if isinstance(first, (TemporalShift, FastTemporalShift)) else first
            weight, bias = folded_conv_bn(self, "expand", conv, layers[1])
            if isinstance(first, (TemporalShift, FastTemporalShift)):
                y = shift_conv1x1(y, weight, bias, first.n_segment, first.fold_div, first.mode)
            elif shift_mode is not None:
                y = shift_conv1x1(y, weight, bias, n_segment, FOLD_DIV, shift_mode)
            else:
                y = F.conv2d(y, weight, bias)
            y = _relu6(y)
            start = 3
        dw, dw_bn, _, project, project_bn = layers[start:]
        weight, bias = folded_conv_bn(self, "depthwise", dw, dw_bn)
        y = _relu6(F.conv2d(y, weight, bias, dw.stride, dw.padding, groups=dw.groups))
        weight, bias = folded_conv_bn(self, "project", project, project_bn)
        return F.conv2d(y, weight, bias)

    def _training(self) -> bool:
        return self.conv[1].training

    def forward(self, x: Tensor) -> Tensor:
        if self._training():
            return super().forward(x)
        y = self._branch(x)
        return y.add_(x) if self.use_res_connect else y  # y is a fresh intermediate


class FastInvertedResidualWithShift(InvertedResidualWithShift, FastInvertedResidual):
    def forward(self, x: Tensor, shift_buffer: Tensor) -> tuple[Tensor, Tensor]:
        """Swaps ``x[:, :fold]`` with the cache in place (``x`` is consumed) and
        returns ``(out, cache)``, the cache now holding this frame's channels."""
        if self._training() or (torch.is_grad_enabled() and (x.requires_grad or shift_buffer.requires_grad)):
            return InvertedResidualWithShift.forward(self, x, shift_buffer)
        fold = shift_buffer.size(1)
        temporal_shift_online_(x, shift_buffer)
        out = self._branch(x)
        # The identity is the unshifted frame: its first channels now live in the cache.
        out[:, fold:] += x[:, fold:]
        out[:, :fold] += shift_buffer
        return out, shift_buffer

    def forward_clip(self, x: Tensor, n_segment: int) -> Tensor:
        if self._training():
            return x + self.conv(temporal_shift(x, n_segment, FOLD_DIV, "past"))
        return self._branch(x, "past", n_segment).add_(x)


class FastMobileNetV2TSM(MobileNetV2TSM):
    pass


FASTVFX_CLASSES = {
    ConvBNReLU: FastConvBNReLU,
    InvertedResidual: FastInvertedResidual,
    InvertedResidualWithShift: FastInvertedResidualWithShift,
    MobileNetV2TSM: FastMobileNetV2TSM,
}


def to_fastvfx(model: nn.Module) -> nn.Module:
    """Swap a MobileNetV2-TSM's torch-backend modules (in place) for their fastvfx forms."""
    for module in list(model.modules()):
        if isinstance(module, InvertedResidual) and isinstance(module.conv[0], TemporalShift):
            old = module.conv[0]
            module.conv[0] = FastTemporalShift(old.net, old.n_segment, old.fold_div, mode=old.mode)
    return swap_to_fastvfx(model, FASTVFX_CLASSES, MobileNetV2TSM)


def mobilenet_v2_tsm(num_classes: int, n_segment: int = 8, online: bool = False, backend: str = "torch",
                     dropout: float = 0.2) -> MobileNetV2TSM:
    """MobileNetV2 with TSM, random weights (see the module docstring)."""
    from . import _check_backend

    _check_backend(backend)
    model = MobileNetV2TSM(num_classes, n_segment, online, dropout)
    return to_fastvfx(model) if backend == "fastvfx" else model
