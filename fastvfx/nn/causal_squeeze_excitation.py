"""CausalSqueezeExcitation: MoViNet's squeeze-excitation, pooled causally."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._activation import activate, activation_name
from ._batchnorm import cached


def causal_pool(x: Tensor, total: Optional[Tensor] = None, counts: Optional[Tensor] = None, causal: bool = True,
                both_pools: bool = False) -> tuple[Tensor, Optional[Tensor]]:
    """(pooled features (N, C or 2C, t, 1, 1), new running sum) of x (N, C, t, H, W).

    Causal: frame i gets the average of the frame means up to i; ``total``
    (N, C, 1, 1, 1) sums the frames before ``x`` in the stream (None: none),
    ``counts`` (t,) numbers the frames of ``x`` in the stream (None: 1..t).
    Otherwise every frame gets the clip average (no running sum).
    ``both_pools`` appends the per-frame means (TF's "2plus3d" SE)."""
    frame_means = x.mean((3, 4), keepdim=True)
    if not causal:
        pooled = frame_means.mean(2, keepdim=True).expand_as(frame_means)
        new_total = None
    else:
        sums = torch.cumsum(frame_means, dim=2)
        if total is not None:
            sums = sums + total
        if counts is None:
            counts = torch.arange(1, x.size(2) + 1, device=x.device)
        pooled = sums / counts.view(1, 1, -1, 1, 1)
        new_total = sums[:, :, -1:]
    if both_pools:
        pooled = torch.cat((pooled, frame_means), dim=1)
    return pooled, new_total


class CausalSqueezeExcitation(nn.Module):
    """Squeeze-excitation whose pooling is :func:`causal_pool`: children
    ``fc1`` (1x1x1 ``nn.Conv3d``), ``act``, ``fc2``, ``gate`` (``nn.Sigmoid``
    or ``nn.Hardsigmoid``), the state dict of MoViNet's SE.

    ``scale(x, total, counts)`` returns the gate (N, C, t, 1, 1) and the new
    running sum; ``forward(x) = x * scale(x)[0]``. The two 1x1x1 convs run on
    the pooled vectors as GEMMs (conv3d's per-call setup dominates on 1x1x1
    inputs); one causal frame adds its mean to the running sum (no cumsum).
    """

    def __init__(self, channels: int, squeeze: int, activation: type, gate: type, both_pools: bool,
                 causal: bool = True) -> None:
        super().__init__()
        if gate not in (nn.Sigmoid, nn.Hardsigmoid):
            raise ValueError(f"CausalSqueezeExcitation: gate must be nn.Sigmoid or nn.Hardsigmoid, got {gate}")
        self.both_pools = both_pools
        self.causal = causal
        self.fc1 = nn.Conv3d(channels * (2 if both_pools else 1), squeeze, 1)
        self.act = activation()
        self.fc2 = nn.Conv3d(squeeze, channels, 1)
        self.gate = gate()
        self._activation = activation_name(self.act)

    def matrices(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(fc1 weight (S, C_in), fc1 bias, fc2 weight (C, S), fc2 bias) as
        GEMM operands: cached, so that a stream step does not reshape them again."""
        fc1, fc2 = self._modules["fc1"]._parameters, self._modules["fc2"]._parameters
        sources = (fc1["weight"], fc1["bias"], fc2["weight"], fc2["bias"])
        return cached(self, "fc", sources, lambda: (
            sources[0].flatten(1), sources[1], sources[2].flatten(1), sources[3]))

    def _excite(self, pooled: Tensor) -> Tensor:
        """Gate of pooled vectors (..., C_in) -> (..., C)."""
        weight1, bias1, weight2, bias2 = self.matrices()
        hidden = activate(F.linear(pooled, weight1, bias1), self._activation)
        logits = F.linear(hidden, weight2, bias2)
        inplace = not (torch.is_grad_enabled() and logits.requires_grad)
        if type(self._modules["gate"]) is nn.Sigmoid:
            return torch.sigmoid_(logits) if inplace else torch.sigmoid(logits)
        return F.hardsigmoid(logits, inplace=inplace)

    def scale(self, x: Tensor, total: Optional[Tensor] = None, counts: Optional[Tensor] = None):
        """The gate (N, C, t, 1, 1) and the new running sum (see :func:`causal_pool`)."""
        n, c, t = x.shape[:3]
        if self.causal and t == 1:
            frame_means = x.mean((3, 4), keepdim=True)
            total = frame_means if total is None else frame_means + total
            pooled = (total if counts is None else total / counts).view(n, c)
            if self.both_pools:
                pooled = torch.cat((pooled, frame_means.view(n, c)), dim=1)
            return self._excite(pooled).view(n, c, 1, 1, 1), total
        pooled, total = causal_pool(x, total, counts, self.causal, self.both_pools)
        gate = self._excite(pooled.view(n, -1, t).transpose(1, 2))
        return gate.transpose(1, 2).reshape(n, c, t, 1, 1), total

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale(x)[0]

    def extra_repr(self) -> str:
        return f"both_pools={self.both_pools}, causal={self.causal}"
