"""SqueezeTime (Zhai et al., 2024), the Kinetics-400 configuration.

Input ``(N, 3, T, H, W)`` with T = ``frames`` (16, at 224x224), output
``(N, num_classes)``. As the official code does, the clip is viewed as
``(N, 3*T, H, W)`` (channel-major: channel c of frame t lands at c*T + t),
then:

- stem: 5x5 conv (48 -> 64, stride 2), BN, ReLU, 3x3 max pool (stride 2);
- four stages of bottleneck blocks, [3, 4, 6, 3] blocks of widths 64, 128,
  256, 512 (outputs x4), spatial strides 1, 2, 2, 2. A block that strides
  first downsamples its input with a 2x2 depthwise conv (stride 2) + BN; the
  first block of a stage projects the residual with a 1x1 conv + BN. The
  middle conv of every block is a Channel-Time Learning (CTL) module:
  ``temporal_conv(param * x) + spatial_conv(x, param)`` with ``param`` the
  Temporal Focus Convolution gate (``param_conv``: avg pool, 1x1, BN, ReLU,
  1x1, sigmoid) and ``spatial_conv`` the Inter-temporal Object Interaction
  (IOI) module: a 3x3 conv of x times a sigmoid map computed from
  ``param * x`` (3x3 conv to 16, BN, ReLU, + a learned position embedding of
  56/28/14/7 squared, resized bilinearly to other sizes, 7x7 conv, BN, ReLU,
  3x3 conv, sigmoid);
- head: global average pool, dropout 0.5, linear 2048 -> classes.

The module names follow the official backbone and head (``conv1``, ``bn1``,
``layer1..4``, ``conv2.param_conv`` / ``temporal_conv`` / ``spatial_conv``,
``fc_cls``), flattened into one module (no ``net.`` / ``cls_head.``
prefixes). Random weights only.

Backends share the state dict and the module classes; the backend is chosen
when the model is built (``fused``, set on every block at construction).
``"torch"`` is the official formulation. ``"fastvfx"``, in eval mode, runs each CTL's gate and 1x1 temporal conv as one
``fastvfx.temporal_focus_conv2d`` (x * param never written), feeds the same
gate to the IOI branch's first conv through ``fastvfx.channel_scaled_conv2d``
(the official code writes ``x * param`` a second time there), and folds every
BatchNorm into the conv before it (the block's BN after the CTL goes into both
of its branches). Inference on the oneDNN path (``fastvfx.nn._onednn``:
float32 CPU, no gradients) instead writes ``x * param`` once, as ONNX Runtime
does, and runs every conv as one oneDNN call: measured, the prepacked oneDNN
1x1 conv on the written tensor beat the fused op's GEMMs, and the IOI
product and the branch sum (with the block's ReLU) become post-ops of the
short and temporal convs. Each block (and a CTL alone) runs that path on
an inference plan, built once per input shape: the folded weights packed
and bound to their op (``_onednn.PlannedConv2d``), the position embedding at
the plane's size; ``cached_tree`` checks the block's parameters, buffers
and submodules once a call instead of one fold cache per conv. In training
mode it uses ``channel_scaled_conv2d`` for the temporal conv and the
official chain elsewhere.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn._activation import activate
from ..nn._batchnorm import cached, cached_tree, fold_bn, folded_conv_bn
from ..nn._onednn import PlannedConv2d, folded_conv2d
from ..nn import _onednn
from ._common import forward_hooked
from .. import _C
from ..ops.fused_conv2d import fused_conv2d, pack_weight, space_to_depth_weight
from ..ops.temporal_focus_conv2d import _gate_chain, channel_scaled_conv2d, temporal_focus_conv2d

WIDTHS = (64, 128, 256, 512)
LAYERS = (3, 4, 6, 3)
STRIDES = (1, 2, 2, 2)
POS_DIMS = (56, 28, 14, 7)
EXPANSION = 4
IOI_CHANNELS = 16


# ---------------------------------------------------------------------------
# torch backend: the official formulation
# ---------------------------------------------------------------------------


class SpatialConv(nn.Module):
    """Inter-temporal Object Interaction (IOI) module."""

    def __init__(self, dim_in: int, dim_out: int, pos_dim: int = 7, fused: bool = False) -> None:
        super().__init__()
        self.fused = fused
        self.short_conv = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.glo_conv = nn.Sequential(
            nn.Conv2d(dim_in, IOI_CHANNELS, 3, 1, 1), nn.BatchNorm2d(IOI_CHANNELS), nn.ReLU(inplace=True),
            nn.Conv2d(IOI_CHANNELS, IOI_CHANNELS, 7, 1, 3), nn.BatchNorm2d(IOI_CHANNELS), nn.ReLU(inplace=True),
            nn.Conv2d(IOI_CHANNELS, dim_out, 3, 1, 1), nn.Sigmoid(),
        )
        self.pos_embed = nn.Parameter(torch.zeros(1, IOI_CHANNELS, pos_dim, pos_dim))
        nn.init.kaiming_normal_(self.pos_embed, mode="fan_out", nonlinearity="relu")

    def position(self, height: int, width: int) -> Tensor:
        if self.pos_embed.shape[2:] == (height, width):
            return self.pos_embed
        return F.interpolate(self.pos_embed, size=(height, width), mode="bilinear", align_corners=True)

    def forward(self, x: Tensor, param: Tensor) -> Tensor:
        x_short = self.short_conv(x)
        x = x * param
        for i, layer in enumerate(self.glo_conv):
            if i == 3:
                x = x + self.position(*x.shape[2:])
            x = layer(x)
        return x_short * x

    def folded(self, x: Tensor, scale: Tensor, short_weight: Tensor, short_bias: Tensor) -> Tensor:
        """Eval mode: the IOI output for the gate ``scale`` (N, C), BNs folded,
        ``x * scale`` never written, with the short conv's weights given (they
        may carry the block's BatchNorm)."""
        glo = self.glo_conv
        weight, bias = folded_conv_bn(self, "glo0", glo[0], glo[1])
        g = F.relu_(channel_scaled_conv2d(x, scale, weight, bias, 1, 1))
        g = g + self.position(*g.shape[2:])
        weight, bias = folded_conv_bn(self, "glo3", glo[3], glo[4])
        g = folded_conv2d(self, "glo3/onednn", g, glo[3], weight, bias, "relu")
        g = folded_conv2d(self, "glo6/onednn", g, glo[6], glo[6].weight, glo[6].bias, "sigmoid")
        return folded_conv2d(self, "short/onednn", x, self.short_conv, short_weight, short_bias).mul_(g)


