"""MobileNetV2's depthwise 3x3 layers (batch 8, fused ReLU6) in both layouts
of both libraries: torch NCHW, torch channels_last, fastvfx NCHW, fastvfx
channels_last, interleaved round by round in one process, medians of wall
time. Issue 12's bar for the op is the faster torch layout: the ratio
columns set it against each fastvfx layout.

    python bench/depthwise_conv2d_layouts.py [threads] [rounds]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import fastvfx
from fastvfx import bench as fvb

# (channels, input size, stride), as bench/test_depthwise_conv2d_bench.py.
LAYERS = ((32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1),
          (192, 28, 2), (384, 14, 1), (576, 14, 1), (576, 14, 2), (960, 7, 1))


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    torch.set_num_threads(threads)
    fvb.keep_freed_memory()
    print(f"threads {threads}, rounds {rounds}, load average {os.getloadavg()[0]:.2f}")
    for c, hw, s in LAYERS:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(8, c, hw, hw, generator=g)
        w, b = torch.randn(c, 1, 3, 3, generator=g), torch.randn(c, generator=g)
        xl = x.contiguous(memory_format=torch.channels_last)
        calls = {
            "torch NCHW": lambda: F.relu6(F.conv2d(x, w, b, s, 1, groups=c)),
            "torch CL": lambda: F.relu6(F.conv2d(xl, w, b, s, 1, groups=c)),
            "fastvfx NCHW": lambda: fastvfx.depthwise_conv2d(x, w, b, s, 1, "relu6"),
            "fastvfx CL": lambda: fastvfx.depthwise_conv2d(xl, w, b, s, 1, "relu6"),
        }
        want = calls["torch NCHW"]()
        for fn in calls.values():
            torch.testing.assert_close(fn(), want, rtol=1e-4, atol=1e-4)
        times = {k: [] for k in calls}
        for _ in range(5):
            for fn in calls.values():
                fn()
        for _ in range(rounds):
            for k, fn in calls.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        ms = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        best = min(ms["torch NCHW"], ms["torch CL"])
        cols = "  ".join(f"{k} {v:7.3f}" for k, v in ms.items())
        print(f"{c:4d}@{hw:3d}² s{s}  {cols}   best torch / fastvfx CL {best / ms['fastvfx CL']:.2f}x, "
              f"/ fastvfx NCHW {best / ms['fastvfx NCHW']:.2f}x")


if __name__ == "__main__":
    main()
