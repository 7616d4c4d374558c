"""GPU benchmark of the CUDA kernels: each case times fastvfx and its
baselines interleaved round by round in one process (CUDA events), and prints
median times and ratios. The cases follow issue 11's speed table.

    python bench/gpu_bench.py [--rounds 15] [--dtype float32]

Needs a GPU; prints nothing it did not measure.
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F

import fastvfx
from fastvfx.ops.causal_dwconv3d import (
    causal_dwconv3d_reference,
    causal_dwconv3d_stream_reference,
    init_stream_state,
)
from fastvfx.ops.temporal_focus_conv2d import temporal_focus_conv2d_reference
from fastvfx.ops.temporal_shift import temporal_shift_reference


def _time_ms(fn, iters: int) -> float:
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / iters


def compare(name: str, candidates: dict, rounds: int, iters: int = 20) -> None:
    """candidates: label -> callable; the first is fastvfx, the others its baselines."""
    for fn in candidates.values():  # warm-up (and compile caches)
        fn()
    torch.cuda.synchronize()
    times = {label: [] for label in candidates}
    for _ in range(rounds):
        for label, fn in candidates.items():
            times[label].append(_time_ms(fn, iters))
    med = {label: statistics.median(t) for label, t in times.items()}
    first = next(iter(med))
    cells = [f"{first} {med[first] * 1e3:8.1f} us"]
    cells += [f"{label} {med[label] * 1e3:8.1f} us (x{med[label] / med[first]:.2f})" for label in list(med)[1:]]
    print(f"{name:38s} " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    args = parser.parse_args()
    dt = getattr(torch, args.dtype)
    dev = "cuda"
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, dtype {args.dtype}; "
          "ratios are baseline time / fastvfx time (> 1: fastvfx faster)")
    r = args.rounds

    x = torch.randn(8 * 8, 64, 56, 56, device=dev, dtype=dt)
    compare("shift out of place (64x64x56x56)", {
        "fastvfx": lambda: fastvfx.temporal_shift(x, 8),
        "clone": lambda: x.clone(),
        "TSM slices": lambda: temporal_shift_reference(x, 8),
    }, r)
    xcl = x.contiguous(memory_format=torch.channels_last)
    compare("shift out of place, channels_last", {
        "fastvfx": lambda: fastvfx.temporal_shift(xcl, 8),
        "clone": lambda: xcl.clone(),
        "TSM slices": lambda: temporal_shift_reference(xcl, 8),
    }, r)
    compare("shift in place", {
        "fastvfx": lambda: fastvfx.temporal_shift_(x, 8),
        "TSM slices": lambda: temporal_shift_reference(x, 8),
    }, r)

    # MoViNet-A0-like depthwise layers: (C, T, H, W), kernel, stride.
    for c, t, h, k, s in [(24, 8, 56, (1, 5, 5), 1), (40, 8, 28, (3, 3, 3), 1), (72, 8, 14, (3, 5, 5), 1),
                          (104, 8, 28, (3, 3, 3), 2)]:
        xd = torch.randn(2, c, t, h, h, device=dev, dtype=dt)
        w, b = torch.randn(c, 1, *k, device=dev, dtype=dt), torch.randn(c, device=dev, dtype=dt)
        compare(f"dwconv3d fwd C={c} {h}x{h} k={k} s={s}", {
            "fastvfx": lambda: fastvfx.causal_dwconv3d(xd, w, b, s, "same", "swish"),
            "pad+conv3d": lambda: causal_dwconv3d_reference(xd, w, b, s, "same", "swish"),
        }, r)
        xg, wg = xd.clone().requires_grad_(), w.clone().requires_grad_()
        yf, yr = fastvfx.causal_dwconv3d(xg, wg, None, s), causal_dwconv3d_reference(xg, wg, None, s)
        g = torch.randn_like(yf)
        compare(f"dwconv3d bwd C={c} {h}x{h} k={k} s={s}", {
            "fastvfx": lambda: torch.autograd.grad(yf, (xg, wg), g, retain_graph=True),
            "conv3d autograd": lambda: torch.autograd.grad(yr, (xg, wg), g, retain_graph=True),
        }, r)

    c, h, k = 40, 28, (3, 3, 3)
    w, b = torch.randn(c, 1, *k, device=dev, dtype=dt), torch.randn(c, device=dev, dtype=dt)
    frame = torch.randn(1, c, 1, h, h, device=dev, dtype=dt)
    state = init_stream_state(1, c, 3, h, h, dtype=dt, device=dev)
    out = torch.empty(1, c, 1, h, h, device=dev, dtype=dt)
    ring = torch.zeros(1, c, 2, h, h, device=dev, dtype=dt)
    step = lambda: fastvfx.causal_dwconv3d_step(frame, w, b, state, 1, "same", "swish", out=out)
    graph = torch.cuda.CUDAGraph()
    step()
    torch.cuda.synchronize()
    with torch.cuda.graph(graph):
        step()
    compare(f"dwconv3d stream step C={c} {h}x{h}", {
        "fastvfx": step,
        "fastvfx graph": graph.replay,
        "concat+conv3d": lambda: causal_dwconv3d_stream_reference(frame, w, b, ring, 1, "same", "swish"),
    }, r)

    for cin, hw in [(64, 56), (128, 28), (256, 14), (512, 7)]:
        xt = torch.randn(8, cin, hw, hw, device=dev, dtype=dt)
        wt = torch.randn(cin, cin, 1, 1, device=dev, dtype=dt)
        f1, f2 = torch.randn(cin // 4, cin, device=dev, dtype=dt), torch.randn(cin, cin // 4, device=dev, dtype=dt)
        b1 = torch.randn(cin // 4, device=dev, dtype=dt)
        compare(f"TFC 1x1 C={cin} {hw}x{hw} N=8", {
            "fastvfx": lambda: fastvfx.temporal_focus_conv2d(xt, wt, f1, b1, f2),
            "module chain": lambda: temporal_focus_conv2d_reference(xt, wt, f1, b1, f2),
        }, r)


if __name__ == "__main__":
    main()