class _CTLPlan(NamedTuple):
    """A CTL's inference plan for one input shape (``ChannelTimeConv.plan``):
    its convs bound with their folded, packed weights, and the position
    embedding at the plane's size."""

    max_pool: bool
    gate1: PlannedConv2d  # FC, BN folded (and the average pool's 1 / (H*W)), ReLU
    gate2: PlannedConv2d  # FC, sigmoid
    glo0: PlannedConv2d  # 3x3 to 16, BN folded, ReLU
    position: Tensor
    glo3: PlannedConv2d  # 7x7, BN folded, ReLU
    glo6: PlannedConv2d  # 3x3, sigmoid
    short: PlannedConv2d  # 3x3, times the gate map
    temporal: PlannedConv2d  # 1x1, plus the IOI branch, then the activation


class _BlockPlan(NamedTuple):
    """A Bottleneck's inference plan for one input shape (BatchNorms folded)."""

    downsample: Optional[PlannedConv2d]
    conv1: PlannedConv2d
    ctl: _CTLPlan
    shortcut: Optional[PlannedConv2d]
    conv3: PlannedConv2d


def _like(x: Tensor, channels: int, conv: Optional[nn.Conv2d] = None) -> Tensor:
    """A meta tensor shaped like ``x`` with ``channels`` channels (after
    ``conv``'s geometry when given), channels_last: what a plan's conv will
    be fed."""
    n, _, h, w = x.shape
    if conv is not None:
        (kh, kw), (ph, pw), (sh, sw) = conv.kernel_size, conv.padding, conv.stride
        h, w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return torch.empty((n, channels, h, w), device="meta").contiguous(memory_format=torch.channels_last)


