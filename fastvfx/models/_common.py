"""Pieces the reference models share: BatchNorm folding with a cache, TF
"same" padding, and the class swap that turns a torch-backend module into its
fastvfx counterpart (same attributes, same state dict, another forward)."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn._batchnorm import fold_bn
from ..ops.causal_dwconv3d import spatial_padding


def cached(module: nn.Module, slot: str, sources: tuple, compute: Callable[[], object]):
    """``compute()``, remembered on ``module`` until one of ``sources`` (tensors,
    or None / plain values) changes. With gradients enabled nothing is cached:
    the computation is part of the graph.

    A tensor changed in place moves its version; one replaced (``.to()``,
    ``.double()``, assignment) is another object, detected by identity (the
    cache holds the old ones, so their ids cannot be reused meanwhile). This
    check runs on every call of a streaming model, hence the plain loop."""
    if torch.is_grad_enabled() or torch.compiler.is_compiling():
        return compute()
    store = module.__dict__.get("_fastvfx_cache")
    if store is None:
        store = module.__dict__["_fastvfx_cache"] = {}
    entry = store.get(slot)
    if entry is not None:
        old_sources, versions, value = entry
        fresh = True
        for old, new, version in zip(old_sources, sources, versions):
            if old is not new or (version is not None and new._version != version):
                fresh = False
                break
        if fresh:
            return value
    value = compute()
    versions = tuple(s._version if isinstance(s, Tensor) else None for s in sources)
    store[slot] = (sources, versions, value)
    return value


def folded_conv_bn(module: nn.Module, slot: str, conv: nn.Module, bn: nn.Module) -> tuple[Tensor, Tensor]:
    """Cached :func:`fold_bn` of ``conv`` (anything with ``weight`` / ``bias``) and ``bn``."""
    params, bn_params, bn_buffers = conv._parameters, bn._parameters, bn._buffers
    sources = (params["weight"], params.get("bias"), bn_params.get("weight"), bn_params.get("bias"),
               bn_buffers["running_mean"], bn_buffers["running_var"], bn.eps)
    return cached(module, slot, sources, lambda: fold_bn(conv.weight, conv.bias, bn))


def tf_same_pad(x: Tensor, kernel: tuple[int, int], stride: tuple[int, int]) -> Tensor:
    """Zero-pad the last two dims by TensorFlow's "same" rule (the odd extra
    pixel at the bottom / right), as MoViNet's convolutions and pools pad."""
    _, top, bottom = spatial_padding(x.size(-2), kernel[0], stride[0], None)
    _, left, right = spatial_padding(x.size(-1), kernel[1], stride[1], None)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


def swap_class(module: nn.Module, cls: type) -> nn.Module:
    """Turn ``module`` into an instance of ``cls``, a subclass that keeps its
    attributes and state dict and only changes ``forward`` (and friends)."""
    module.__class__ = cls
    module.__dict__.pop("_fastvfx_cache", None)
    return module


def check_frames(x: Tensor, name: str, rank: int, layout: str) -> None:
    if x.dim() != rank:
        raise ValueError(f"{name}: expected input of shape {layout}, got {tuple(x.shape)}")


ACTIVATION_NAMES = {nn.SiLU: "swish", nn.Hardswish: "hardswish", nn.ReLU: "relu", nn.ReLU6: "relu6"}


def activation_name(act: nn.Module) -> Optional[str]:
    """The fused-activation name of a module, None for Identity; raise for others."""
    if type(act) is nn.Identity:
        return None
    name = ACTIVATION_NAMES.get(type(act))
    if name is None:
        raise ValueError(f"no fused form of activation {type(act).__name__}")
    return name


# Swish is applied by torch after the causal dwconv kernel, the others inside
# it. The kernel's fused swish first used a scalar exp per element (262 us
# fused against 94 us for the conv plus torch's silu_ at 80x22x22x3x3x3); its
# vectorised exp now makes the two about equal (72 / 60, 102 / 101 and
# 54 / 61 us at 80x22², 40x43², 184x11²), so either choice is fine.
KERNEL_FUSED_ACTIVATIONS = ("relu", "relu6", "hardswish")


def split_activation(name: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(activation to fuse into a causal dwconv kernel, activation to apply after)."""
    return (name, None) if name is None or name in KERNEL_FUSED_ACTIVATIONS else (None, name)


def activate(y: Tensor, name: Optional[str]) -> Tensor:
    """The activation ``name`` applied by torch: in place on a fresh
    intermediate, out of place when autograd needs the input."""
    if name is None:
        return y
    if torch.is_grad_enabled() and y.requires_grad:
        return apply_activation_(y.clone(), name)
    return apply_activation_(y, name)


def apply_activation_(y: Tensor, name: Optional[str]) -> Tensor:
    """The activation, in place on a fresh intermediate."""
    if name is None:
        return y
    if name == "swish":
        return F.silu(y, inplace=True)
    if name == "hardswish":
        return F.hardswish(y, inplace=True)
    if name == "relu":
        return F.relu(y, inplace=True)
    return F.relu6(y, inplace=True)


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, *inputs: Tensor, min_var: float = 0.0) -> nn.Module:
    """Set every BatchNorm's running statistics to those of ``model(*inputs)``
    (one training-mode pass, cumulative average), then put the model in eval
    mode. Randomly initialised deep models otherwise let activations vanish or
    explode in eval mode, which makes outputs meaningless (and can hit
    denormals); calibrated ones keep them near unit scale.

    ``min_var`` floors the running variances: channels that are nearly
    constant over a small batch (SqueezeTime's gates see one value per sample)
    would otherwise be divided by a tiny variance, an ill-conditioned model
    whose float32 outputs drift from float64 by far more than 1e-4."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    model(*inputs)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
        m.running_var.clamp_(min=min_var)
    return model.eval()


def swap_to_fastvfx(model: nn.Module, classes: dict, root: type) -> nn.Module:
    """Swap every module whose type is a key of ``classes`` (in place) for
    the fastvfx class it maps to, and mark the model's ``root`` as running
    the fastvfx backend."""
    for module in model.modules():
        fast = classes.get(type(module))
        if fast is not None:
            swap_class(module, fast)
            if isinstance(module, root):
                module.backend = "fastvfx"
    return model
