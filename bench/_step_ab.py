"""What the A/B scripts (bench/mobilenet_stem.py, bench/tree_stamp.py,
bench/plan_overhead.py, bench/winograd.py) share: the bench's protocol for
MobileNetV2-TSM's online step and for a model's clip with variants, and their
command line."""

import statistics
import sys
import time

import torch

from fastvfx.bench import ort
from fastvfx.bench.models import TSM_SIZE, model_pair

NAME = "mobilenet-v2-tsm-online"


def online_step_ab(reference, variants, rounds, switch=None):
    """Median ms of each variant's online step (a name -> MobileNetV2-TSM
    model, all with ``reference``'s weights) in the bench's conditions: each
    round runs the torch backend's step (``reference``) and ONNX Runtime's
    (when onnxruntime and onnxscript are installed), then one variant, the
    variants taking turns; ``switch`` (name -> function) sets a variant up
    before each of its steps. The variants' first logits must agree."""
    switch = switch or {}
    frame = torch.randn(1, 3, TSM_SIZE, TSM_SIZE)
    models = [reference, *variants.values()]
    states = {id(m): [m.init_states(1, TSM_SIZE, TSM_SIZE)] for m in models}

    def step(model):
        logits, states[id(model)][0] = model.step(frame, states[id(model)][0])
        return logits

    first = []
    for name, model in variants.items():
        switch.get(name, lambda: None)()
        first.append(step(model))
    for logits in first[1:]:
        torch.testing.assert_close(logits, first[0], rtol=1e-4, atol=1e-4)
    contender = ort.stream_contender((NAME, tuple(frame.shape)), reference, frame, 3)
    runs = {k: (lambda model=model: step(model)) for k, model in variants.items()}
    return _take_turns(lambda: step(reference), contender, runs, switch, rounds)


def _take_turns(before, contender, runs, switch, rounds):
    """Median ms of each of ``runs`` (name -> function) and of ONNX Runtime's
    ``contender`` (a function, or why it was skipped): each of ``rounds``
    rounds runs ``before`` (the torch backend) and the contender, then one
    run after its ``switch``, the runs taking turns."""
    others = {} if isinstance(contender, str) else {"onnxruntime": contender}
    names = list(runs)
    times = {**{k: [] for k in names}, **{k: [] for k in others}}
    for r in range(rounds):
        before()
        for k, fn in others.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
        name = names[r % len(names)]
        switch.get(name, lambda: None)()
        t0 = time.perf_counter()
        runs[name]()
        times[name].append(time.perf_counter() - t0)
    result = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    if isinstance(contender, str):
        result["onnxruntime"] = contender
    return result


def interleaved(calls, rounds, flush=None):
    """Median seconds of each of ``calls`` (name -> zero-argument function),
    the calls taking turns for ``rounds`` rounds, each after a write over
    ``flush`` (a tensor; None: none) that evicts the caches as a model's
    other layers would."""
    times = {k: [] for k in calls}
    for _ in range(rounds):
        for k, fn in calls.items():
            if flush is not None:
                flush.add_(1.0)
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def clip_ab(name, x, variants, rounds, switch=None):
    """Median ms of each variant's clip (a name -> the fastvfx backend of
    model ``name`` on ``x``, or a zero-argument function running one) in the
    bench's conditions: each round runs the torch backend's clip and ONNX
    Runtime's (when onnxruntime and onnxscript are installed), then one
    variant, the variants taking turns; ``switch`` (name -> function) sets a
    variant up before each of its clips. Their first outputs must agree."""
    switch = switch or {}
    reference = model_pair(name)[0]
    first = []
    for k, run in variants.items():
        switch.get(k, lambda: None)()
        first.append(run(x))
    for y in first[1:]:
        torch.testing.assert_close(y, first[0], rtol=1e-4, atol=1e-4 * first[0].abs().max().item())
    contender = ort.clip_contender((name, tuple(x.shape)), reference, x)
    runs = {k: (lambda run=run: run(x)) for k, run in variants.items()}
    return _take_turns(lambda: reference(x), contender, runs, switch, rounds * len(runs))


def pair():
    """The torch and the fastvfx backend of the online model, same weights."""
    return model_pair(NAME)


def main(sections):
    """Run ``sections`` (title, unit, fn(rounds) -> {name: value}) at one and
    two threads, rounds from the command line (default 100), under no_grad."""
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with torch.no_grad():
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for title, unit, fn in sections:
                values = fn(rounds)
                print(f"{title}, {threads} thread(s), {unit}: " +
                      ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()),
                      flush=True)
