"""Winograd F(4x4, 3x3) and F(2x2, 3x3) for the models' 3x3 stride-1 convs
(fused_conv2d with ``pack_weight(..., winograd=4 or 2)``) against each other,
what they ran on before and what a user would otherwise pick, in one
process. Run on a quiet machine,
from outside the source tree:

    python bench/winograd.py            # 1 and 2 threads, 100 rounds
    python bench/winograd.py 200        # more rounds

1. SqueezeTime's 3x3 stride-1 convs at its 224² input, batch 1,
   channels_last: each block's short conv (C -> C, times the IOI gate map)
   and the IOI branch's convs to and from 16 channels (ReLU, sigmoid). Per
   layer, interleaved, with a 8 MB write between calls (a model's other
   layers evict the caches): by Winograd F(4x4) and F(2x2), fused_conv2d's
   direct GEMM, the oneDNN primitive the plans called before (weight
   prepacked, the product or activation as a post-op) and eager
   ``F.conv2d`` with torch's ops, ms, then F(2x2)'s, oneDNN's and eager's
   time over the tile the core's rule picks (``rule``: 4, 2, or 0 for the
   direct conv).
2. SqueezeTime's stem, its 5x5 stride-2 conv (48 -> 64 channels, 224²,
   ReLU) from the NCHW input, interleaved as in 1: the input's 2x2
   space-to-depth (``fastvfx._C._space_to_depth2``) and the 3x3 stride-1
   conv on it by Winograd F(4x4) (the model's) and F(2x2), against what the
   model ran before (the input into channels_last by the core's transposes,
   then oneDNN's conv) and eager ``F.conv2d`` + ReLU, ms.
3. The stem's input conversion alone, memory-bound: the space-to-depth of
   SqueezeTime's (1, 48, 224, 224) input against the channels_last copy it
   replaced and ``x.clone()`` (its roofline: each byte read and written
   once), interleaved with the 8 MB write between calls, ms, and each
   conversion's fraction of the clone's throughput.
4. SqueezeTime's clip in the bench's conditions (the torch backend's clip
   and ONNX Runtime's before each timed clip): the model's plans (Winograd
   by the core's rule) against copies of the model whose plans were built
   with F(2x2) at most ("F(2x2)", stem included) and with no Winograd in the
   blocks ("without"; its stem by F(2x2)), ONNX Runtime alongside, ms.
"""

import copy

import torch
import torch.nn.functional as F

import _step_ab
from fastvfx import _C
from fastvfx.bench import keep_freed_memory
from fastvfx.bench.models import model_pair
from fastvfx.nn import _onednn
from fastvfx.ops.fused_conv2d import fused_conv2d, pack_weight, space_to_depth_weight

# (name, C_in, C_out, plane, activation, joined with a gate map by a product)
LAYERS = [
    ("short 64@56²", 64, 64, 56, None, True),
    ("short 128@28²", 128, 128, 28, None, True),
    ("short 256@14²", 256, 256, 14, None, True),
    ("short 512@7²", 512, 512, 7, None, True),
    ("IOI 64->16 @56²", 64, 16, 56, "relu", False),
    ("IOI 16->64 @56²", 16, 64, 56, "sigmoid", False),
    ("IOI 128->16 @28²", 128, 16, 28, "relu", False),
    ("IOI 16->128 @28²", 16, 128, 28, "sigmoid", False),
    ("IOI 256->16 @14²", 256, 16, 14, "relu", False),
    ("IOI 16->256 @14²", 16, 256, 14, "sigmoid", False),
]


def _eager(x, w, b, gate, activation):
    y = F.conv2d(x, w, b, padding=1)
    if gate is not None:
        return y * gate
    return torch.sigmoid(y) if activation == "sigmoid" else F.relu(y)