class ChannelTimeConv(nn.Module):
    """Channel-Time Learning (CTL) module: TFC + IOI sharing one gate."""

    def __init__(self, in_channels: int, out_channels: int, pos_dim: int = 7, fused: bool = False,
                 temporal_bias: bool = False) -> None:
        super().__init__()
        self.fused = fused
        self.param_conv = _gate_chain(in_channels, None, "avg")
        self.temporal_conv = nn.Conv2d(in_channels, out_channels, 1, bias=temporal_bias)
        self.spatial_conv = SpatialConv(in_channels, out_channels, pos_dim, fused)

    def forward(self, x: Tensor) -> Tensor:
        if self.fused and not self.param_conv[2].training:
            short = self.spatial_conv.short_conv
            if _onednn.usable(x):
                plan = _plan_for(self, x, lambda: self.plan(x, self.temporal_conv.weight, self.temporal_conv.bias,
                                                            short.weight, short.bias))
                return _planned(self.run, x, plan)
            return self.folded(x, self.temporal_conv.weight, self.temporal_conv.bias, short.weight, short.bias)
        param = self.param_conv(x)
        if self.fused:  # training mode: the conv of the re-weighted input fused
            conv = self.temporal_conv
            return channel_scaled_conv2d(x, param, conv.weight, conv.bias) + self.spatial_conv(x, param)
        return self.temporal_conv(param * x) + self.spatial_conv(x, param)

    def folded(self, x: Tensor, weight: Tensor, bias, short_weight: Tensor, short_bias: Tensor,
               activation: Optional[str] = None) -> Tensor:
        """Eval mode, with the temporal and short convs' weights given, then
        ``activation``. On the inference path (``usable(x)``): :meth:`run`
        on a plan built for this call (forward() and the blocks keep theirs).
        Elsewhere: the gate and the temporal conv as one
        ``temporal_focus_conv2d`` (``x * param`` never written), the IOI
        branch on the same gate."""
        if _onednn.usable(x):
            return _planned(self.run, x, self.plan(x, weight, bias, short_weight, short_bias, activation))
        gate = self.param_conv
        fc1, bn, fc2 = gate[1], gate[2], gate[4]
        fc1_weight, fc1_bias = folded_conv_bn(self, "gate", fc1, bn, lambda w, b: (w.flatten(1), b))
        pool = "max" if isinstance(gate[0], nn.AdaptiveMaxPool2d) else "avg"
        y, scale = temporal_focus_conv2d(x, weight, fc1_weight, fc1_bias, fc2.weight, fc2.bias, bias, pool=pool)
        return activate(y.add_(self.spatial_conv.folded(x, scale, short_weight, short_bias)), activation)

    def plan(self, x: Tensor, weight: Tensor, bias, short_weight: Tensor, short_bias: Tensor,
             activation: Optional[str] = None) -> _CTLPlan:
        """The inference plan of :meth:`folded` for inputs shaped like ``x``:
        every BatchNorm folded, every conv bound (``_onednn.PlannedConv2d``)."""
        gate, spatial = self.param_conv, self.spatial_conv
        glo = spatial.glo_conv
        x = _like(x, x.size(1))
        pooled = _like(x[:, :, :1, :1], x.size(1))
        position = spatial.position(*x.shape[2:]).detach().contiguous(memory_format=torch.channels_last)
        max_pool = isinstance(gate[0], nn.AdaptiveMaxPool2d)
        fc1_weight, fc1_bias = fold_bn(gate[1].weight, gate[1].bias, gate[2])
        if not max_pool:  # the mean's division folded into the first FC: run() sums
            fc1_weight = fc1_weight / (x.size(2) * x.size(3))
        return _CTLPlan(
            max_pool,
            PlannedConv2d(gate[1], fc1_weight, fc1_bias, pooled, "relu"),
            PlannedConv2d(gate[4], gate[4].weight, gate[4].bias, pooled, "sigmoid"),
            PlannedConv2d(glo[0], *fold_bn(glo[0].weight, glo[0].bias, glo[1]), x, "relu"),
            position,
            PlannedConv2d(glo[3], *fold_bn(glo[3].weight, glo[3].bias, glo[4]), _like(x, IOI_CHANNELS), "relu"),
            PlannedConv2d(glo[6], glo[6].weight, glo[6].bias, _like(x, IOI_CHANNELS), "sigmoid"),
            PlannedConv2d(spatial.short_conv, short_weight, short_bias, x, None, "mul"),
            PlannedConv2d(self.temporal_conv, weight, bias, x, activation),
        )

    @staticmethod
    def run(x: Tensor, plan: _CTLPlan) -> Tensor:
        """The CTL on its plan, ``x`` channels_last: the gate's two FCs as 1x1
        ``fused_conv2d`` calls on the pooled map (ReLU and sigmoid fused;
        ``F.linear`` on one row took 25-30 us a call in MKL; an average pool
        as a sum, 1.5 us less than ``mean``, which divides in a second
        pass), ``x * param``
        written once (as ONNX Runtime does) and read by the temporal conv and
        the IOI branch's first conv, the IOI product fused into the short
        conv, the branch sum and the activation into the temporal conv."""
        pooled = x.amax((2, 3), keepdim=True) if plan.max_pool else x.sum((2, 3), keepdim=True)
        scaled = x * plan.gate2(plan.gate1(pooled))
        g = plan.glo0(scaled).add_(plan.position)
        ioi = plan.short(x, plan.glo6(plan.glo3(g)))
        return plan.temporal(scaled, ioi)


