"""SqueezeTime's clip, fastvfx backend against ONNX Runtime, layer by layer.

One process runs the fastvfx backend and ONNX Runtime on the exported torch
backend (same weights) in interleaved rounds, batch 1, 16 frames at 224²,
so each sees the caches the other left, as in `fastvfx bench`. The fastvfx
side times each planned conv call (perf_counter around
``PlannedConv2d.__call__`` / ``into``) and the stem with its max pool; ONNX
Runtime's side is its session profile. Rows are keyed (C_in, H, C_out, k),
ms a clip; ONNX Runtime's other nodes (Mul, reorders, ReduceMean, ...) are
listed as such. The fastvfx backend's own element-wise ops (the gate's sum,
``x * gate``, the position add) are not timed here.

    python bench/squeezetime_vs_ort.py [threads] [rounds]   # default 1 12

Run it from outside the source tree (or with the package installed); needs
onnx, onnxscript and onnxruntime (pip install 'fastvfx[bench]').
"""

import collections
import json
import sys
import time

import torch


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    torch.set_num_threads(threads)
    from fastvfx.bench.ort import profiled_session
    from fastvfx.models import squeezetime
    from fastvfx.nn._onednn import PlannedConv2d

    torch.manual_seed(0)
    fast = squeezetime(backend="fastvfx").eval()
    reference = squeezetime(backend="torch").eval()
    reference.load_state_dict(fast.state_dict())
    x = torch.randn(1, 3, 16, 224, 224)
    session = profiled_session(reference, x, threads)

    layers = {}
    init = PlannedConv2d.__init__

    def recording_init(self, conv, weight, bias, like, *args, **kwargs):
        layers[id(self)] = (like.size(1), like.size(2), conv.out_channels, conv.kernel_size[0])
        init(self, conv, weight, bias, like, *args, **kwargs)

    ours = collections.defaultdict(float)
    call, into = PlannedConv2d.__call__, PlannedConv2d.into

    def timed(fn):
        def wrapper(self, *args):
            start = time.perf_counter()
            out = fn(self, *args)
            ours[layers[id(self)]] += time.perf_counter() - start
            return out
        return wrapper

    stem = fast._stem

    def timed_stem(clip):
        start = time.perf_counter()
        out = stem(clip)
        ours["stem + max pool"] += time.perf_counter() - start
        return out

    PlannedConv2d.__init__ = recording_init
    with torch.no_grad():
        fast(x)  # builds the plans
    PlannedConv2d.__init__ = init
    fast._stem = timed_stem
    feeds = {session.get_inputs()[0].name: x.numpy()}
    total_fast = total_ort = 0.0
    with torch.no_grad():
        PlannedConv2d.__call__, PlannedConv2d.into = timed(call), timed(into)
        try:
            fast(x)
            ours.clear()
            for _ in range(rounds):
                start = time.perf_counter()
                fast(x)
                total_fast += time.perf_counter() - start
                start = time.perf_counter()
                session.run(None, feeds)
                total_ort += time.perf_counter() - start
        finally:
            PlannedConv2d.__call__, PlannedConv2d.into = call, into
    events = json.load(open(session.end_profiling()))
    runs = rounds + 1  # the profile includes the session's warm-up run
    theirs = collections.defaultdict(float)
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        args = event["args"]
        shapes = [list(s.values())[0] for s in args.get("input_type_shape", [])]
        op = args.get("op_name")
        if op == "Conv" and shapes[0][1] == 3 * 16:
            key = "stem + max pool"
        elif op == "Conv":
            key = (shapes[0][1], shapes[0][2], shapes[1][0], shapes[1][2])
        elif op in ("MaxPool", "ReorderInput") and shapes[0][2] in (112, 224) and shapes[0][1] in (48, 64):
            key = "stem + max pool"
        else:
            key = "other: " + op
        theirs[key] += event["dur"] / 1e6
    print(f"{threads} thread(s), {rounds} rounds: fastvfx {total_fast / rounds * 1e3:.2f} ms a clip, "
          f"ONNX Runtime {total_ort / rounds * 1e3:.2f}")
    print(f"{'layer (C_in, H, C_out, k)':30s} {'fastvfx':>8s} {'ORT':>8s} {'diff':>8s}")
    for key in sorted(set(ours) | set(theirs), key=lambda k: -theirs.get(k, 0.0)):
        a, b = ours.get(key, 0.0) / rounds * 1e3, theirs.get(key, 0.0) / runs * 1e3
        print(f"{str(key):30s} {a:8.3f} {b:8.3f} {a - b:+8.3f}")


if __name__ == "__main__":
    main()
