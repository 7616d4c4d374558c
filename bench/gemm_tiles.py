"""The channels-last GEMM under SqueezeTime's convs, against oneDNN and ONNX
Runtime's kernels, in one process. Run on a quiet machine, from outside the
source tree (needs onnx, onnxscript and onnxruntime: pip install
'fastvfx[bench]'):

    python bench/gemm_tiles.py            # 1 and 2 threads, 40 rounds
    python bench/gemm_tiles.py 100        # more rounds

1. SqueezeTime's 1x1 convs (and MobileNetV2's widest), batch 1,
   channels_last, hot (the same input and weights every call): the model's
   plan (``PlannedConv2d``: fastvfx.fused_conv2d's GEMM, gemm_s tiles), the
   prepacked oneDNN conv and ONNX Runtime's Conv node alone (its kernel time
   from the session profile, the layout reorders around it not counted),
   ms (median of the rounds) and GFLOP/s.
2. Eight different 3x3 convs in a row per SqueezeTime stage, so that each
   one's weights come from L3 as in a model (batch 1, ReLU): the plan
   (Winograd F(4x4) / F(2x2) by the core's rule, ``w`` the tile; 0 is
   oneDNN) against the prepacked oneDNN conv, ms a conv; where the plan
   takes oneDNN (512@7²), also fused_conv2d's direct GEMM.
"""

import collections
import json
import statistics
import sys
import time

import torch
from torch import nn

POINTWISE = [(64, 56, 256), (256, 56, 64), (64, 56, 64), (128, 28, 512), (512, 28, 128), (256, 14, 1024),
             (1024, 14, 256), (512, 7, 2048), (2048, 7, 512), (1024, 7, 2048), (320, 7, 1280)]
STAGES = [(64, 56), (128, 28), (256, 14), (512, 7)]


def ort_conv_ms(conv: nn.Module, x: torch.Tensor, threads: int, rounds: int) -> float:
    """The median kernel time of ONNX Runtime's Conv node for ``conv`` on ``x``."""
    from fastvfx.bench.ort import profiled_session
    session = profiled_session(conv, x, threads)
    feeds = {session.get_inputs()[0].name: x.numpy()}
    for _ in range(rounds + 5):
        session.run(None, feeds)
    times = [event["dur"] / 1e3 for event in json.load(open(session.end_profiling()))
             if event.get("cat") == "Node" and event["name"].endswith("_kernel_time")
             and event["args"].get("op_name") == "Conv"]
    return statistics.median(times[5:])


def timed_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def pointwise(threads: int, rounds: int) -> None:
    from fastvfx.nn._onednn import PlannedConv2d
    print(f"1x1 convs, {threads} thread(s), hot, ms (GFLOP/s)")
    print(f"{'conv':18s} {'fastvfx':>15s} {'oneDNN':>15s} {'ONNX Runtime':>15s}")
    for cin, h, cout in POINTWISE:
        conv = nn.Conv2d(cin, cout, 1).eval()
        x = torch.randn(1, cin, h, h)
        xc = x.contiguous(memory_format=torch.channels_last)
        w, b = conv.weight.detach(), conv.bias.detach()
        ours, onednn = PlannedConv2d(conv, w, b, xc), PlannedConv2d(conv, w, b, xc, fused=False)
        flops = 2 * h * h * cin * cout
        row = []
        with torch.no_grad():
            for plan in (ours, onednn):
                for _ in range(3):
                    plan(xc)
                row.append(timed_ms(lambda: plan(xc), rounds))
        row.append(ort_conv_ms(conv, x, threads, rounds))
        cells = " ".join(f"{ms:7.3f} ({flops / ms / 1e6:4.0f})" for ms in row)
        print(f"{cin}@{h}² -> {cout}".ljust(18) + " " + cells)


def winograd(threads: int, rounds: int) -> None:
    from fastvfx.nn._onednn import PlannedConv2d
    print(f"3x3 convs, eight in a row (weights from L3), {threads} thread(s), ms a conv")
    for c, h in STAGES:
        convs = [nn.Conv2d(c, c, 3, padding=1).eval() for _ in range(8)]
        x = torch.randn(1, c, h, h).contiguous(memory_format=torch.channels_last)
        plans = {"fastvfx": [PlannedConv2d(k, k.weight.detach(), k.bias.detach(), x, "relu") for k in convs],
                 "oneDNN": [PlannedConv2d(k, k.weight.detach(), k.bias.detach(), x, "relu", fused=False)
                            for k in convs]}
        if plans["fastvfx"][0].winograd == 0:  # the plan's oneDNN conv: also fused_conv2d's direct GEMM
            plans["fused_conv2d"] = [PlannedConv2d(k, k.weight.detach(), k.bias.detach(), x, "relu", fused=True)
                                     for k in convs]
        times = collections.defaultdict(list)
        with torch.no_grad():
            for _ in range(2):
                for chain in plans.values():
                    for plan in chain:
                        plan(x)
            for _ in range(rounds):
                for name, chain in plans.items():
                    start = time.perf_counter()
                    for plan in chain:
                        plan(x)
                    times[name].append((time.perf_counter() - start) / len(chain))
        cells = "  ".join(f"{name} {statistics.median(t) * 1e3:.3f}" for name, t in times.items())
        print(f"{c}@{h}² (w{plans['fastvfx'][0].winograd}): {cells}")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    for threads in (1, 2):
        torch.set_num_threads(threads)
        pointwise(threads, rounds)
        winograd(threads, rounds)


if __name__ == "__main__":
    main()
