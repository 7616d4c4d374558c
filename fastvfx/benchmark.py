"""Benchmarks of the fastvfx ops against the PyTorch baselines.

Every number is a ratio taken in one run (DESIGN.md, "What fast means here"):
the baseline (the upstream pure-PyTorch formulation) and the fastvfx op are
timed in interleaved rounds, and the shift ops are set against ``memcpy`` of
the same tensor, timed in the same rounds. Two families: the temporal shift
(TSM) and the Temporal Focus Convolution (SqueezeTime).

The cases are declared here once and used by ``fastvfx bench``
(:func:`run_report`) and by the pytest-benchmark suite in ``bench/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import json
import math
import os
import statistics
import sys
import time
from functools import partial
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor

from . import report
from ._info import info
from .ops.causal_dwconv3d import (
    causal_dwconv3d,
    causal_dwconv3d_reference,
    causal_dwconv3d_step,
    causal_dwconv3d_stream_reference,
    init_stream_state,
)
from .nn.temporal_focus_conv2d import TemporalFocusConv2d
from .ops.temporal_focus_conv2d import TemporalFocusConv2dReference
from .ops.temporal_shift import (
    shift_conv1x1,
    shift_conv1x1_reference,
    temporal_shift,
    temporal_shift_,
    temporal_shift_online_,
    temporal_shift_online_reference,
    temporal_shift_reference,
)

# (N*T, C, H, W) of TSM-ResNet stages; the online cases take one frame of each.
CLIP_SHAPES = ((8, 64, 56, 56), (8, 256, 28, 28), (32, 128, 28, 28), (64, 64, 56, 56))
N_SEGMENT = 8
FOLD_DIV = 8
LAYOUTS = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}
# SqueezeTime-K400 TFC layers (16 frames squeezed into the channels): (C, H=W),
# all 1x1, stride 1, C_in = C_out; the first stage also with a 3x3 kernel.
TFC_STAGES = ((64, 56), (128, 28), (256, 14), (512, 7))
TFC_BATCHES = (1, 8)
TFC_KERNEL3_STAGE = (64, 56)

# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long one case is measured: ``warmup`` rounds, then as many rounds
    as fit in ``seconds``, clamped to ``[min_rounds, max_rounds]``."""

    warmup: int
    min_rounds: int
    max_rounds: int
    seconds: float

    def rounds_for(self, seconds_per_round: float) -> int:
        fit = int(self.seconds / max(seconds_per_round, 1e-9))
        return max(self.min_rounds, min(self.max_rounds, fit))


QUICK = Budget(warmup=2, min_rounds=5, max_rounds=100, seconds=0.25)
DEFAULT = Budget(warmup=3, min_rounds=20, max_rounds=1000, seconds=2.0)


def summarize(samples: Sequence[float]) -> dict:
    """Statistics of per-call times in seconds."""
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "mean_s": statistics.fmean(samples),
        "max_s": max(samples),
        "repeats": len(samples),
    }


class InterleavedTimer:
    """Times named callables in rounds (A B C, A B C, ...), so that machine
    noise (clock changes, other processes) hits all of them alike."""

    def __init__(self, calls: dict[str, Callable[[], object]]):
        self.calls = dict(calls)
        self.samples: dict[str, list[float]] = {name: [] for name in self.calls}

    def round(self) -> None:
        """Run each callable once and record its time."""
        for name, call in self.calls.items():
            start = time.perf_counter()
            call()
            self.samples[name].append(time.perf_counter() - start)

    def stats(self) -> dict[str, dict]:
        return {name: summarize(samples) for name, samples in self.samples.items()}


