"""The models' NCHW -> channels_last copy and SqueezeTime's stem, one thread
and two: `fastvfx.nn._onednn.to_channels_last` (the core's blocked
transposes) against torch's `x.contiguous(memory_format=torch.channels_last)`
and against `x.clone()` (the copy is memory-bound: clone is its roofline),
then the stem's 5x5 stride-2 48->64 conv as the fastvfx backend runs it (the
copy, then oneDNN) against fused_conv2d's GEMM on the NCHW input (the path
it replaced) and torch's copy + oneDNN. Interleaved rounds, median of each
round's best of 5 calls, median over rounds. Run on a quiet machine, from
outside the source tree:

    python bench/channels_last_copy.py
"""

import statistics
import time

import torch

import fastvfx
from fastvfx.nn import _onednn
from fastvfx.ops.fused_conv2d import pack_weight


def _rounds(calls, rounds=9, burst=5):
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            fn()
            best = float("inf")
            for _ in range(burst):
                t0 = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - t0)
            times[name].append(best)
    return {name: statistics.median(v) * 1e3 for name, v in times.items()}


def main():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(48, 64, 5, stride=2, padding=2, bias=False).eval()
    weight, bias = conv.weight.detach(), torch.randn(64)
    with torch.no_grad():
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for shape in [(1, 48, 224, 224), (8, 3, 224, 224), (1, 3, 224, 224)]:
                x = torch.randn(shape)
                t = _rounds({
                    "fastvfx": lambda: _onednn.to_channels_last(x),
                    "torch": lambda: x.contiguous(memory_format=torch.channels_last),
                    "clone": lambda: x.clone(),
                })
                print(f"{threads} thread(s) copy {tuple(shape)}: fastvfx {t['fastvfx']:.3f} ms, torch "
                      f"{t['torch']:.3f} ms ({t['torch'] / t['fastvfx']:.2f}x), clone {t['clone']:.3f} ms "
                      f"(fastvfx at {t['clone'] / t['fastvfx']:.2f} of clone)", flush=True)
            x = torch.randn(1, 48, 224, 224)
            onednn = _onednn.pack(weight, bias, conv, _onednn.to_channels_last(x))
            gemm = pack_weight(weight)
            t = _rounds({
                "copy + oneDNN": lambda: _onednn.conv2d(_onednn.to_channels_last(x), onednn, "relu"),
                "fused_conv2d on NCHW": lambda: fastvfx.fused_conv2d(x, gemm, bias, 2, 2, activation="relu"),
                "torch copy + oneDNN": lambda: _onednn.conv2d(x.contiguous(memory_format=torch.channels_last),
                                                              onednn, "relu"),
            })
            print(f"{threads} thread(s) SqueezeTime stem: " + ", ".join(f"{k} {v:.2f} ms" for k, v in t.items()),
                  flush=True)


if __name__ == "__main__":
    main()