class Bottleneck(nn.Module):
    """CTL bottleneck block."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut_conv: nn.Module = None,
                 pos_dim: int = 7, fused: bool = False) -> None:
        super().__init__()
        self.fused = fused
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = ChannelTimeConv(planes, planes, pos_dim, fused)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * EXPANSION)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut_conv = shortcut_conv
        self.stride = stride
        if stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, in_planes, 2, stride=2, groups=in_planes), nn.BatchNorm2d(in_planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        if self.fused and not self.bn1.training:
            return self._forward_folded(x)
        if self.stride != 1:
            x = self.downsample(x)
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.shortcut_conv is not None:
            residual = self.shortcut_conv(x)
        out += residual
        return self.relu(out)

    def _fold_ctl(self):
        """The CTL's temporal and short convs with the block's following BN folded:
        bn2(t + s * g) = gain*t + (gain*s) * g + shift."""
        bn = self.bn2
        temporal, short = self.conv2.temporal_conv, self.conv2.spatial_conv.short_conv
        temporal_weight, shift = fold_bn(temporal.weight, temporal.bias, bn)
        gain = fold_bn(temporal.weight.new_ones(bn.num_features, 1), None, bn)[0].view(-1)
        return temporal_weight, shift, short.weight * gain.view(-1, 1, 1, 1), short.bias * gain

    def _ctl_weights(self):
        """:meth:`_fold_ctl`, cached."""
        ctl, bn = self.conv2, self.bn2
        temporal, short = ctl.temporal_conv, ctl.spatial_conv.short_conv
        sources = (temporal.weight, temporal.bias, short.weight, short.bias, bn.weight, bn.bias,
                   bn.running_mean, bn.running_var, bn.eps)
        return cached(self, "ctl", sources, self._fold_ctl)

    def _forward_folded(self, x: Tensor) -> Tensor:
        """Eval mode: every BatchNorm folded into the conv before it. On the
        inference path, the block's plan (:meth:`plan`, for the input's
        shape, validated once a call: ``_plan_for``) and :meth:`run`."""
        if _onednn.usable(x):
            return _planned(self.run, x, _plan_for(self, x, lambda: self.plan(x)))
        if self.stride != 1:
            weight, bias = folded_conv_bn(self, "downsample", self.downsample[0], self.downsample[1])
            x = folded_conv2d(self, "downsample/onednn", x, self.downsample[0], weight, bias)
        weight, bias = folded_conv_bn(self, "conv1", self.conv1, self.bn1)
        out = folded_conv2d(self, "conv1/onednn", x, self.conv1, weight, bias, "relu")
        out = self.conv2.folded(out, *self._ctl_weights(), activation="relu")
        residual = x
        if self.shortcut_conv is not None:
            weight, bias = folded_conv_bn(self, "shortcut", self.shortcut_conv[0], self.shortcut_conv[1])
            residual = folded_conv2d(self, "shortcut/onednn", x, self.shortcut_conv[0], weight, bias)
        weight, bias = folded_conv_bn(self, "conv3", self.conv3, self.bn3)
        # relu(bn3(conv3(out)) + residual): the add and the ReLU fused into the conv.
        return folded_conv2d(self, "conv3/onednn", out, self.conv3, weight, bias, "relu", residual)

    def plan(self, x: Tensor) -> _BlockPlan:
        """The block's inference plan for inputs shaped like ``x``."""
        downsample = shortcut = None
        if self.stride != 1:
            conv, bn = self.downsample
            downsample = PlannedConv2d(conv, *fold_bn(conv.weight, conv.bias, bn), _like(x, x.size(1)))
            x = _like(x, x.size(1), conv)
        else:
            x = _like(x, x.size(1))
        if self.shortcut_conv is not None:
            conv, bn = self.shortcut_conv
            shortcut = PlannedConv2d(conv, *fold_bn(conv.weight, conv.bias, bn), x)
        mid = _like(x, self.conv1.out_channels)
        return _BlockPlan(
            downsample,
            PlannedConv2d(self.conv1, *fold_bn(self.conv1.weight, self.conv1.bias, self.bn1), x, "relu"),
            self.conv2.plan(mid, *self._fold_ctl(), activation="relu"),
            shortcut,
            PlannedConv2d(self.conv3, *fold_bn(self.conv3.weight, self.conv3.bias, self.bn3), mid, "relu"),
        )

    @staticmethod
    def run(x: Tensor, plan: _BlockPlan, owned: bool = False) -> Tensor:
        """The block on its plan, ``x`` channels_last. The last conv writes
        its output over the residual (``PlannedConv2d.into``) where the block
        owns it: the shortcut's output, a downsampled input, or ``x`` itself
        when the caller gives it up (``owned``: a model's intermediate).
        SqueezeTime, `python bench/plan_overhead.py 240`: 109.1 ms against
        110.9 with fresh outputs at one thread, 60.2 against 60.8 at two."""
        if plan.downsample is not None:
            x, owned = plan.downsample(x), True
        out = ChannelTimeConv.run(plan.conv1(x), plan.ctl)
        # relu(bn3(conv3(out)) + residual): the add and the ReLU fused into the conv.
        if plan.shortcut is not None:
            return plan.conv3.into(out, plan.shortcut(x))
        return plan.conv3.into(out, x) if owned else plan.conv3(out, x)