def measure_interleaved(calls: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, dict]:
    """``warmup`` untimed rounds, then ``repeats`` timed rounds of all calls."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    timer = InterleavedTimer(calls)
    for _ in range(repeats):
        timer.round()
    return timer.stats()


def memcpy_call(nbytes: int) -> Callable[[], object]:
    """``dst.copy_(src)`` on preallocated float32 buffers of ``nbytes`` each.

    torch's parallel copy is the practical memcpy roof here. Both buffers are
    written once so that page faults stay out of the timing.
    """
    src = torch.ones(nbytes // 4)
    dst = torch.zeros_like(src)
    return partial(dst.copy_, src)


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def _randn(shape: Sequence[int], layout: str, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator).contiguous(memory_format=LAYOUTS[layout])


def _make_clip(shape: Sequence[int], layout: str) -> tuple[Tensor]:
    return (_randn(shape, layout, seed=0),)


def _make_conv(shape: Sequence[int], layout: str) -> tuple[Tensor, Tensor]:
    channels = shape[1]
    weight = _randn((channels, channels, 1, 1), "NCHW", seed=1) / channels**0.5
    return _randn(shape, layout, seed=0), weight


def _make_online(shape: Sequence[int], layout: str) -> tuple[Tensor, Tensor]:
    n, c, h, w = shape
    return _randn(shape, layout, seed=0), _randn((n, c // FOLD_DIV, h, w), layout, seed=1)


def _shift_reference(x: Tensor) -> Tensor:
    return temporal_shift_reference(x, N_SEGMENT, FOLD_DIV)


def _shift(x: Tensor) -> Tensor:
    return temporal_shift(x, N_SEGMENT, FOLD_DIV)


def _shift_inplace(x: Tensor) -> Tensor:
    return temporal_shift_(x, N_SEGMENT, FOLD_DIV)


def _shift_conv_reference(x: Tensor, weight: Tensor) -> Tensor:
    return shift_conv1x1_reference(x, weight, None, N_SEGMENT, FOLD_DIV)


def _shift_conv(x: Tensor, weight: Tensor) -> Tensor:
    return shift_conv1x1(x, weight, None, N_SEGMENT, FOLD_DIV)


def _make_tfc(shape: Sequence[int], kernel: int) -> tuple[Tensor, torch.nn.Module, torch.nn.Module]:
    """x, the upstream module chain and the fused module, in eval mode with
    the same weights and non-trivial BatchNorm statistics; deterministic, so
    that every call builds the same modules."""
    n, c, h, w = shape
    with torch.random.fork_rng():
        torch.manual_seed(2)
        fused = TemporalFocusConv2d(c, c, kernel, padding=kernel // 2).eval()
        bn = fused.param_conv[2]
        with torch.no_grad():
            bn.running_mean.normal_(0, 0.1)
            bn.running_var.uniform_(0.5, 2.0)
    upstream = TemporalFocusConv2dReference(c, c, kernel, padding=kernel // 2).eval()
    upstream.load_state_dict(fused.state_dict())
    return _randn(shape, "NCHW", seed=0), upstream, fused


# Inference as a user runs it: no autograd graph for either side.
@torch.no_grad()
def _tfc_upstream(x: Tensor, upstream: torch.nn.Module, fused: torch.nn.Module):
    return upstream(x)


@torch.no_grad()
def _tfc_fused(x: Tensor, upstream: torch.nn.Module, fused: torch.nn.Module):
    return fused(x)


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark: inputs, the baseline a user would otherwise run, and
    the fastvfx candidate, both called as ``fn(*make())``."""

    op: str
    shape: tuple[int, ...]
    layout: str
    make: Callable[[], tuple[Tensor, ...]]
    baseline: Callable[..., object]
    candidate: Callable[..., object]
    # Bytes the candidate reads plus writes; set for the memory-bound shift ops.
    moved_bytes: Optional[int] = None
    # Out of place: also time x.clone(), the cost of filling fresh output memory.
    clone_floor: bool = False
    # The shifts move bytes and must be bit-exact; the convs sum in another order.
    exact: bool = True
    # Floating-point operations of one candidate call, for compute-bound ops.
    flops: Optional[int] = None
    # torch threads for this case (None: leave torch's setting alone).
    threads: Optional[int] = None
    # The speed-up the issue asks for, reported beside the measured one.
    goal: Optional[float] = None

    @property
    def id(self) -> str:
        return f"{self.op}-{'x'.join(map(str, self.shape))}-{self.layout}"

    @property
    def label(self) -> str:
        return f"{self.op} ({','.join(map(str, self.shape))}) {self.layout}"


def cases() -> list[Case]:
    """Every case of every family, grouped by op. Builds no tensors."""
    return shift_cases() + dwconv3d_cases() + tfc_cases() + model_cases()


