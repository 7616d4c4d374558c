"""MobileNetV2-TSM's stem on fused_conv2d's direct path (few NCHW input
channels: csrc/kernels/pointwise/pointwise_conv.cpp, conv2d_direct) against
oneDNN on a channels_last copy of the frame, what the model's plan ran
before. Run on a quiet machine, from outside the source tree:

    python bench/mobilenet_stem.py            # both parts, 1 and 2 threads
    python bench/mobilenet_stem.py 200        # the A/B's rounds (default 100)

1. The stem alone (3 -> 32, 3x3, stride 2, BatchNorm folded, ReLU6, one
   1x3x224x224 frame), warm: the direct path on the NCHW frame, oneDNN with
   the copy into channels_last, and fused_conv2d's GEMM path on a
   channels_last frame; interleaved rounds of 50 calls, the median of the
   rounds' medians.
2. The online step in the bench's conditions (fastvfx bench --only models):
   each round runs the torch backend's step and ONNX Runtime's (when
   onnxruntime and onnxscript are installed) and then one of the two
   variants, alternating; the variants are two fastvfx models with the same
   weights, one whose plan runs its stem on oneDNN. Medians per contender.
"""

import statistics
import time

import torch

import _step_ab
from fastvfx.bench.models import TSM_SIZE
from fastvfx.nn import _onednn
from fastvfx.nn._batchnorm import cached_tree
from fastvfx.ops.fused_conv2d import fused_conv2d, pack_weight

def _median_ms(fn, calls=50):
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def stem_alone(model):
    frame = torch.randn(1, 3, TSM_SIZE, TSM_SIZE)
    stem = model.features[0]
    conv, bn = stem[0], stem[1]
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    weight, bias = conv.weight * scale[:, None, None, None], bn.bias - bn.running_mean * scale
    meta = torch.empty(frame.shape, device="meta")
    onednn = _onednn.PlannedConv2d(conv, weight, bias, meta.contiguous(memory_format=torch.channels_last), "relu6",
                                   fused=False)
    packed = pack_weight(weight)
    frame_cl = frame.contiguous(memory_format=torch.channels_last)
    calls = {
        "direct (NCHW frame)": lambda: fused_conv2d(frame, packed, bias, 2, 1, activation="relu6"),
        "oneDNN + channels_last copy": lambda: onednn(_onednn.to_channels_last(frame)),
        "GEMM (channels_last frame)": lambda: fused_conv2d(frame_cl, packed, bias, 2, 1, activation="relu6"),
    }
    for fn in calls.values():
        fn()
    rounds = {k: [] for k in calls}
    for _ in range(9):
        for k, fn in calls.items():
            rounds[k].append(_median_ms(fn))
    return {k: statistics.median(v) for k, v in rounds.items()}


def step_ab(rounds):
    reference, direct = _step_ab.pair()
    _, onednn = _step_ab.pair()
    frame = torch.randn(1, 3, TSM_SIZE, TSM_SIZE)
    for model in (direct, onednn):
        model.step(frame, model.init_states(1, TSM_SIZE, TSM_SIZE))
    # The second model's plan with the stem it had before: oneDNN on a channels_last copy.
    shared = cached_tree(onednn, "plan", onednn._shared_plan)
    for key, plan in list(shared.plans.items()):
        meta = torch.empty(frame.shape, device="meta").contiguous(memory_format=torch.channels_last)
        shared.plans[key] = plan._replace(stem=onednn.features[0].plan_conv(meta))
        assert not shared.plans[key].stem.fused
    return _step_ab.online_step_ab(reference, {"direct stem": direct, "oneDNN stem": onednn}, rounds)


if __name__ == "__main__":
    model = _step_ab.pair()[1]
    _step_ab.main([("stem alone", "ms", lambda rounds: stem_alone(model)), ("online step", "ms", step_ab)])