def _plan_for(module: nn.Module, x: Tensor, build):
    """``module``'s inference plan for inputs shaped like ``x``: ``build()``
    on first use, kept until ``cached_tree`` sees the module change or
    another shape comes (a plan holds a packed copy of every weight: one
    shape is kept, as the packing caches did)."""
    plans = cached_tree(module, "plan", dict)
    plan = plans.get(x.shape)
    if plan is None:
        plans.clear()
        plan = plans[x.shape] = build()
    return plan


def _planned(run, x: Tensor, plan) -> Tensor:
    """``run(x, plan)`` on channels_last ``x`` (the models' layout from the
    stem on), converting another input and the output back."""
    if x.is_contiguous(memory_format=torch.channels_last):
        return run(x, plan)
    return run(_onednn.to_channels_last(x), plan).contiguous()


def _stem_as_stride1(conv: nn.Conv2d, x: Tensor) -> bool:
    """Whether the stem ``conv`` on ``x`` runs as a 3x3 stride-1 conv on the
    input's space-to-depth (``SqueezeTime._stem``): SqueezeTime's own 5x5
    stride-2 conv, padding 2, on a contiguous NCHW input of even height and
    width."""
    return (conv.kernel_size == (5, 5) and conv.stride == (2, 2) and conv.padding == (2, 2) and conv.groups == 1
            and conv.dilation == (1, 1) and conv.padding_mode == "zeros" and x.size(2) % 2 == 0
            and x.size(3) % 2 == 0 and x.is_contiguous())


