"""Reference-model cases: the torch backend (plain PyTorch modules, as
upstream writes the model) against the fastvfx backend, same weights, eval
mode, batch 1: MoViNet-A0 stream steps, MobileNetV2-TSM clip and online step,
SqueezeTime clip; with torch's default threads and with one thread; ONNX
Runtime on the exported torch backend as a third contender."""

from __future__ import annotations

import functools
from functools import partial
from typing import Callable

import torch

from . import ort
from .case import Case, device, to_device

# Batch 1, upstream input sizes; each case also runs with a single thread.
MOVINET_SIZE = 172
TSM_SIZE = 224
TSM_SEGMENTS = 8
SQUEEZETIME_FRAMES = 16
SQUEEZETIME_SIZE = 224
MODEL_THREADS = (None, 1)


def _model_builders() -> dict[str, tuple[Callable[[str], torch.nn.Module], tuple[int, ...], float]]:
    """name -> (build(backend), shape of the BatchNorm calibration input, variance floor)."""
    from ..models import mobilenet_v2_tsm, movinet_a0, squeezetime

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
    from ..models import calibrate_batchnorm

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
    reference, fast = to_device(model_pair(name))
    x = torch.randn(shape, generator=torch.Generator().manual_seed(4)).to(device())
    others = {ort.NAME: ort.clip_contender((name, shape), reference, x)}
    return (torch.no_grad()(partial(reference, x)), torch.no_grad()(partial(fast, x)), others)


def _make_model_stream(name: str, shape: tuple[int, ...], warm_frames: int = 3):
    """Step callables continuing a stream (the states are updated by each
    call), after ``warm_frames`` frames so that every buffer holds data."""
    frames_gen = torch.Generator().manual_seed(4)
    frame = torch.randn(shape, generator=frames_gen).to(device())
    reference, fast = to_device(model_pair(name))
    calls = []
    for model in (reference, fast):
        if isinstance(getattr(model, "n_segment", None), int):  # TSM online: per-frame caches
            states = model.init_states(shape[0], shape[-2], shape[-1])
        else:
            states = model.init_states()
        box = [to_device(states)]

        def step(model=model, box=box):
            logits, box[0] = model.step(frame, box[0])
            return logits

        for _ in range(warm_frames):
            step()
        calls.append(step)
    others = {ort.NAME: ort.stream_contender((name, shape), reference, frame, warm_frames)}
    return (*calls, others)


def _call_baseline(baseline_fn, candidate_fn, others):
    return baseline_fn()


def _call_candidate(baseline_fn, candidate_fn, others):
    return candidate_fn()


def _others(baseline_fn, candidate_fn, others):
    return others


def cases() -> list[Case]:
    """Reference models, torch backend (baseline) against fastvfx backend,
    same weights, eval mode, batch 1, with torch's default threads and with
    one thread, and ONNX Runtime on the exported torch backend as a third
    contender (see :mod:`.ort`). Each case's ``make()`` returns
    ``(baseline_fn, candidate_fn, others)``: zero-argument callables (streaming
    ones continue their stream) and ``{"onnxruntime": callable or skip
    reason}``. Builds no tensors until ``make()``."""
    specs = [
        # (op, model, input shape, stream?)
        ("movinet-a0 3d stream step", "movinet-a0-3d", (1, 3, 1, MOVINET_SIZE, MOVINET_SIZE), True),
        ("movinet-a0 2plus1d stream step", "movinet-a0-2plus1d", (1, 3, 1, MOVINET_SIZE, MOVINET_SIZE), True),
        ("mobilenet-v2-tsm clip", "mobilenet-v2-tsm", (TSM_SEGMENTS, 3, TSM_SIZE, TSM_SIZE), False),
        ("mobilenet-v2-tsm online step", "mobilenet-v2-tsm-online", (1, 3, TSM_SIZE, TSM_SIZE), True),
        ("squeezetime clip", "squeezetime", (1, 3, SQUEEZETIME_FRAMES, SQUEEZETIME_SIZE, SQUEEZETIME_SIZE), False),
    ]
    all_cases = []
    for threads in MODEL_THREADS:
        for op, name, shape, stream in specs:
            make = partial(_make_model_stream if stream else _make_model_clip, name, shape)
            layout = "default threads" if threads is None else f"{threads} thread"
            all_cases.append(Case(op, shape, layout, make, _call_baseline, _call_candidate, exact=False,
                                  threads=threads, name=f"{op}, {layout}", others=_others))
    return all_cases
