"""The temporal shift on the TSM stage shapes, timed by thread CPU time.

On a shared machine wall time swings with the scheduler; at one thread the
calling thread's CPU time (time.thread_time) leaves out the time it sat
descheduled. Per shape and layout, rounds interleave x.clone() (the roofline),
fastvfx.temporal_shift, TSM's slices (temporal_shift_reference) and the
in-place shift; the minimum of the rounds is kept. Columns: out-of-place
throughput as a fraction of clone's, speed-up over TSM's slices, and the
in-place shift's moved bytes (2*fold of C channels) per second as a fraction
of clone's bandwidth. Two threads (THREADS=2) are timed by wall time.

    python bench/temporal_shift_stages_cpu_time.py            # N*T = 8, 1 thread
    FRAMES=8,64 THREADS=1,2 LAYOUTS=nchw python bench/temporal_shift_stages_cpu_time.py

Run it from outside the source tree (or with the package installed).
"""

import os
import time

import torch

import fastvfx
from fastvfx.ops.temporal_shift import temporal_shift_reference

# (C, H = W): MobileNetV2-TSM, then ResNet-50-TSM.
STAGES = [(24, 56), (32, 28), (64, 14), (96, 14), (160, 7),
          (64, 56), (256, 56), (128, 28), (512, 28), (256, 14), (1024, 14), (512, 7), (2048, 7)]
N_SEGMENT, FOLD_DIV = 8, 8


def main() -> None:
    frames = [int(f) for f in os.environ.get("FRAMES", "8").split(",")]
    threads = [int(t) for t in os.environ.get("THREADS", "1").split(",")]
    layouts = os.environ.get("LAYOUTS", "nchw,nhwc").split(",")
    rounds = int(os.environ.get("ROUNDS", "8"))
    print(f"{'shape':>22} {'layout':>6} thr {'clone us':>9} {'of clone':>8} {'vs TSM':>7} {'in-place of clone':>17}")
    for nt in frames:
        for c, hw in STAGES:
            for layout in layouts:
                memory_format = torch.channels_last if layout == "nhwc" else torch.contiguous_format
                x = torch.randn(nt, c, hw, hw).contiguous(memory_format=memory_format)
                y = x.clone()
                for n_threads in threads:
                    torch.set_num_threads(n_threads)
                    clock = time.thread_time if n_threads == 1 else time.perf_counter

                    def timed(fn, t, reps):
                        start = clock()
                        for _ in range(reps):
                            fn(t)
                        return (clock() - start) / reps

                    fns = {
                        "clone": (lambda t: t.clone(), x),
                        "shift": (lambda t: fastvfx.temporal_shift(t, N_SEGMENT, FOLD_DIV), x),
                        "tsm": (lambda t: temporal_shift_reference(t, N_SEGMENT, FOLD_DIV), x),
                        "in_place": (lambda t: fastvfx.temporal_shift_(t, N_SEGMENT, FOLD_DIV), y),
                    }
                    reps = max(3, min(2000, int(0.015 / max(timed(fns["clone"][0], x, 3), 1e-7))))
                    best = dict.fromkeys(fns, float("inf"))
                    for _ in range(rounds):  # interleaved: each round times every candidate
                        for k, (fn, t) in fns.items():
                            best[k] = min(best[k], timed(fn, t, reps))
                    moved = 2 * (c // FOLD_DIV) / c
                    print(f"{str((nt, c, hw, hw)):>22} {layout:>6} {n_threads:>3} {best['clone'] * 1e6:9.1f} "
                          f"{best['clone'] / best['shift']:8.2f} {best['tsm'] / best['shift']:6.2f}x "
                          f"{moved * best['clone'] / best['in_place']:17.2f}", flush=True)


if __name__ == "__main__":
    main()