class SqueezeTime(nn.Module):
    """See the module docstring."""

    def __init__(self, num_classes: int = 400, frames: int = 16, dropout: float = 0.5, backend: str = "torch") -> None:
        super().__init__()
        self.frames = frames
        self.backend = backend
        self.config = {"num_classes": num_classes, "frames": frames, "dropout": dropout}
        fused = backend == "fastvfx"
        self.conv1 = nn.Conv2d(3 * frames, WIDTHS[0], 5, stride=2, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTHS[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_planes = WIDTHS[0]
        for index, (planes, blocks, stride, pos_dim) in enumerate(zip(WIDTHS, LAYERS, STRIDES, POS_DIMS), 1):
            shortcut = None
            if in_planes != planes * EXPANSION:
                shortcut = nn.Sequential(nn.Conv2d(in_planes, planes * EXPANSION, 1, bias=False),
                                         nn.BatchNorm2d(planes * EXPANSION))
            layer = [Bottleneck(in_planes, planes, stride, shortcut, pos_dim, fused)]
            in_planes = planes * EXPANSION
            layer += [Bottleneck(in_planes, planes, pos_dim=pos_dim, fused=fused) for _ in range(1, blocks)]
            setattr(self, f"layer{index}", nn.Sequential(*layer))
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc_cls = nn.Linear(in_planes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc_cls.weight, 0, 0.01)
        nn.init.zeros_(self.fc_cls.bias)

    def _stem(self, x: Tensor) -> Tensor:
        if self.backend == "fastvfx" and not self.bn1.training:
            weight, bias = folded_conv_bn(self, "conv1", self.conv1, self.bn1)
            if _onednn.inference(x) and _stem_as_stride1(self.conv1, x):
                # channels_last from here on (the stages' convs run on it): the
                # input's 2x2 space-to-depth through the core's transposes, on
                # which the 5x5 stride-2 conv is a 3x3 stride-1 one (over 4x
                # the channels) that runs by Winograd (F(4x4, 3x3) at 112²: 9
                # multiply-adds a pixel where the direct conv does 25; python
                # bench/winograd.py, "stem"). Then the max pool on
                # channels_last (NCHW: 20x slower).
                tile = _onednn.winograd_tile(4 * x.size(1), self.conv1.out_channels, x.size(0), x.size(2) // 2,
                                             x.size(3) // 2) or 2
                packed = cached(self, f"conv1/s2d/{tile}", (weight,),
                                lambda: pack_weight(space_to_depth_weight(weight), winograd=tile))
                return self.maxpool(fused_conv2d(_C._space_to_depth2(x), packed, bias, 1, 1, activation="relu"))
            if _onednn.usable(x):
                # oneDNN's 5x5 conv on the input in channels_last (copy and
                # conv 8.10 ms at one thread, 4.04 at two, against 8.73 and
                # 4.29 for fused_conv2d's GEMM on the NCHW input and 10.64 and
                # 5.30 with torch's copy: bench/channels_last_copy.py).
                xcl = _onednn.to_channels_last(x)
                packed = _onednn.packed(self, "conv1/onednn", weight, bias, self.conv1, xcl)
                return self.maxpool(_onednn.conv2d(xcl, packed, "relu"))
            return self.maxpool(folded_conv2d(self, "conv1/onednn", x, self.conv1, weight, bias, "relu"))
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def _stages(self, y: Tensor) -> Tensor:
        """The four stages on the stem's output. On the inference path, with
        no forward hook that could keep a block's input or output, each eval
        block runs its plan with its input given up (``Bottleneck.run``,
        ``owned``): the stem's output and every block's are the model's own,
        so a block writes its output over its input."""
        layers = (self.layer1, self.layer2, self.layer3, self.layer4)
        blocks = [block for layer in layers for block in layer]
        if not (self.backend == "fastvfx" and _onednn.usable(y) and y.is_contiguous(memory_format=torch.channels_last)
                and not forward_hooked(layers + tuple(blocks))):
            return self.layer4(self.layer3(self.layer2(self.layer1(y))))
        for block in blocks:
            if block.fused and not block.bn1.training:
                y = Bottleneck.run(y, _plan_for(block, y, lambda: block.plan(y)), owned=True)
            else:
                y = block(y)
        return y

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.size(1) != 3 or x.size(2) != self.frames:
            raise ValueError(f"SqueezeTime: expected a clip of shape (N, 3, {self.frames}, H, W), "
                             f"got {tuple(x.shape)}")
        n, _, _, h, w = x.shape
        y = self._stages(self._stem(x.reshape(n, -1, h, w)))
        if self.backend == "fastvfx" and not self.training and _onednn.inference(y) and \
                y.is_contiguous(memory_format=torch.channels_last):
            # Inference: the pool as a mean over the channels-last rows (the
            # core's row sum), the classifier as a 1x1 fused_conv2d (MKL's
            # addmm on one row is slow here).
            packed = _onednn.packed_fused(self, "fc_cls", self.fc_cls.weight)
            return fused_conv2d(_onednn.mean_hw(y), packed, self.fc_cls.bias).flatten(1)
        return self.fc_cls(self.dropout(self.avg_pool(y).flatten(1)))


def squeezetime(num_classes: int = 400, frames: int = 16, backend: str = "torch", dropout: float = 0.5) -> SqueezeTime:
    """SqueezeTime, Kinetics-400 configuration, random weights."""
    from . import _check_backend

    _check_backend(backend)
    return SqueezeTime(num_classes, frames, dropout, backend)