def layers(rounds):
    flush = torch.empty(2 << 20)  # 8 MB
    result = {}
    for name, c_in, c_out, size, activation, product in LAYERS:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1, c_in, size, size, generator=g).contiguous(memory_format=torch.channels_last)
        w = torch.randn(c_out, c_in, 3, 3, generator=g) * (c_in * 9) ** -0.5
        b = torch.randn(c_out, generator=g)
        gate = torch.rand(1, c_out, size, size, generator=g).contiguous(memory_format=torch.channels_last) \
            if product else None
        op = "mul" if product else "add"
        f4, f2, direct = pack_weight(w, winograd=4), pack_weight(w, winograd=2), pack_weight(w)
        rule = _onednn.winograd_tile(c_in, c_out, 1, size, size)
        onednn = _onednn.pack(w, b, torch.nn.Conv2d(c_in, c_out, 3, padding=1), x)
        calls = {
            "F(4x4)": lambda: fused_conv2d(x, f4, b, 1, 1, gate, activation, op),
            "F(2x2)": lambda: fused_conv2d(x, f2, b, 1, 1, gate, activation, op),
            "direct": lambda: fused_conv2d(x, direct, b, 1, 1, gate, activation, op),
            "oneDNN": (lambda: _onednn.conv2d_binary(x, onednn, gate, "mul")) if product else
                      (lambda: _onednn.conv2d(x, onednn, activation)),
            "eager": lambda: _eager(x, w, b, gate, activation),
        }
        expected = calls["eager"]()
        for k, fn in calls.items():
            torch.testing.assert_close(fn(), expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())
        ms = {k: v * 1e3 for k, v in _step_ab.interleaved(calls, rounds, flush).items()}
        picked = ms[{4: "F(4x4)", 2: "F(2x2)"}.get(rule, "oneDNN")]
        result[name] = (f"F(4x4) {ms['F(4x4)']:.3f} F(2x2) {ms['F(2x2)']:.3f} direct {ms['direct']:.3f} "
                        f"oneDNN {ms['oneDNN']:.3f} eager {ms['eager']:.3f}; rule {rule}: F(2x2) / it "
                        f"{ms['F(2x2)'] / picked:.2f}x, oneDNN / it {ms['oneDNN'] / picked:.2f}x, "
                        f"eager / it {ms['eager'] / picked:.2f}x")
    return {"": "\n  " + "\n  ".join(f"{k}: {v}" for k, v in result.items())}


def stem(rounds):
    flush = torch.empty(2 << 20)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 48, 224, 224, generator=g)
    w = torch.randn(64, 48, 5, 5, generator=g) * (48 * 25) ** -0.5
    b = torch.randn(64, generator=g)
    conv = torch.nn.Conv2d(48, 64, 5, stride=2, padding=2)
    f4, f2 = (pack_weight(space_to_depth_weight(w), winograd=t) for t in (4, 2))
    onednn = _onednn.pack(w, b, conv, x.contiguous(memory_format=torch.channels_last))
    calls = {
        "space-to-depth + F(4x4)": lambda: fused_conv2d(_C._space_to_depth2(x), f4, b, 1, 1, activation="relu"),
        "space-to-depth + F(2x2)": lambda: fused_conv2d(_C._space_to_depth2(x), f2, b, 1, 1, activation="relu"),
        "channels_last copy + oneDNN": lambda: _onednn.conv2d(_onednn.to_channels_last(x), onednn, "relu"),
        "eager": lambda: F.relu(F.conv2d(x, w, b, stride=2, padding=2)),
    }
    expected = calls["eager"]()
    for k, fn in calls.items():
        torch.testing.assert_close(fn(), expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())
    return {k: v * 1e3 for k, v in _step_ab.interleaved(calls, max(10, rounds // 4), flush).items()}


def space_to_depth(rounds):
    flush = torch.empty(2 << 20)
    x = torch.randn(1, 48, 224, 224, generator=torch.Generator().manual_seed(0))
    calls = {
        "space-to-depth": lambda: _C._space_to_depth2(x),
        "channels_last copy": lambda: _onednn.to_channels_last(x),
        "clone": lambda: x.clone(),
    }
    ms = {k: v * 1e3 for k, v in _step_ab.interleaved(calls, rounds, flush).items()}
    ms["space-to-depth of clone"] = ms["clone"] / ms["space-to-depth"]
    ms["channels_last copy of clone"] = ms["clone"] / ms["channels_last copy"]
    return ms


def squeezetime(rounds):
    model = model_pair("squeezetime")[1]
    x = torch.randn(1, 3, 16, 224, 224)
    rule = _onednn.winograd_tile

    def capped(cap):  # the Winograd rule with the tile at most `cap` (0: none in the blocks)
        return lambda *shape: min(rule(*shape), cap)

    # Each variant is its own copy of the model, whose plans are built on its
    # first clip; the rule it sees is set before each of its clips (the stem
    # asks it on every call; at cap 0 it keeps F(2x2)).
    rules = {"rule": rule, "F(2x2)": capped(2), "without": capped(0)}
    variants = {k: copy.deepcopy(model) for k in rules}
    switch = {k: (lambda r=r: setattr(_onednn, "winograd_tile", r)) for k, r in rules.items()}
    try:
        # a clip is 55-110 ms: fewer rounds
        return _step_ab.clip_ab("squeezetime", x, variants, max(4, rounds // 8), switch)
    finally:
        _onednn.winograd_tile = rule


if __name__ == "__main__":
    keep_freed_memory()
    _step_ab.main([("3x3 layers", "ms", layers), ("stem", "ms", stem), ("stem input", "ms", space_to_depth),
                   ("squeezetime clip", "ms", squeezetime)])
