"""Reference models, torch backend (baseline) against fastvfx backend, same
weights, same run: MoViNet-A0 stream per frame, MobileNetV2-TSM offline
8-frame clip and online per frame, SqueezeTime 16x224 clip; batch 1, with
torch's default threads and with one thread. Plus streaming memory: the
resident set stays flat over 500 frames."""

from __future__ import annotations

import pytest
import torch

from fastvfx import benchmark as fvb

STREAM_FRAMES = 500


@pytest.mark.parametrize("case", fvb.model_cases(), ids=lambda case: case.id)
def test_model(case: fvb.Case, run_case) -> None:
    run_case(case)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_streaming_memory_is_flat(backend, record_property) -> None:
    """MoViNet-A0 streaming holds constant-size states: after a warm-up, 500
    more frames must not grow the resident set (allowing allocator slack)."""
    pytest.importorskip("resource")
    reference, fast = fvb.model_pair("movinet-a0-3d")
    model = reference if backend == "torch" else fast
    frame = torch.randn(1, 3, 1, fvb.MOVINET_SIZE, fvb.MOVINET_SIZE)
    states = model.init_states()
    for _ in range(50):
        _, states = model.step(frame, states)
    start = _rss_mb()
    peak = start
    for _ in range(STREAM_FRAMES):
        _, states = model.step(frame, states)
        peak = max(peak, _rss_mb())
    record_property("rss_start_mb", start)
    record_property("rss_peak_mb", peak)
    print(f"\n{backend}: RSS after warm-up {start:.1f} MB, peak over {STREAM_FRAMES} frames {peak:.1f} MB")
    assert peak - start < 16, f"RSS grew by {peak - start:.1f} MB over {STREAM_FRAMES} frames"
