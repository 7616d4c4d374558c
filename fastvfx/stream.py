"""``fastvfx stream``: synthetic frames through the MoViNet-A0 stream model,
one step per frame, with per-frame latency percentiles and memory.

Both backends share one set of random weights, so the run also shows that
they agree (the logits after the last frame) and how much faster the fastvfx
one is. Memory: the process's resident set after the warm-up frames and at
the end; a streaming model in constant memory keeps the two equal (up to
allocator noise), whatever the number of frames.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from typing import Optional

import torch


def resident_mib() -> float:
    """Current resident set size of this process, MiB (Linux /proc)."""
    try:
        with open("/proc/self/statm") as file:
            pages = int(file.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def _peakresident_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def _frame(index: int, batch: int, size: int, base: torch.Tensor) -> torch.Tensor:
    """Frame ``index`` of a synthetic video: a fixed random texture sliding
    one pixel per frame plus a brightness ramp, (N, 3, 1, H, W)."""
    shifted = torch.roll(base, shifts=(index % size, (2 * index) % size), dims=(-2, -1))
    return (shifted + 0.01 * (index % 50)).expand(batch, -1, -1, -1, -1).contiguous()


def stream_backend(model: torch.nn.Module, frames: int, warmup: int, batch: int, size: int) -> dict:
    """Stream ``frames`` frames (after ``warmup`` untimed ones) through a
    stream model; returns latencies (ms), memory and the last logits."""
    generator = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, 1, size, size, generator=generator)
    states = model.init_states(batch, size, size)
    latencies = []
    rss_after_warmup = None
    logits = None
    with torch.inference_mode():
        for index in range(warmup + frames):
            frame = _frame(index, batch, size, base)
            start = time.perf_counter()
            logits, states = model.step(frame, states)
            elapsed = time.perf_counter() - start
            if index >= warmup:
                latencies.append(1e3 * elapsed)
            if index == warmup - 1 or (warmup == 0 and index == 0):
                rss_after_warmup = resident_mib()
    ordered = sorted(latencies)
    return {
        "frames": frames,
        "p50_ms": _percentile(ordered, 50),
        "p90_ms": _percentile(ordered, 90),
        "p99_ms": _percentile(ordered, 99),
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
        "fps": 1e3 * batch / statistics.fmean(ordered),
        "rss_after_warmup_mib": rss_after_warmup,
        "rss_end_mib": resident_mib(),
        "logits": logits,
    }


def run_stream(frames: int = 300, backend: str = "both", size: int = 172, batch: int = 1, warmup: int = 10,
               threads: Optional[int] = None, conv_type: str = "3d", json_path: Optional[str] = None) -> int:
    """The ``fastvfx stream`` command; returns the exit code."""
    from .models import calibrate_batchnorm, movinet_a0

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    reference = movinet_a0(stream=True, conv_type=conv_type, backend="torch")
    # Random weights with BatchNorm statistics of a random clip: raw random
    # init lets eval-mode activations vanish, and the comparison of the two
    # backends' logits would then be trivially true.
    calibrate_batchnorm(reference, torch.randn(1, 3, 4, size, size))
    backends = ["torch", "fastvfx"] if backend == "both" else [backend]
    print(f"MoViNet-A0 stream ({conv_type}), {batch}x3x{size}x{size} frames, {frames} timed after {warmup} warm-up, "
          f"{torch.get_num_threads()} threads")
    results = {}
    for name in backends:
        model = movinet_a0(stream=True, conv_type=conv_type, backend=name).eval()
        model.load_state_dict(reference.state_dict())
        results[name] = stream_backend(model, frames, warmup, batch, size)
        r = results[name]
        print(f"{name:>8}: p50 {r['p50_ms']:.2f} ms  p90 {r['p90_ms']:.2f}  p99 {r['p99_ms']:.2f}  "
              f"max {r['max_ms']:.2f}  ({r['fps']:.1f} frames/s)  RSS {r['rss_after_warmup_mib']:.0f} -> "
              f"{r['rss_end_mib']:.0f} MiB")
    status = 0
    if len(results) == 2:
        want, got = results["torch"]["logits"], results["fastvfx"]["logits"]
        diff = (want - got).abs().max().item()
        scale = want.abs().max().item()
        agree = diff <= 1e-4 * max(1.0, scale)
        speedup = results["torch"]["p50_ms"] / results["fastvfx"]["p50_ms"]
        print(f"speed-up (median per frame): {speedup:.2f}x; logits after the last frame agree: "
              f"{'yes' if agree else 'NO'} (max abs diff {diff:.2e})")
        if not agree:
            print("error: the fastvfx backend's stream differs from the torch backend's", file=sys.stderr)
            status = 1
    print(f"peak RSS of the process: {_peakresident_mib():.0f} MiB")
    if json_path:
        summary = {name: {k: v for k, v in r.items() if k != "logits"} for name, r in results.items()}
        with open(json_path, "w") as file:
            json.dump({"model": "movinet_a0", "conv_type": conv_type, "batch": batch, "size": size,
                       "threads": torch.get_num_threads(), "backends": summary}, file, indent=2)
        print(f"wrote {json_path}")
    return status
