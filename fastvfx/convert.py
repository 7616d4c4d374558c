"""``fastvfx.convert``: drop-in replacement of the modules fastvfx speeds up.

Recognised patterns (everything else is left alone):

- A torch-backend model of ``fastvfx.models`` is built again with
  ``backend="fastvfx"`` (its blocks made of ``fastvfx.nn`` modules) and given
  the same weights, dtype, device and mode: a new object, even with
  ``inplace=True`` when it is the root (the backends share the state dict).
- TSM-style temporal shift wrappers, recognised by their attributes ``net``,
  ``n_segment`` and ``fold_div`` (TSM's ``TemporalShift``), become
  ``fastvfx.nn.TemporalShift`` around the same ``net``; when ``net`` is a
  plain 1x1 conv it runs as ``fastvfx.shift_conv1x1`` (shift on read). TSM's
  withdrawn ``inplace=True`` is not reproduced: the input is never modified.
- Causal depthwise Conv3d modules in the style of MoViNet's PyTorch port,
  recognised by ``conv_1`` (a depthwise ``nn.Conv3d``, temporal stride 1, no
  temporal padding), ``dim_pad == kT - 1`` and ``conv_type == "3d"``, whose
  forward prepends a buffer of the last kT-1 input frames (zeros at the start,
  kept between calls in ``activation``, reset by setting it to None). The
  module itself is kept (its class, forward and buffer); its ``conv_1``
  becomes ``fastvfx.nn.CausalDepthwiseConv3d(temporal_padding="valid")``,
  which takes the buffered frames in front of the new ones as the port passes
  them: without gradients it steps only the new frames from a stream state of
  the buffered ones (``causal_dwconv3d_step``), with gradients it runs
  ``fastvfx.causal_dwconv3d``. In eval mode a following ``BatchNorm3d``
  sibling (same parent ``nn.Sequential``) is folded into that conv and
  replaced by ``nn.Identity``, and a following ReLU / ReLU6 / Hardswish / SiLU
  is fused likewise.
- SqueezeTime Channel-Time Learning modules, recognised by ``param_conv`` (pool,
  1x1 conv, BN, ReLU, 1x1 conv, sigmoid), ``temporal_conv`` (a 1x1
  ``nn.Conv2d``) and ``spatial_conv`` (``short_conv``, ``glo_conv``,
  ``pos_embed``), whose forward is ``temporal_conv(param * x) +
  spatial_conv(x, param)``: eval mode runs the fused TFC and the IOI branch on
  the same gate, BatchNorms folded; training mode the conv of the re-weighted
  input. They become the fastvfx backend's ``ChannelTimeConv`` (same names,
  same state dict). SqueezeTime's TFC chain alone (``fastvfx.ops`` reference module with
  the same names, returning ``(y, param)``) becomes ``fastvfx.nn.TemporalFocusConv2d``.

``convert`` returns the converted model (a deep copy unless ``inplace``) and
attaches what it replaced as ``model.fastvfx_conversion``
(:class:`ConversionSummary`); ``verbose=True`` prints it.
"""

from __future__ import annotations

import copy
import dataclasses

from torch import nn

from .models.mobilenet_v2_tsm import MobileNetV2TSM
from .models.movinet import MoViNet
from .models.squeezetime import ChannelTimeConv, SqueezeTime
from .nn._activation import ACTIVATION_NAMES
from .nn.causal_dwconv3d import CausalDepthwiseConv3d
from .nn.temporal_focus_conv2d import TemporalFocusConv2d
from .nn.temporal_shift import TemporalShift, _is_plain_conv1x1
from .ops.temporal_focus_conv2d import TemporalFocusConv2dReference

_MODELS = (MoViNet, MobileNetV2TSM, SqueezeTime)


@dataclasses.dataclass
class ConversionSummary:
    """``replaced``: (module path, what it was, what it became), in model order."""

    replaced: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, before, after in self.replaced:
            key = f"{before} -> {after}"
            out[key] = out.get(key, 0) + 1
        return out

    def __len__(self) -> int:
        return len(self.replaced)

    def __str__(self) -> str:
        if not self.replaced:
            return "fastvfx.convert: nothing replaced (no recognised module)"
        lines = [f"fastvfx.convert: {len(self.replaced)} modules replaced"]
        lines += [f"  {count:4d} x {kind}" for kind, count in self.counts().items()]
        return "\n".join(lines)