@contextlib.contextmanager
def threads_for(case: Case):
    """Run a block with the case's torch thread count (restored after)."""
    if case.threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(case.threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tfc_cases() -> list[Case]:
    """TFC: the fused module against SqueezeTime's chain of modules, eval mode."""
    shapes = [(1, (n, c, hw, hw)) for n in TFC_BATCHES for c, hw in TFC_STAGES]
    c, hw = TFC_KERNEL3_STAGE
    shapes += [(3, (n, c, hw, hw)) for n in TFC_BATCHES]
    return [
        Case(f"tfc {k}x{k}", shape, "NCHW", partial(_make_tfc, shape, k), _tfc_upstream, _tfc_fused, exact=False)
        for k, shape in shapes
    ]


def tfc_geomean(results: Sequence["Result"], batch: int = 1) -> Optional[float]:
    """Geometric mean speed-up over the 1x1 SqueezeTime stages at one batch
    size (the op's goal is >= 1.5x at batch 1), or None without such results."""
    speedups = [r.speedup for r in results if r.case.op == "tfc 1x1" and r.case.shape[0] == batch]
    if not speedups:
        return None
    return math.exp(statistics.fmean(math.log(s) for s in speedups))


def summary_lines(results: Sequence["Result"]) -> list[str]:
    """One line per TFC batch size: the geometric mean over the stages."""
    lines = []
    for batch in TFC_BATCHES:
        mean = tfc_geomean(results, batch)
        if mean is not None:
            lines.append(f"tfc 1x1, batch {batch}: geometric mean speed-up over the 4 SqueezeTime stages {mean:.2f}x")
    for result in results:
        case = result.case
        if case.goal is not None:
            verdict = "met" if result.speedup >= case.goal else "MISSED"
            lines.append(f"{case.op} ({case.layout}): {result.speedup:.2f}x, goal >= {case.goal:g}x {verdict}")
    return lines


def shift_cases() -> list[Case]:
    """The temporal-shift family, grouped by op. Builds no tensors."""
    clips = [(shape, layout) for shape in CLIP_SHAPES for layout in LAYOUTS]
    # One frame of each clip shape, without repeating a frame shape.
    frame_shapes = list(dict.fromkeys((1, *shape[1:]) for shape in CLIP_SHAPES))
    frames = [(shape, layout) for shape in frame_shapes for layout in LAYOUTS]
    all_cases = []
    for shape, layout in clips:
        all_cases.append(
            Case("out-of-place", shape, layout, partial(_make_clip, shape, layout), _shift_reference, _shift,
                 moved_bytes=2 * _nbytes(shape), clone_floor=True)
        )
    for shape, layout in clips:
        # Only the 2*fold shifted channels are read and written.
        shifted_bytes = _nbytes(shape) // shape[1] * 2 * (shape[1] // FOLD_DIV)
        all_cases.append(
            Case("in-place", shape, layout, partial(_make_clip, shape, layout), _shift_reference, _shift_inplace,
                 moved_bytes=2 * shifted_bytes)
        )
    for shape, layout in clips:
        all_cases.append(
            Case("shift_conv1x1", shape, layout, partial(_make_conv, shape, layout), _shift_conv_reference,
                 _shift_conv, exact=False)
        )
    for shape, layout in frames:
        n, c, h, w = shape
        # The swap reads and writes fold channels of the frame and of the cache.
        swapped_bytes = n * (c // FOLD_DIV) * h * w * 4
        all_cases.append(
            Case("online", shape, layout, partial(_make_online, shape, layout), temporal_shift_online_reference,
                 temporal_shift_online_, moved_bytes=4 * swapped_bytes)
        )
    return all_cases


def _nbytes(shape: Sequence[int]) -> int:
    return 4 * shape[0] * shape[1] * shape[2] * shape[3]  # float32


def _as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def verify(case: Case) -> None:
    """Raise AssertionError unless the candidate gives the baseline's result
    on fresh inputs, so that no benchmark times a broken kernel."""
    with threads_for(case):
        expected = _as_tuple(case.baseline(*case.make()))
        actual = _as_tuple(case.candidate(*case.make()))
    for want, got in zip(expected, actual, strict=True):
        scale = want.abs().max().item() if want.numel() else 0.0
        same = torch.equal(got, want) if case.exact else torch.allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, scale))
        if not same:
            diff = (got - want).abs().max().item()
            raise AssertionError(f"{case.label}: fastvfx differs from the baseline (max abs diff {diff:g})")


