"""Temporal shift (TSM) cases: out of place, in place, fused with a 1x1 conv,
and online, against TSM's own formulations, with memcpy (and, out of place,
``x.clone()``) of the same tensor in the same rounds."""

from __future__ import annotations

from functools import partial
from typing import Sequence

import torch
from torch import Tensor

from ..ops.temporal_shift import (
    shift_conv1x1,
    shift_conv1x1_reference,
    temporal_shift,
    temporal_shift_,
    temporal_shift_online_,
    temporal_shift_online_reference,
    temporal_shift_reference,
)
from .case import Case, device, nbytes

# (N*T, C, H, W) of TSM-ResNet stages; the online cases take one frame of each.
CLIP_SHAPES = ((8, 64, 56, 56), (8, 256, 28, 28), (32, 128, 28, 28), (64, 64, 56, 56))
N_SEGMENT = 8
FOLD_DIV = 8
LAYOUTS = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}


def _randn(shape: Sequence[int], layout: str, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator).contiguous(memory_format=LAYOUTS[layout]).to(device())


def _make_clip(shape: Sequence[int], layout: str) -> tuple[Tensor]:
    return (_randn(shape, layout, seed=0),)


def _make_conv(shape: Sequence[int], layout: str) -> tuple[Tensor, Tensor]:
    channels = shape[1]
    weight = _randn((channels, channels, 1, 1), "NCHW", seed=1) / channels**0.5
    return _randn(shape, layout, seed=0), weight


def _make_online(shape: Sequence[int], layout: str) -> tuple[Tensor, Tensor]:
    n, c, h, w = shape
    return _randn(shape, layout, seed=0), _randn((n, c // FOLD_DIV, h, w), layout, seed=1)


def _shift_reference(x: Tensor) -> Tensor:
    return temporal_shift_reference(x, N_SEGMENT, FOLD_DIV)


def _shift(x: Tensor) -> Tensor:
    return temporal_shift(x, N_SEGMENT, FOLD_DIV)


def _shift_inplace(x: Tensor) -> Tensor:
    return temporal_shift_(x, N_SEGMENT, FOLD_DIV)


def _shift_conv_reference(x: Tensor, weight: Tensor) -> Tensor:
    return shift_conv1x1_reference(x, weight, None, N_SEGMENT, FOLD_DIV)


def _shift_conv(x: Tensor, weight: Tensor) -> Tensor:
    return shift_conv1x1(x, weight, None, N_SEGMENT, FOLD_DIV)


def _name(op: str, shape: Sequence[int], layout: str) -> str:
    n, c, h, w = shape
    return f"shift {op} {n}x{c}ch {h}² {layout}"


def cases() -> list[Case]:
    """The temporal-shift family, grouped by op, each case with ``x.clone()``
(its roofline: one read and one write of x) timed beside it. Builds no
tensors."""
    clips = [(shape, layout) for shape in CLIP_SHAPES for layout in LAYOUTS]
    # One frame of each clip shape, without repeating a frame shape.
    frame_shapes = list(dict.fromkeys((1, *shape[1:]) for shape in CLIP_SHAPES))
    frames = [(shape, layout) for shape in frame_shapes for layout in LAYOUTS]
    all_cases = []
    for shape, layout in clips:
        all_cases.append(
            Case("out-of-place", shape, layout, partial(_make_clip, shape, layout), _shift_reference, _shift,
                 moved_bytes=2 * nbytes(shape), clone_floor=True, name=_name("out-of-place", shape, layout))
        )
    for shape, layout in clips:
        # Only the 2*fold shifted channels are read and written.
        shifted_bytes = nbytes(shape) // shape[1] * 2 * (shape[1] // FOLD_DIV)
        all_cases.append(
            Case("in-place", shape, layout, partial(_make_clip, shape, layout), _shift_reference, _shift_inplace,
                 moved_bytes=2 * shifted_bytes, clone_floor=True, name=_name("in-place", shape, layout))
        )
    for shape, layout in clips:
        all_cases.append(
            Case("shift_conv1x1", shape, layout, partial(_make_conv, shape, layout), _shift_conv_reference,
                 _shift_conv, exact=False, clone_floor=True, name=_name("+ conv1x1", shape, layout))
        )
    for shape, layout in frames:
        n, c, h, w = shape
        # The swap reads and writes fold channels of the frame and of the cache.
        swapped_bytes = n * (c // FOLD_DIV) * h * w * 4
        all_cases.append(
            Case("online", shape, layout, partial(_make_online, shape, layout), temporal_shift_online_reference,
                 temporal_shift_online_, moved_bytes=4 * swapped_bytes, clone_floor=True,
                 name=_name("online", shape, layout))
        )
    return all_cases
