"""The ops' large outputs (csrc/ops/cpu/large_outputs.h), one thread and two:
each op on a 51 MB output in three settings, a fresh process each (so that
no setting inherits another's mappings): "prefault" (the default: the
output's pages faulted in ahead of the kernel, in parallel), "huge pages"
(FASTVFX_HUGE_PAGES=1) and "neither" (FASTVFX_PREFAULT=0: the op's writes
fault the pages in). `clone()` of an output-sized tensor runs in the same
rounds (it faults in 4 KiB pages in every setting; for the memory-bound
shift, "of clone" is its bandwidth over clone's, the bench's roofline; the
clone column is the median over the three processes). Every call is timed
on its own (the outputs are fresh mappings each call), interleaved with
clone, 60 rounds; the median and the 99th percentile show the gain and the
tail. Run on a quiet machine, from outside the source tree:

    python bench/huge_pages.py
"""

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import fastvfx
import fastvfx.bench
from fastvfx.ops.fused_conv2d import pack_weight

ROUNDS = 60


def _cl(*shape):
    return torch.randn(shape).contiguous(memory_format=torch.channels_last)


def _cases():
    """name -> (op with an output of about 51 MB, its input)."""
    x_shift, x_cl = torch.randn(64, 64, 56, 56), _cl(64, 64, 56, 56)
    w_shift = torch.randn(64, 64, 1, 1) * 0.1
    x3, w3 = torch.randn(1, 64, 16, 112, 112), torch.randn(64, 1, 3, 3, 3) * 0.2
    x2, w2 = _cl(8, 32, 224, 224), torch.randn(32, 1, 3, 3) * 0.3
    x1, packed = _cl(8, 64, 112, 112), pack_weight(torch.randn(128, 64, 1, 1) * 0.1)
    return {
        "shift 64x64x56² NCHW": (lambda: fastvfx.temporal_shift(x_shift, 8, 8), x_shift),
        "shift + conv1x1 64x64x56² channels_last": (lambda: fastvfx.shift_conv1x1(x_cl, w_shift, None, 8), x_cl),
        "causal_dwconv3d 1x64x16x112² k3x3x3": (lambda: fastvfx.causal_dwconv3d(x3, w3, None, padding=(1, 1, 1)), x3),
        "depthwise_conv2d 8x32x224² 3x3 channels_last": (lambda: fastvfx.depthwise_conv2d(x2, w2, None, 1, 1), x2),
        "fused_conv2d 1x1 8x64->128x112²": (lambda: fastvfx.fused_conv2d(x1, packed), x1),
    }


def _child(threads):
    """Times every case in this process; prints one JSON line per case."""
    fastvfx.bench.keep_freed_memory()
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    for name, (op, x) in _cases().items():
        like = op()  # an output-sized tensor for clone
        calls = {"op": op, "clone": lambda: like.clone()}
        times = {k: [] for k in calls}
        for fn in calls.values():
            fn()
        for _ in range(ROUNDS):
            for k, fn in calls.items():
                t0 = time.perf_counter()
                y = fn()
                times[k].append(time.perf_counter() - t0)
                del y
        stats = {k: (float(np.median(v)) * 1e3, float(np.percentile(v, 99)) * 1e3) for k, v in times.items()}
        print(json.dumps({"case": name, **stats}), flush=True)


SETTINGS = {  # name -> environment
    "prefault": {},  # the default: pages faulted in ahead of the kernel
    "huge pages": {"FASTVFX_HUGE_PAGES": "1"},
    "neither": {"FASTVFX_PREFAULT": "0"},  # the op's writes fault its pages in
}


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]))
        return
    for threads in (1, 2):
        results = {}
        for setting, extra in SETTINGS.items():
            env = {k: v for k, v in os.environ.items() if k not in ("FASTVFX_HUGE_PAGES", "FASTVFX_PREFAULT")}
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(threads)],
                                 env={**env, **extra}, capture_output=True, text=True, check=True)
            results[setting] = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        for rows in zip(*results.values()):
            clone_med = statistics.median(row["clone"][0] for row in rows)
            parts = [f"{setting} {row['op'][0]:.2f} ms (p99 {row['op'][1]:.2f}, of clone {clone_med / row['op'][0]:.2f})"
                     for setting, row in zip(results, rows)]
            print(f"{threads} thread(s) {rows[0]['case']}: " + ", ".join(parts) + f"; clone {clone_med:.2f} ms",
                  flush=True)


if __name__ == "__main__":
    main()