def prepare(case: Case) -> dict[str, Callable[[], object]]:
    """The calls timed for a case, in round order, on inputs built once:
    ``baseline``, ``clone`` and ``memcpy`` where they apply, then ``fastvfx``."""
    args = case.make()
    calls = {"baseline": partial(case.baseline, *args)}
    if case.clone_floor:
        calls["clone"] = args[0].clone
    if case.moved_bytes is not None:
        calls["memcpy"] = memcpy_call(_nbytes(case.shape))
    calls["fastvfx"] = partial(case.candidate, *args)
    return calls


def warm_up(calls: dict[str, Callable[[], object]], budget: Budget) -> int:
    """Run the budget's warm-up rounds; return how many timed rounds fit it."""
    for _ in range(budget.warmup):
        start = time.perf_counter()
        for call in calls.values():
            call()
        seconds_per_round = time.perf_counter() - start
    return budget.rounds_for(seconds_per_round)


@dataclasses.dataclass(frozen=True)
class Result:
    """A case's timings: ``stats`` maps each call of :func:`prepare` to
    :func:`summarize` output. Ratios use medians."""

    case: Case
    stats: dict[str, dict]

    def _median(self, name: str) -> Optional[float]:
        return self.stats[name]["median_s"] if name in self.stats else None

    @property
    def speedup(self) -> float:
        return self._median("baseline") / self._median("fastvfx")

    @property
    def memcpy_bytes_per_s(self) -> Optional[float]:
        """memcpy bandwidth on a copy of x: read + write bytes per second."""
        seconds = self._median("memcpy")
        return None if seconds is None else 2 * _nbytes(self.case.shape) / seconds

    @property
    def memcpy_fraction(self) -> Optional[float]:
        """The candidate's bandwidth (bytes it moves per second) as a fraction of memcpy's."""
        if "memcpy" not in self.stats:
            return None
        return self.case.moved_bytes / self._median("fastvfx") / self.memcpy_bytes_per_s

    def summary(self) -> dict:
        """Flat numbers for JSON and pytest-benchmark's extra_info."""
        row = {
            "baseline_ms": 1e3 * self._median("baseline"),
            "fastvfx_ms": 1e3 * self._median("fastvfx"),
            "speedup": self.speedup,
        }
        if self.case.flops is not None:
            row["GFLOPs"] = self.case.flops / self._median("fastvfx") / 1e9
        if "clone" in self.stats:
            row["clone_ms"] = 1e3 * self._median("clone")
        if "memcpy" in self.stats:
            row["memcpy_GBps"] = self.memcpy_bytes_per_s / 1e9
            row["memcpy_fraction"] = self.memcpy_fraction
        return row


def measure_case(case: Case, budget: Budget) -> Result:
    """Warm up, then time a case's calls in interleaved rounds."""
    with threads_for(case):
        calls = prepare(case)
        rounds = warm_up(calls, budget)
        return Result(case, measure_interleaved(calls, repeats=rounds, warmup=0))


# ---------------------------------------------------------------------------
# Causal depthwise Conv3D (MoViNet-A0 shapes)
# ---------------------------------------------------------------------------

# (C, H = W, (kT, kH, kW), spatial stride) of MoViNet-A0 stream layers.
MOVINET_A0_LAYERS = (
    (40, 56, (5, 3, 3), 1),
    (64, 28, (3, 3, 3), 1),
    (104, 14, (5, 3, 3), 1),
    (168, 7, (5, 3, 3), 1),
    (24, 56, (1, 5, 5), 2),
    (80, 28, (3, 1, 1), 1),
)
# Full clips: T = 8 for every layer, T = 50 for two.
CLIP_FRAMES = ((8, MOVINET_A0_LAYERS), (50, MOVINET_A0_LAYERS[1:3]))


def _conv_flops(c: int, t: int, out_hw: int, kernel: tuple[int, int, int]) -> int:
    return 2 * c * t * out_hw * out_hw * kernel[0] * kernel[1] * kernel[2]


