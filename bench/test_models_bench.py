"""Reference models, torch backend (baseline) against fastvfx backend, same
weights, same run: MoViNet-A0 stream per frame, MobileNetV2-TSM offline
8-frame clip and online per frame, SqueezeTime 16x224 clip; batch 1, with
torch's default threads and with one thread. Plus streaming memory: the
resident set stays flat over 500 frames."""

from __future__ import annotations

import pytest
import torch

from fastvfx import bench as fvb
from fastvfx.stream import resident_mib

STREAM_FRAMES = 500


def _state_bytes(states) -> int:
    """Bytes of every tensor held in a (nested) stream state."""
    if isinstance(states, torch.Tensor):
        return states.numel() * states.element_size()
    if isinstance(states, dict):
        return sum(_state_bytes(v) for v in states.values())
    if isinstance(states, (list, tuple)):
        return sum(_state_bytes(v) for v in states)
    return 0


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_streaming_memory_is_flat(backend, record_property) -> None:
    """MoViNet-A0 streaming holds constant-size states: after a warm-up, 500
    more frames must not grow the states nor the resident set (allowing
    allocator slack). Runs before the timing cases, so that their large
    allocations do not leave free heap that could hide growth."""
    reference, fast = fvb.models.model_pair("movinet-a0-3d")
    model = reference if backend == "torch" else fast
    frame = torch.randn(1, 3, 1, fvb.models.MOVINET_SIZE, fvb.models.MOVINET_SIZE)
    states = model.init_states()
    for _ in range(50):
        _, states = model.step(frame, states)
    start = resident_mib()
    peak = start
    state_bytes = _state_bytes(states)
    for _ in range(STREAM_FRAMES):
        _, states = model.step(frame, states)
        peak = max(peak, resident_mib())
    assert _state_bytes(states) == state_bytes, "the stream state grew"
    record_property("rss_start_mb", start)
    record_property("rss_peak_mb", peak)
    print(f"\n{backend}: stream state {state_bytes / 1e6:.2f} MB; RSS after warm-up {start:.1f} MB, "
          f"peak over {STREAM_FRAMES} frames {peak:.1f} MB")
    assert peak - start < 16, f"RSS grew by {peak - start:.1f} MB over {STREAM_FRAMES} frames"


@pytest.mark.parametrize("case", fvb.models.cases(), ids=lambda case: case.id)
def test_model(case: fvb.Case, run_case) -> None:
    run_case(case)
