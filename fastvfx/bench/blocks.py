"""MobileNetV2-TSM inverted residual blocks: the fastvfx backend's block (one
``fastvfx.inverted_residual`` call: expansion, depthwise, projection,
residual and TSM's shift fused) against the torch backend's block (the layers
as torchvision and TSM write them), same weights, eval mode, without
gradients. The baseline is fed channels_last, eager PyTorch's faster layout
for these blocks (oneDNN's depthwise and 1x1 kernels); the "torch NCHW"
column times it on NCHW input."""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from ..models.mobilenet_v2_tsm import FOLD_DIV, InvertedResidual, InvertedResidualWithShift, _Parts
from .case import Case, to_device

# (C_in, expansion, C_out, stride, H = W) of MobileNetV2 at 224x224.
CLIP_BLOCKS = (
    (16, 6, 24, 2, 112),
    (24, 6, 24, 1, 56),
    (32, 6, 32, 1, 28),
    (64, 6, 64, 1, 14),
    (160, 6, 160, 1, 7),
)
STEP_BLOCKS = ((24, 6, 24, 1, 56), (160, 6, 160, 1, 7))
SEGMENTS = 8


def _pair(c_in: int, t: int, c_out: int, stride: int, online: bool):
    """The torch and fastvfx backends' block with one set of weights and
    BatchNorm statistics (deterministic)."""
    residual = stride == 1 and c_in == c_out
    blocks = []
    for backend in ("torch", "fastvfx"):
        parts = _Parts(backend)
        if online:
            blocks.append(InvertedResidualWithShift(c_in, c_out, stride, t, parts))
        else:
            blocks.append(InvertedResidual(c_in, c_out, stride, t, parts, SEGMENTS if residual else None))
    torch_block, fast_block = blocks
    with torch.random.fork_rng():
        torch.manual_seed(3)
        with torch.no_grad():
            for m in torch_block.modules():
                if isinstance(m, torch.nn.Conv2d):
                    m.weight.normal_(0, (2.0 / m.weight[0].numel()) ** 0.5)
                elif isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.normal_(0, 0.1)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.7, 1.3)
                    m.bias.normal_(0, 0.1)
    fast_block.load_state_dict(torch_block.state_dict())
    return torch_block.eval(), fast_block.eval()


def _make_clip(c_in, t, c_out, stride, hw):
    torch_block, fast_block = _pair(c_in, t, c_out, stride, online=False)
    x = torch.randn((SEGMENTS, c_in, hw, hw), generator=torch.Generator().manual_seed(0))
    return to_device((x.contiguous(memory_format=torch.channels_last), x, torch_block, fast_block))


@torch.no_grad()
def _clip_torch(x_cl: Tensor, x: Tensor, torch_block, fast_block):
    return torch_block(x_cl)


@torch.no_grad()
def _clip_fastvfx(x_cl: Tensor, x: Tensor, torch_block, fast_block):
    return fast_block(x_cl)


def _clip_others(x_cl, x, torch_block, fast_block):
    return {"torch NCHW": partial(torch.no_grad()(torch_block), x)}


def _make_step(c_in, t, c_out, stride, hw):
    torch_block, fast_block = _pair(c_in, t, c_out, stride, online=True)
    x = torch.randn((1, c_in, hw, hw), generator=torch.Generator().manual_seed(0))
    cache = torch.randn((1, c_in // FOLD_DIV, hw, hw), generator=torch.Generator().manual_seed(1))
    cl = torch.channels_last
    return to_device((x.contiguous(memory_format=cl), cache.contiguous(memory_format=cl), x, cache,
                      torch_block, fast_block))


@torch.no_grad()
def _step_torch(x_cl, cache_cl, x, cache, torch_block, fast_block):
    return torch_block(x_cl, cache_cl)[0]


@torch.no_grad()
def _step_fastvfx(x_cl, cache_cl, x, cache, torch_block, fast_block):
    # The step replaces the cache's channels with this frame's: every call
    # reads a cache of the same values (a running stream's), as the baseline.
    return fast_block(x_cl, cache_cl)[0]


def _step_others(x_cl, cache_cl, x, cache, torch_block, fast_block):
    return {"torch NCHW": partial(_step_torch, x, cache, x, cache, torch_block, fast_block)}


def _flops(c_in: int, t: int, c_out: int, stride: int, hw: int, batch: int) -> int:
    hidden = c_in * t
    out_hw = -(-hw // stride)
    expand = hw * hw * c_in * hidden if t != 1 else 0
    return 2 * batch * (expand + out_hw * out_hw * hidden * (9 + c_out))


def cases() -> list[Case]:
    """The blocks of an 8-frame clip (TSM's shift in the residual blocks) and of the online step."""
    out = []
    for c_in, t, c_out, stride, hw in CLIP_BLOCKS:
        shift = " + shift" if stride == 1 and c_in == c_out else ""
        out.append(Case(
            "mbv2 block", (SEGMENTS, c_in, hw, hw), "channels_last", partial(_make_clip, c_in, t, c_out, stride, hw),
            _clip_torch, _clip_fastvfx, exact=False, flops=_flops(c_in, t, c_out, stride, hw, SEGMENTS),
            others=_clip_others,
            name=f"mbv2 block {SEGMENTS}x{c_in}->{c_in * t}->{c_out} {hw}² s{stride}{shift}"))
    for c_in, t, c_out, stride, hw in STEP_BLOCKS:
        out.append(Case(
            "mbv2 block step", (1, c_in, hw, hw), "channels_last", partial(_make_step, c_in, t, c_out, stride, hw),
            _step_torch, _step_fastvfx, exact=False, flops=_flops(c_in, t, c_out, stride, hw, 1),
            others=_step_others,
            name=f"mbv2 block step {c_in}->{c_in * t}->{c_out} {hw}² (online shift)"))
    return out
