"""Temporal-shift family: fastvfx against the upstream PyTorch formulations
(timing as described in conftest.py).

Besides ``fastvfx bench``'s shift cases, the TSM stage shapes of
MobileNetV2-TSM and ResNet-50-TSM at N*T = 8 and 64, one and two threads, both
layouts: an out-of-place shift reads and writes every byte once, as
``x.clone()`` does, so every case also times clone (its roofline) beside TSM's
own slices (the baseline). ``FASTVFX_BENCH_STAGES=mobilenet_v2`` or
``resnet50`` keeps one network's stages.
"""

from __future__ import annotations

import os
from functools import partial

import pytest
import torch

import fastvfx
from fastvfx import bench as fvb
from fastvfx.bench.shift import FOLD_DIV, LAYOUTS, N_SEGMENT
from fastvfx.ops.temporal_shift import temporal_shift_reference

# (C, H = W) of the stages whose blocks carry a temporal shift.
TSM_STAGES = {
    "mobilenet_v2": ((24, 56), (32, 28), (64, 14), (96, 14), (160, 7)),
    "resnet50": ((64, 56), (256, 56), (128, 28), (512, 28), (256, 14), (1024, 14), (512, 7), (2048, 7)),
}
# N*T, with T = N_SEGMENT. Quick mode (CI) keeps the small clip at one
# thread: 52 cases instead of 208, several of which move 200 MB per call.
QUICK = os.environ.get("FASTVFX_BENCH_QUICK") == "1"
FRAMES = (8,) if QUICK else (8, 64)
THREADS = (1,) if QUICK else (1, 2)


def _make(shape: tuple[int, ...], layout: str) -> tuple[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return (torch.randn(shape, generator=generator).contiguous(memory_format=LAYOUTS[layout]),)


def _shift(x: torch.Tensor) -> torch.Tensor:
    return fastvfx.temporal_shift(x, N_SEGMENT, FOLD_DIV)


def _shift_inplace(x: torch.Tensor) -> torch.Tensor:
    return fastvfx.temporal_shift_(x, N_SEGMENT, FOLD_DIV)


def _tsm_slices(x: torch.Tensor) -> torch.Tensor:
    return temporal_shift_reference(x, N_SEGMENT, FOLD_DIV)


def stage_cases() -> list[fvb.Case]:
    """Out-of-place and in-place shifts on the TSM stage shapes."""
    networks = os.environ.get("FASTVFX_BENCH_STAGES")
    stages = [s for name, ss in TSM_STAGES.items() if networks in (None, name) for s in ss]
    all_cases = []
    for op, candidate in (("stage out-of-place", _shift), ("stage in-place", _shift_inplace)):
        for c, hw in stages:
            for frames in FRAMES:
                shape = (frames, c, hw, hw)
                nbytes = 4 * frames * c * hw * hw
                # In place, only the 2*fold shifted channels are read and written.
                moved = 2 * nbytes if op == "stage out-of-place" else 2 * nbytes // c * 2 * (c // FOLD_DIV)
                for layout in LAYOUTS:
                    for threads in THREADS:
                        all_cases.append(
                            fvb.Case(f"{op} {threads}t", shape, layout, partial(_make, shape, layout), _tsm_slices,
                                     candidate, moved_bytes=moved, clone_floor=True, threads=threads)
                        )
    return all_cases


@pytest.mark.parametrize("case", fvb.shift.cases(), ids=lambda case: case.id)
def test_temporal_shift(case: fvb.Case, run_case) -> None:
    run_case(case)


@pytest.mark.parametrize("case", stage_cases(), ids=lambda case: case.id)
def test_temporal_shift_stage(case: fvb.Case, run_case) -> None:
    run_case(case)