def convert(model: nn.Module, inplace: bool = False, verbose: bool = False) -> nn.Module:
    """Replace the modules fastvfx recognises (see the module docstring) by
    fastvfx ones with the same outputs; return the model."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"fastvfx.convert: expected a torch.nn.Module, got {type(model).__name__}")
    if not inplace:
        model = copy.deepcopy(model)
    summary = ConversionSummary()
    root = _convert_module(model, "", summary)
    _fold_causal_siblings(root, "", summary)
    root.fastvfx_conversion = summary
    if verbose:
        print(summary)
    return root


# ---------------------------------------------------------------------------
# Walking the model
# ---------------------------------------------------------------------------


def _convert_module(module: nn.Module, path: str, summary: ConversionSummary) -> nn.Module:
    """Convert ``module`` itself (returning its replacement), then its children."""
    replacement = _replace(module, path, summary)
    if type(replacement) in _MODELS:  # built for its backend as a whole
        return replacement
    for name, child in list(replacement.named_children()):
        new_child = _convert_module(child, f"{path}.{name}" if path else name, summary)
        if new_child is not child:
            setattr(replacement, name, new_child)
    return replacement


def _replace(module: nn.Module, path: str, summary: ConversionSummary) -> nn.Module:
    before = type(module).__name__
    if type(module) in _MODELS and module.backend != "fastvfx":
        new = _rebuild(module, "fastvfx")
        summary.replaced.append((path, before, f"{before} (fastvfx backend)"))
        return new
    if _is_tsm_shift(module):
        mode = getattr(module, "mode", "bidirectional")
        new = TemporalShift(module.net, module.n_segment, module.fold_div, mode=mode)
        new.train(module.training)
        fused = " (shift on read)" if _is_plain_conv1x1(module.net) else ""
        summary.replaced.append((path, before, "fastvfx.nn.TemporalShift" + fused))
        return new
    if type(module) is TemporalFocusConv2dReference:
        new = TemporalFocusConv2d(module.temporal_conv.in_channels, module.temporal_conv.out_channels,
                                  module.temporal_conv.kernel_size, module.temporal_conv.stride,
                                  module.temporal_conv.padding, module.temporal_conv.bias is not None,
                                  _pool_of(module.param_conv), module.param_conv[1].out_channels)
        new.load_state_dict(module.state_dict())
        new.to(module.temporal_conv.weight).train(module.training)
        summary.replaced.append((path, before, "fastvfx.nn.TemporalFocusConv2d"))
        return new
    if _is_ctl(module):
        temporal = module.temporal_conv
        new = ChannelTimeConv(temporal.in_channels, temporal.out_channels, module.spatial_conv.pos_embed.size(-1),
                              fused=True, temporal_bias=temporal.bias is not None)
        new.to(temporal.weight)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        summary.replaced.append((path, before, "fused TFC + IOI (fastvfx.temporal_focus_conv2d)"))
        return new
    if _is_causal_conv(module):
        conv = module.conv_1
        new = CausalDepthwiseConv3d(conv.in_channels, conv.kernel_size, conv.stride, conv.padding[1:],
                                    conv.bias is not None, temporal_padding="valid")
        new.to(conv.weight).load_state_dict(conv.state_dict())
        new.train(conv.training)
        module.conv_1 = new
        summary.replaced.append((f"{path}.conv_1" if path else "conv_1", "Conv3d",
                                 "fastvfx.nn.CausalDepthwiseConv3d (the module's stream buffer kept)"))
        return module
    return module


def _rebuild(model: nn.Module, backend: str) -> nn.Module:
    """A ``fastvfx.models`` model built again with ``backend``, with the same
    weights, dtype, device and mode (the backends share the state dict)."""
    new = type(model)(**model.config, backend=backend)
    tensor = next(model.parameters())
    new.to(dtype=tensor.dtype, device=tensor.device)
    new.load_state_dict(model.state_dict())
    return new.train(model.training)


# ---------------------------------------------------------------------------
# Pattern recognition
# ---------------------------------------------------------------------------


def _is_tsm_shift(module: nn.Module) -> bool:
    return (
        not isinstance(module, TemporalShift)
        and all(hasattr(module, name) for name in ("net", "n_segment", "fold_div"))
        and isinstance(module.net, nn.Module)
        and isinstance(module.n_segment, int)
        and isinstance(module.fold_div, int)
        and getattr(module, "mode", "bidirectional") in ("bidirectional", "past")
    )


def _pool_of(gate: nn.Sequential) -> str:
    return "max" if isinstance(gate[0], nn.AdaptiveMaxPool2d) else "avg"


def _is_tfc_gate(gate) -> bool:
    kinds = (
        (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d), nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.Sigmoid
    )
    return (
        isinstance(gate, nn.Sequential)
        and len(gate) == len(kinds)
        and all(isinstance(layer, kind) for layer, kind in zip(gate, kinds))
        and all(gate[i].kernel_size == (1, 1) and gate[i].groups == 1 for i in (1, 4))
        and gate[0].output_size in (1, (1, 1))
    )


def _is_ctl(module: nn.Module) -> bool:
    if isinstance(module, ChannelTimeConv) and module.fused:
        return False
    temporal, spatial = getattr(module, "temporal_conv", None), getattr(module, "spatial_conv", None)
    return (
        _is_tfc_gate(getattr(module, "param_conv", None))
        and type(temporal) is nn.Conv2d
        and _is_plain_conv1x1(temporal)
        and spatial is not None
        and type(getattr(spatial, "short_conv", None)) is nn.Conv2d
        and isinstance(getattr(spatial, "glo_conv", None), nn.Sequential)
        and len(spatial.glo_conv) == 8
        and isinstance(getattr(spatial, "pos_embed", None), nn.Parameter)
    )


def _is_causal_conv(module: nn.Module) -> bool:
    conv = getattr(module, "conv_1", None)
    if type(conv) is not nn.Conv3d or getattr(module, "conv_type", None) != "3d":
        return False
    kt = conv.kernel_size[0]
    return (
        conv.groups == conv.in_channels == conv.out_channels
        and conv.stride[0] == 1
        and conv.padding[0] == 0
        and conv.dilation == (1, 1, 1)
        and conv.padding_mode == "zeros"
        and not isinstance(conv.padding, str)
        and getattr(module, "dim_pad", None) == kt - 1
    )


def _fold_causal_siblings(module: nn.Module, path: str, summary: ConversionSummary) -> None:
    """In eval mode, fold a BatchNorm3d (and fuse an activation) that follows a
    converted causal conv in the same nn.Sequential."""
    for name, child in module.named_children():
        _fold_causal_siblings(child, f"{path}.{name}" if path else name, summary)
    if not isinstance(module, nn.Sequential):
        return
    children = list(module.named_children())
    for i, (name, child) in enumerate(children):
        conv = getattr(child, "conv_1", None)
        if not (isinstance(conv, CausalDepthwiseConv3d) and conv.temporal_padding == "valid") or conv.training:
            continue
        j = i + 1
        if j < len(children) and type(children[j][1]) is nn.BatchNorm3d and not children[j][1].training:
            conv.fuse_bn(children[j][1])
            setattr(module, children[j][0], nn.Identity())
            summary.replaced.append((f"{path}.{children[j][0]}" if path else children[j][0], "BatchNorm3d",
                                     "folded into the causal conv"))
            j += 1
        if j < len(children) and type(children[j][1]) in ACTIVATION_NAMES:
            conv.activation = ACTIVATION_NAMES[type(children[j][1])]
            setattr(module, children[j][0], nn.Identity())
            summary.replaced.append((f"{path}.{children[j][0]}" if path else children[j][0],
                                     type(children[j][1]).__name__, "fused into the causal conv"))


__all__ = ["ConversionSummary", "convert"]
