"""What the reference models share beyond their modules: BatchNorm calibration
of randomly initialised models."""

from __future__ import annotations

import torch
from torch import Tensor, nn


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


def forward_hooked(modules) -> bool:
    """Whether calling any of ``modules`` would run a forward hook or
    pre-hook, its own or a global one: something outside the model that may
    keep a module's input or output. A model may give up (write over) its
    own intermediates between modules only when none is."""
    from torch.nn.modules import module as _module

    if _module._global_forward_hooks or _module._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in modules)
