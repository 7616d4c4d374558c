"""What the models' inference plans spend around their kernels, and the
changes of stop 27 that cut it, each against what it replaced in one
process. Run on a quiet machine, from outside the source tree:

    python bench/plan_overhead.py            # 1 and 2 threads, 100 rounds
    python bench/plan_overhead.py 200        # more rounds

1. One call of a tiny 1x1 fused_conv2d (16 -> 32, one pixel: the call is
   all overhead) through ``torch.ops`` and through the plans' direct binding
   (``fastvfx._C._plan_fused_conv2d``), interleaved, us.
2. MobileNetV2-TSM's online step in the bench's conditions
   (``_step_ab.online_step_ab``: the torch backend's step and ONNX Runtime's
   before each timed step), the plans' kernels called directly against
   through ``torch.ops`` (the module globals switched per round), ms.
3. SqueezeTime's clip in the same conditions (the torch backend's clip and
   ONNX Runtime's before each timed one): the blocks' last conv written over
   the residual (``fused_conv2d_residual_``) against into a fresh output,
   and the direct calls against ``torch.ops``; 4 variants, ms.
4. A one-row GEMM from memory: the 1280 -> 400 classifier of the bench's
   MobileNetV2-TSM (2 MB of weights) after a 64 MB write, against
   ``F.linear`` on the same weight and a clone of the packed weight (the
   roofline of a GEMV, which reads its weight once), us, and the GEMV's
   bandwidth as a fraction of the clone's (bytes moved per second).
"""

import statistics
import time

import torch
import torch.nn.functional as F

import _step_ab
from fastvfx import _C
from fastvfx.bench.models import model_pair
from fastvfx.nn import _onednn
from fastvfx.nn import folded_sequential
from fastvfx.ops.fused_conv2d import pack_weight

_DIRECT = (_onednn._fused_conv2d_op, _onednn._fused_conv2d_residual_op, folded_sequential._inverted_residual_op,
           folded_sequential._inverted_residual_step_op)
_OPS = (torch.ops.fastvfx.fused_conv2d.default, torch.ops.fastvfx.fused_conv2d_residual_.default,
        torch.ops.fastvfx.inverted_residual.default, torch.ops.fastvfx.inverted_residual_step.default)
_INTO = _onednn.PlannedConv2d.into


def _calls(ops):
    (_onednn._fused_conv2d_op, _onednn._fused_conv2d_residual_op, folded_sequential._inverted_residual_op,
     folded_sequential._inverted_residual_step_op) = ops


def _fresh_outputs(fresh):
    _onednn.PlannedConv2d.into = _onednn.PlannedConv2d.__call__ if fresh else _INTO


def call_cost(rounds):
    x = torch.randn(1, 16, 1, 1).contiguous(memory_format=torch.channels_last)
    w, b = pack_weight(torch.randn(32, 16)), torch.randn(32)
    args = (x, w.packed, b, None, 32, [1, 1], 1, [0, 0], "none", "add")
    calls = {"torch.ops": _OPS[0], "direct": _C._plan_fused_conv2d}
    assert torch.equal(calls["torch.ops"](*args), calls["direct"](*args))
    times = {k: [] for k in calls}
    for _ in range(rounds):
        for k, fn in calls.items():
            t0 = time.perf_counter()
            for _ in range(200):
                fn(*args)
            times[k].append((time.perf_counter() - t0) / 200)
    return {k: statistics.median(v) * 1e6 for k, v in times.items()}


def online_step(rounds):
    reference, direct = _step_ab.pair()
    _, through_ops = _step_ab.pair()
    try:
        return _step_ab.online_step_ab(reference, {"direct calls": direct, "torch.ops": through_ops}, rounds,
                                       {"direct calls": lambda: _calls(_DIRECT), "torch.ops": lambda: _calls(_OPS)})
    finally:
        _calls(_DIRECT)


def squeezetime(rounds):
    model = model_pair("squeezetime")[1]
    settings = {"in place, direct": (False, _DIRECT), "fresh outputs, direct": (True, _DIRECT),
                "in place, torch.ops": (False, _OPS), "fresh outputs, torch.ops": (True, _OPS)}
    switch = {k: (lambda fresh=fresh, ops=ops: (_fresh_outputs(fresh), _calls(ops))) for k, (fresh, ops) in
              settings.items()}
    try:  # a clip is 55-120 ms: fewer rounds
        return _step_ab.clip_ab("squeezetime", torch.randn(1, 3, 16, 224, 224), {k: model for k in settings},
                                max(4, rounds // 8), switch)
    finally:
        _fresh_outputs(False), _calls(_DIRECT)


def gemv_from_memory(rounds):
    linear = model_pair(_step_ab.NAME)[1].classifier[1]
    weight, bias = linear.weight.detach(), linear.bias.detach()
    packed = pack_weight(weight)
    x = torch.randn(1, weight.size(1), 1, 1).contiguous(memory_format=torch.channels_last)
    flush = torch.empty(16 << 20)  # 64 MB
    calls = {
        "fused_conv2d GEMV": lambda: _C._plan_fused_conv2d(x, packed.packed, bias, None, packed.out_channels, [1, 1],
                                                           1, [0, 0], "none", "add"),
        "F.linear": lambda: F.linear(x.view(1, -1), weight, bias),
        "clone of the packed weight": lambda: packed.packed.clone(),
    }
    result = {k: v * 1e6 for k, v in _step_ab.interleaved(calls, rounds, flush).items()}
    # clone reads and writes the weight's bytes, the GEMV reads them: per byte moved
    result["GEMV of clone's bandwidth"] = (result["clone of the packed weight"] / 2) / result["fused_conv2d GEMV"]
    return result


if __name__ == "__main__":
    _step_ab.main([("one call", "us", call_cost), ("online step", "ms", online_step),
                   ("squeezetime clip", "ms", squeezetime), ("GEMV from memory", "us", gemv_from_memory)])
