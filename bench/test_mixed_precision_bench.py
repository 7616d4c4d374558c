"""16-bit (bfloat16, float16) kernels against float32: the causal depthwise
Conv3D at MoViNet-A0 layers (clip and streaming step), the depthwise 2-D conv
at MobileNetV2-TSM layers (8 frames, NCHW and channels_last) and TFC at the
SqueezeTime stages, batch 1.

pytest-benchmark times the fastvfx op on 16-bit tensors. Its baselines run in
pedantic's setup (untimed by pytest-benchmark, timed here), so all alternate
round by round: the same fastvfx op on float32 tensors holding the same values
(the speed the 16-bit path is set against), and the pure-PyTorch reference on
the 16-bit tensors (what upstream's modules run under autocast). Each test
prints and stores (``extra_info``) the median ratios; nothing asserts on time.
Run: ``pytest bench/test_mixed_precision_bench.py -s``.
"""

from __future__ import annotations

import statistics
import time
from functools import partial

import pytest
import torch

import fastvfx
from fastvfx.ops.causal_dwconv3d import causal_dwconv3d_reference, causal_dwconv3d_stream_reference
from fastvfx.ops.depthwise_conv2d import depthwise_conv2d_reference
from fastvfx.ops.temporal_focus_conv2d import temporal_focus_conv2d_reference

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# (channels, size, kernel, stride): MoViNet-A0 depthwise layers.
DWCONV_LAYERS = [(24, 56, (1, 5, 5), 2), (56, 28, (5, 3, 3), 1), (104, 14, (5, 3, 3), 1)]
CLIP_FRAMES = 8
# (channels, size, stride): MobileNetV2's 3x3 depthwise layers, on 8 frames.
DWCONV2D_LAYERS = [(96, 112, 2), (144, 56, 1), (192, 28, 1), (576, 14, 1)]
DWCONV2D_FRAMES = 8
# (channels, size): SqueezeTime's TFC stages, 1x1 convs with C_in = C_out.
TFC_STAGES = [(64, 56), (128, 28), (256, 14), (512, 7)]
ROUNDS = 30


def _dwconv_clip(c, h, kernel, stride, dtype):
    g = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(s, generator=g).to(dtype) for s in ((1, c, CLIP_FRAMES, h, h), (c, 1, *kernel), (c,)))
    x32, w32, b32 = x.float(), w.float(), b.float()
    return {
        "fastvfx": partial(fastvfx.causal_dwconv3d, x, w, b, stride),
        "fastvfx fp32": partial(fastvfx.causal_dwconv3d, x32, w32, b32, stride),
        "torch": partial(causal_dwconv3d_reference, x, w, b, stride),
    }


def _dwconv_step(c, h, kernel, stride, dtype):
    g = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(s, generator=g).to(dtype) for s in ((1, c, 1, h, h), (c, 1, *kernel), (c,)))
    state = fastvfx.init_stream_state(1, c, kernel[0], h, h, dtype=dtype, kernel_size=kernel, stride=stride)
    state32 = fastvfx.init_stream_state(1, c, kernel[0], h, h, kernel_size=kernel, stride=stride)
    buffer = torch.zeros(1, c, kernel[0] - 1, h, h, dtype=dtype)
    return {
        "fastvfx": partial(fastvfx.causal_dwconv3d_step, x, w, b, state, stride),
        "fastvfx fp32": partial(fastvfx.causal_dwconv3d_step, x.float(), w.float(), b.float(), state32, stride),
        "torch": partial(causal_dwconv3d_stream_reference, x, w, b, buffer, stride),
    }


def _dwconv2d(c, h, stride, channels_last, dtype):
    g = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(s, generator=g).to(dtype) for s in ((DWCONV2D_FRAMES, c, h, h), (c, 1, 3, 3), (c,)))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x32, w32, b32 = x.float(), w.float(), b.float()
    return {
        "fastvfx": partial(fastvfx.depthwise_conv2d, x, w, b, stride, "same", "relu6"),
        "fastvfx fp32": partial(fastvfx.depthwise_conv2d, x32, w32, b32, stride, "same", "relu6"),
        "torch": partial(depthwise_conv2d_reference, x, w, b, stride, "same", "relu6"),
    }


def _tfc(c, h, dtype):
    g = torch.Generator().manual_seed(0)
    shapes = ((1, c, h, h), (c, c, 1, 1), (c // 4, c), (c // 4,), (c, c // 4))
    x, w, f1, b1, f2 = (torch.randn(s, generator=g).to(dtype) for s in shapes)
    args32 = tuple(t.float() for t in (x, w, f1, b1, f2))
    return {
        "fastvfx": partial(fastvfx.temporal_focus_conv2d, x, w, f1, b1, f2),
        "fastvfx fp32": partial(fastvfx.temporal_focus_conv2d, *args32),
        "torch": partial(temporal_focus_conv2d_reference, x, w, f1, b1, f2),
    }


CASES = (
    [(f"dwconv3d clip {c}x{h}^2 k{k} s{s}", partial(_dwconv_clip, c, h, k, s)) for c, h, k, s in DWCONV_LAYERS]
    + [(f"dwconv3d step {c}x{h}^2 k{k} s{s}", partial(_dwconv_step, c, h, k, s)) for c, h, k, s in DWCONV_LAYERS]
    + [(f"dwconv2d {c}x{h}^2 k3 s{s} {'NHWC' if cl else 'NCHW'}", partial(_dwconv2d, c, h, s, cl))
       for c, h, s in DWCONV2D_LAYERS for cl in (False, True)]
    + [(f"tfc {c}x{h}^2", partial(_tfc, c, h)) for c, h in TFC_STAGES]
)


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("name,make", CASES, ids=[name for name, _ in CASES])
def test_16bit_against_fp32(benchmark, name, make, dtype_name):
    calls = make(DTYPES[dtype_name])
    candidate = calls.pop("fastvfx")
    baseline_times = {label: [] for label in calls}

    def run_baselines():
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            baseline_times[label].append(time.perf_counter() - start)

    for _ in range(3):  # warm-up, every call
        run_baselines()
        candidate()
    for times in baseline_times.values():
        times.clear()
    benchmark.group = f"{name} {dtype_name}"
    benchmark.pedantic(candidate, setup=run_baselines, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    if not benchmark.enabled:
        return
    median = benchmark.stats.stats.median
    ratios = {f"{label} / {dtype_name}": statistics.median(times) / median for label, times in baseline_times.items()}
    benchmark.extra_info.update(ratios)
    print(f"\n{name} {dtype_name}: {median * 1e3:.3f} ms; "
          + ", ".join(f"{label} {ratio:.2f}x" for label, ratio in ratios.items()))
