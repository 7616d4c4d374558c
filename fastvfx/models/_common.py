"""Pieces the reference models share: BatchNorm folding with a cache, TF
"same" padding, and the class swap that turns a torch-backend module into its
fastvfx counterpart (same attributes, same state dict, another forward)."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn._activation import ACTIVATION_NAMES, activate, activation_name, apply_activation_, split_activation  # noqa: F401
from ..nn._batchnorm import cached, fold_bn, folded_conv_bn  # noqa: F401
from ..nn.conv_bn_act import tf_same_pad  # noqa: F401


def check_frames(x: Tensor, name: str, rank: int, layout: str) -> None:
    if x.dim() != rank:
        raise ValueError(f"{name}: expected input of shape {layout}, got {tuple(x.shape)}")


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
