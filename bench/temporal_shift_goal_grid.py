"""Issue 13's roofline goals for the out-of-place temporal shift, checked on
the TSM stage shapes: at least 0.85 of x.clone()'s throughput in NCHW and 0.7
in channels_last, and never slower than TSM's slices.

Per stage (MobileNetV2-TSM, then ResNet-50-TSM), N*T = 8 and 64, one and two
threads, both layouts: five rounds interleave fastvfx.temporal_shift,
x.clone() and TSM's slices (temporal_shift_reference), each round the median
of a burst of calls, wall time; the minimum of the rounds is kept. A line
ends in MISS where a goal is missed. Needs a quiet machine (the two-thread
figures above all).

    python bench/temporal_shift_goal_grid.py        # both layouts
    python bench/temporal_shift_goal_grid.py CL     # channels_last only
    python bench/temporal_shift_goal_grid.py CL 160x7 512x7 th1 nt8
                                  # some stages (CxH), threads, N*T only

Run it from outside the source tree (or with the package installed).
"""

import statistics
import sys
import time

import torch

import fastvfx
from fastvfx.ops.temporal_shift import temporal_shift_reference

# (C, H = W): MobileNetV2-TSM, then ResNet-50-TSM.
STAGES = [(24, 56), (32, 28), (64, 14), (96, 14), (160, 7),
          (64, 56), (256, 56), (128, 28), (512, 28), (256, 14), (1024, 14), (512, 7), (2048, 7)]
N_SEGMENT = 8


def _median_time(fn, x, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    args = sys.argv[1:]
    layouts = (True,) if "CL" in args else (False, True)
    stages = [s for s in STAGES if f"{s[0]}x{s[1]}" in args] or STAGES
    threads_list = [t for t in (1, 2) if f"th{t}" in args] or [1, 2]
    nts = [n for n in (8, 64) if f"nt{n}" in args] or [8, 64]
    for threads in threads_list:
        torch.set_num_threads(threads)
        for nt in nts:
            for c, h in stages:
                for channels_last in layouts:
                    x = torch.randn(nt, c, h, h)
                    if channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    reps = max(20, min(400, int(2e8 / x.numel() / 4)))
                    calls = {
                        "fastvfx": lambda x: fastvfx.temporal_shift(x, N_SEGMENT),
                        "clone": lambda x: x.clone(),
                        "tsm": lambda x: temporal_shift_reference(x, N_SEGMENT),
                    }
                    for fn in calls.values():
                        fn(x)
                    rounds = {k: [] for k in calls}
                    for _ in range(5):
                        for k, fn in calls.items():
                            rounds[k].append(_median_time(fn, x, reps))
                    t = {k: min(v) for k, v in rounds.items()}
                    of_clone, vs_tsm = t["clone"] / t["fastvfx"], t["tsm"] / t["fastvfx"]
                    ok = of_clone >= (0.7 if channels_last else 0.85) and vs_tsm >= 1.0
                    print(f"th{threads} {nt}x{c}x{h}² {'CL' if channels_last else 'NCHW'}: "
                          f"fvx {t['fastvfx'] * 1e3:.4f} clone {t['clone'] * 1e3:.4f} tsm {t['tsm'] * 1e3:.4f} "
                          f"of_clone {of_clone:.2f} vs_tsm {vs_tsm:.2f}{'' if ok else ' MISS'}", flush=True)


if __name__ == "__main__":
    main()