def _layer_tensors(c: int, h: int, kernel, t: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((1, c, t, h, h), generator=generator)
    weight = torch.randn((c, 1, *kernel), generator=generator)
    return x, weight, torch.randn((c,), generator=generator)


def _make_step(c, h, kernel, stride):
    frame, weight, bias = _layer_tensors(c, h, kernel, 1)
    out_hw = -(-h // stride)
    buffer = torch.zeros(1, c, kernel[0] - 1, h, h)
    state = init_stream_state(1, c, kernel[0], h, h, kernel_size=kernel, stride=stride)
    out = torch.empty(1, c, 1, out_hw, out_hw)
    return frame, weight, bias, stride, buffer, state, out


def _step_reference(frame, weight, bias, stride, buffer, state, out):
    return causal_dwconv3d_stream_reference(frame, weight, bias, buffer, stride)[0]


def _step(frame, weight, bias, stride, buffer, state, out):
    return causal_dwconv3d_step(frame, weight, bias, state, stride, out=out)


def _make_dwconv_clip(c, h, kernel, stride, t):
    x, weight, bias = _layer_tensors(c, h, kernel, t)
    return x, weight, bias, stride


def _dwconv_reference(x, weight, bias, stride):
    return causal_dwconv3d_reference(x, weight, bias, stride)


def _dwconv(x, weight, bias, stride):
    return causal_dwconv3d(x, weight, bias, stride)


def _make_dwconv_backward(c, h, kernel, stride, t):
    x, weight, bias = (v.requires_grad_(True) for v in _layer_tensors(c, h, kernel, t))
    y_reference = causal_dwconv3d_reference(x, weight, bias, stride)
    y_fastvfx = causal_dwconv3d(x, weight, bias, stride)
    grad = torch.randn(y_fastvfx.shape, generator=torch.Generator().manual_seed(1))
    return x, weight, bias, grad, y_reference, y_fastvfx


def _backward_of(y: Tensor, x, weight, bias, grad) -> tuple[Tensor, ...]:
    return torch.autograd.grad(y, (x, weight, bias), grad, retain_graph=True)


def _dwconv_backward_reference(x, weight, bias, grad, y_reference, y_fastvfx):
    return _backward_of(y_reference, x, weight, bias, grad)


def _dwconv_backward(x, weight, bias, grad, y_reference, y_fastvfx):
    return _backward_of(y_fastvfx, x, weight, bias, grad)


def dwconv3d_cases() -> list[Case]:
    """Causal depthwise Conv3D: streaming step (vs concat + F.conv3d), full
    clip forward and backward (vs F.pad + F.conv3d and its autograd)."""
    all_cases = []
    for c, h, kernel, stride in MOVINET_A0_LAYERS:
        out_hw = -(-h // stride)
        all_cases.append(
            Case("dwconv3d step", (1, c, 1, h, h, *kernel, stride), "NCTHW",
                 partial(_make_step, c, h, kernel, stride), _step_reference, _step, exact=False,
                 flops=_conv_flops(c, 1, out_hw, kernel))
        )
    for kind, baseline, candidate, make, flop_factor in (
        ("dwconv3d clip", _dwconv_reference, _dwconv, _make_dwconv_clip, 1),
        ("dwconv3d backward", _dwconv_backward_reference, _dwconv_backward, _make_dwconv_backward, 2),
    ):
        for t, layers in CLIP_FRAMES:
            for c, h, kernel, stride in layers:
                out_hw = -(-h // stride)
                all_cases.append(
                    Case(kind, (1, c, t, h, h, *kernel, stride), "NCTHW", partial(make, c, h, kernel, stride, t),
                         baseline, candidate, exact=False, flops=flop_factor * _conv_flops(c, t, out_hw, kernel))
                )
    return all_cases


# ---------------------------------------------------------------------------
# Reference models: the torch backend against the fastvfx backend
# ---------------------------------------------------------------------------

# Batch 1, upstream input sizes; each case also runs with a single thread.
MOVINET_SIZE = 172
TSM_SIZE = 224
TSM_SEGMENTS = 8
SQUEEZETIME_FRAMES = 16
SQUEEZETIME_SIZE = 224
MODEL_THREADS = (None, 1)


def _model_builders() -> dict[str, tuple[Callable[[str], torch.nn.Module], tuple[int, ...], float]]:
    """name -> (build(backend), shape of the BatchNorm calibration input, variance floor)."""
    from .models import mobilenet_v2_tsm, movinet_a0, squeezetime

    return {
        "movinet-a0-3d": (partial(_kw, movinet_a0, conv_type="3d"), (1, 3, 4, MOVINET_SIZE, MOVINET_SIZE), 0.0),
        "movinet-a0-2plus1d": (partial(_kw, movinet_a0, conv_type="2plus1d"), (1, 3, 4, MOVINET_SIZE, MOVINET_SIZE),
                               0.0),
        "mobilenet-v2-tsm": (partial(_kw, mobilenet_v2_tsm, num_classes=400, n_segment=TSM_SEGMENTS),
                             (TSM_SEGMENTS, 3, TSM_SIZE, TSM_SIZE), 0.0),
        "mobilenet-v2-tsm-online": (
            partial(_kw, mobilenet_v2_tsm, num_classes=400, n_segment=TSM_SEGMENTS, online=True),
            (TSM_SEGMENTS, 3, TSM_SIZE, TSM_SIZE), 0.0),
        "squeezetime": (partial(_kw, squeezetime, frames=SQUEEZETIME_FRAMES),
                        (2, 3, SQUEEZETIME_FRAMES, SQUEEZETIME_SIZE, SQUEEZETIME_SIZE), 0.3),
    }


def _kw(factory, backend: str, **kwargs):
    return factory(backend=backend, **kwargs)


@functools.lru_cache(maxsize=None)
def _model_weights(name: str) -> dict:
    """Deterministic weights of a model, BatchNorm statistics calibrated on a
    random input (raw random init lets eval-mode activations vanish)."""
    from .models import calibrate_batchnorm

    build, shape, min_var = _model_builders()[name]
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = build("torch")
        calibrate_batchnorm(model, torch.randn(shape), min_var=min_var)
    return model.state_dict()


def model_pair(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The torch-backend and fastvfx-backend model ``name``, same weights, eval mode."""
    build = _model_builders()[name][0]
    weights = _model_weights(name)
    pair = []
    for backend in ("torch", "fastvfx"):
        model = build(backend)
        model.load_state_dict(weights)
        pair.append(model.eval())
    return pair[0], pair[1]


def _make_model_clip(name: str, shape: tuple[int, ...]):
    reference, fast = model_pair(name)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(4))
    return (torch.no_grad()(partial(reference, x)), torch.no_grad()(partial(fast, x)))


def _make_model_stream(name: str, shape: tuple[int, ...], warm_frames: int = 3):
    """Step callables continuing a stream (the states are updated by each
    call), after ``warm_frames`` frames so that every buffer holds data."""
    frames_gen = torch.Generator().manual_seed(4)
    frame = torch.randn(shape, generator=frames_gen)
    calls = []
    for model in model_pair(name):
        if isinstance(getattr(model, "n_segment", None), int):  # TSM online: per-frame caches
            states = model.init_states(shape[0], shape[-2], shape[-1])
        else:
            states = model.init_states()
        box = [states]

        def step(model=model, box=box):
            logits, box[0] = model.step(frame, box[0])
            return logits

        for _ in range(warm_frames):
            step()
        calls.append(step)
    return tuple(calls)


def _call_baseline(baseline_fn, candidate_fn):
    return baseline_fn()


def _call_candidate(baseline_fn, candidate_fn):
    return candidate_fn()


def model_cases() -> list[Case]:
    """Reference models, torch backend (baseline) against fastvfx backend,
    same weights, eval mode, batch 1, with torch's default threads and with
    one thread. Each case's ``make()`` returns ``(baseline_fn, candidate_fn)``,
    zero-argument callables (streaming ones continue their stream). Builds no
    tensors until ``make()``."""
    specs = [
        # (op, model, input shape, stream?, goal)
        ("movinet-a0 3d stream step", "movinet-a0-3d", (1, 3, 1, MOVINET_SIZE, MOVINET_SIZE), True, 3.0),
        ("movinet-a0 2plus1d stream step", "movinet-a0-2plus1d", (1, 3, 1, MOVINET_SIZE, MOVINET_SIZE), True, 3.0),
        ("mobilenet-v2-tsm clip", "mobilenet-v2-tsm", (TSM_SEGMENTS, 3, TSM_SIZE, TSM_SIZE), False, 1.15),
        ("mobilenet-v2-tsm online step", "mobilenet-v2-tsm-online", (1, 3, TSM_SIZE, TSM_SIZE), True, None),
        ("squeezetime clip", "squeezetime", (1, 3, SQUEEZETIME_FRAMES, SQUEEZETIME_SIZE, SQUEEZETIME_SIZE), False,
         1.1),
    ]
    all_cases = []
    for threads in MODEL_THREADS:
        for op, name, shape, stream, goal in specs:
            make = partial(_make_model_stream if stream else _make_model_clip, name, shape)
            layout = "default threads" if threads is None else f"{threads} thread"
            all_cases.append(Case(op, shape, layout, make, _call_baseline, _call_candidate, exact=False,
                                  threads=threads, goal=goal))
    return all_cases


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

_COLUMNS = (
    "op", "shape", "layout", "baseline ms", "fastvfx ms", "speed-up", "GFLOP/s", "clone ms", "memcpy GB/s", "of memcpy"
)


def _table_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    def ms(value):
        return "-" if value is None else f"{value:.4g}"

    rows = []
    for result in results:
        case, summary = result.case, result.summary()
        fraction = summary.get("memcpy_fraction")
        bandwidth = summary.get("memcpy_GBps")
        rows.append((
            case.op,
            "x".join(map(str, case.shape)),
            case.layout,
            ms(summary["baseline_ms"]),
            ms(summary["fastvfx_ms"]),
            f"{summary['speedup']:.2f}x",
            "-" if "GFLOPs" not in summary else f"{summary['GFLOPs']:.1f}",
            ms(summary.get("clone_ms")),
            "-" if bandwidth is None else f"{bandwidth:.1f}",
            "-" if fraction is None else f"{100 * fraction:.0f}%",
        ))
    return rows


def format_table(results: Sequence[Result], markdown: bool = False) -> str:
    """The ratio table, aligned text or Markdown."""
    rows = _table_rows(results)
    if markdown:
        lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "|".join("---" for _ in _COLUMNS) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(cell) for cell in column) for column in zip(_COLUMNS, *rows)]
    # Text columns left-aligned, numbers right-aligned.
    aligned = [str.ljust] * 3 + [str.rjust] * (len(_COLUMNS) - 3)
    return "\n".join(
        "  ".join(align(cell, width) for align, cell, width in zip(aligned, row, widths)) for row in [_COLUMNS, *rows]
    )


_NOTES = """\
- Medians of interleaved rounds (baseline, clone, memcpy, fastvfx, repeated), one process, one run.
- speed-up = baseline / fastvfx. Baselines are the upstream PyTorch formulations: TSM's shift
  (`torch.zeros_like` + slice copies), TSM's online `torch.cat`, and the shift + `F.conv2d`;
  for TFC, SqueezeTime's chain of modules (pool, 1x1 conv, BatchNorm, ReLU, 1x1 conv, sigmoid,
  `param * x`, conv) against `fastvfx.nn.TemporalFocusConv2d`, both in eval mode under
  `torch.no_grad()`, C_in = C_out, N = batch of 16-frame clips squeezed into the channels.
- clone ms (out-of-place): `x.clone()`, the floor of any op returning a fresh tensor; for the large
  clips it is mostly page faults on the new output memory.
- memcpy GB/s: `dst.copy_(src)` of x's bytes into a preallocated buffer, read + write bytes per second.
  "of memcpy" = (bytes the op reads + writes) / fastvfx time / memcpy GB/s. The op moves all of x
  out of place, its 2*fold shifted channels in place, and fold channels of frame and cache online.
  In place the working set is a quarter of x's, so caches can lift it above 100%.
- Models (fastvfx.models): the torch backend (plain PyTorch modules, as upstream writes the model) against
  the fastvfx backend, same weights (BatchNorm statistics calibrated on a random input), eval mode under
  `torch.no_grad()`, batch 1; stream / online cases time one step of a running stream."""


FAMILIES = {"shift": shift_cases, "dwconv3d": dwconv3d_cases, "tfc": tfc_cases, "models": model_cases}


def family_cases(families: Optional[Sequence[str]] = None, pattern: Optional[str] = None) -> list[tuple[str, Case]]:
    """``(family, case)`` for the chosen families (default: all), in order,
    keeping the cases whose id or label contains ``pattern`` (any case when
    None). Builds no tensors."""
    chosen = list(FAMILIES) if not families else list(families)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
    picked = [(family, case) for family in chosen for case in FAMILIES[family]()]
    if pattern:
        picked = [(f, c) for f, c in picked if pattern in c.id or pattern in c.label]
    return picked


def _command(quick: bool, out_dir: str, threads: Optional[int], family: Optional[str],
             pattern: Optional[str] = None) -> str:
    parts = ["fastvfx bench"] + (["--quick"] if quick else []) + (["--only", family] if family else [])
    if pattern:
        parts += ["--filter", repr(pattern) if " " in pattern else pattern]
    parts += ["--out", out_dir]
    if threads is not None:
        parts += ["--threads", str(threads)]
    return " ".join(parts)


def _write_report(out_dir: str, context: dict, results: Sequence[Result], families: Sequence[str]) -> dict:
    """Write report.json (context, summaries and full statistics; its schema is
    fastvfx/report_schema.json), report.md and speedups.png into ``out_dir``.
    Returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "json": os.path.join(out_dir, "report.json"),
        "markdown": os.path.join(out_dir, "report.md"),
        "chart": None,
    }
    chart_rows = [(r.case.label, family, r.speedup) for r, family in zip(results, families)]
    files["chart"] = report.write_chart(
        os.path.join(out_dir, "speedups.png"), chart_rows, f"{context['command']}  ({context['date']})"
    )
    cases_json = [
        {"id": r.case.id, "family": family, "op": r.case.op, "shape": list(r.case.shape), "layout": r.case.layout,
         "moved_bytes": r.case.moved_bytes, **r.summary(), "stats": r.stats}
        for r, family in zip(results, families)
    ]
    with open(files["json"], "w") as file:
        json.dump({"schema_version": 1, **context, "cases": cases_json, "summary": summary_lines(results),
                   "files": {k: v and os.path.basename(v) for k, v in files.items()}}, file, indent=2)

    machine_lines = [f"- {key}: {value}" for key, value in context["machine"].items()]
    machine_lines.append(f"- torch threads: {context['torch_threads']}")
    machine_lines.append(f"- load average before the run: {context['load_average_before']:.2f}")
    sections = [
        "# fastvfx benchmark",
        f"`{context['command']}` ({context['date']})",
        "\n".join(machine_lines),
        format_table(results, markdown=True),
    ]
    summary = summary_lines(results)
    if summary:
        sections.append("\n".join(f"- {line}" for line in summary))
    if files["chart"]:
        sections.append("![speed-ups](speedups.png)")
    markdown = "\n\n".join([*sections, _NOTES])
    with open(files["markdown"], "w") as file:
        file.write(markdown + "\n")
    return files


def run_report(quick: bool, out_dir: str, threads: Optional[int] = None, family: Optional[str] = None,
               pattern: Optional[str] = None) -> int:
    """Run every case (or one family's, see :data:`FAMILIES`; or those whose id
    contains ``pattern``), print the ratio table and write ``report.json``,
    ``report.md`` and ``speedups.png`` into ``out_dir``. Returns the exit code."""
    selected = family_cases([family] if family else None, pattern)
    if not selected:
        print(f"error: no benchmark case matches --filter {pattern!r} (fastvfx bench --list shows them)",
              file=sys.stderr)
        return 2
    if threads is not None:
        torch.set_num_threads(threads)
    budget = QUICK if quick else DEFAULT
    machine = info()
    context = {
        "command": _command(quick, out_dir, threads, family, pattern),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "torch_threads": torch.get_num_threads(),
        "load_average_before": os.getloadavg()[0],
        "budget": dataclasses.asdict(budget),
    }
    print(
        f"fastvfx {machine['fastvfx']} | torch {machine['torch (running)']} | ISA {machine['active ISA']} "
        f"| {machine['threads']} threads | {machine['machine']}"
    )
    if context["load_average_before"] > (os.cpu_count() or 1) / 2:
        # Busy cores stall torch's thread pool at every parallel region: timings get noisy.
        print(f"note: load average {context['load_average_before']:.2f}; other processes may compete for the CPUs")

    results, families = [], []
    progress = report.Progress(len(selected))
    for family_name, case in selected:
        progress.begin(case.label)
        try:
            verify(case)
        except AssertionError as error:
            progress.end("FAILED")
            print(f"error: {error}", file=sys.stderr)
            return 1
        result = measure_case(case, budget)
        results.append(result)
        families.append(family_name)
        progress.end(f"{result.speedup:.2f}x")
    progress.finish()
    print()
    print(format_table(results))
    for line in summary_lines(results):
        print(line)
    files = _write_report(out_dir, context, results, families)
    print("\nwrote " + ", ".join(path for path in files.values() if path))
    return 0
