"""ONNX export (torch.onnx.export, dynamo=True) of every fastvfx op, of the
models in both backends and of converted upstream-style modules, run in ONNX
Runtime against the pure-PyTorch references; and streaming export
(fastvfx.export.stream_onnx / OnnxStream) against the PyTorch stream.

Exports are slow, so one export covers several variants of an op (one output
each), and each graph also runs at a batch size other than the exported one.
"""

import os
import re
import subprocess
import sys
import textwrap

import onnxruntime as ort
import pytest
import torch
from torch import nn
from torch.export import Dim
from torch.utils._pytree import tree_leaves, tree_map

import fastvfx
from conftest import assert_close_scaled
from fastvfx.export import OnnxStream, stream_onnx
from fastvfx.models import mobilenet_v2_tsm, movinet_a0, squeezetime
from fastvfx.ops.causal_dwconv3d import StreamState, causal_dwconv3d_reference, init_stream_state
from fastvfx.ops.depthwise_conv2d import depthwise_conv2d_reference
from fastvfx.ops.temporal_focus_conv2d import channel_scaled_conv2d_reference, temporal_focus_conv2d_reference
from fastvfx.ops.temporal_shift import (
    shift_conv1x1_reference,
    temporal_shift_online_reference,
    temporal_shift_reference,
)
from test_convert import PortConvBNAct, ResidualShiftBlock, UpstreamCTL, _randomize_norms


def _export(model, args, batch=None):
    """``torch.onnx.export`` as a user calls it (with ``batch`` as the dynamic
    first dim of every input tensor when given), loaded in ONNX Runtime.
    The example inputs must be distinct tensors (the exporter merges repeats)."""
    dynamic = None if batch is None else tree_map(lambda _: {0: batch}, tuple(args))
    program = torch.onnx.export(model.eval(), tuple(args), dynamo=True, verbose=False, dynamic_shapes=dynamic)
    return ort.InferenceSession(program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(session, *args):
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), tree_leaves(args), strict=True)}
    return [torch.from_numpy(y) for y in session.run(None, feeds)]


class _Calls(nn.Module):
    """forward(inputs) = one call per input tensor: ``calls[i](inputs[i], self)``,
    several outputs each allowed (flattened in order)."""

    def __init__(self, calls, **tensors):
        super().__init__()
        self.calls = calls
        for name, tensor in tensors.items():
            self.register_buffer(name, tensor)

    def forward(self, inputs):
        outputs = []
        for call, x in zip(self.calls, inputs):
            y = call(x, self)
            outputs += list(y) if isinstance(y, tuple) else [y]
        return tuple(outputs)


# ---------------------------------------------------------------------------
# Temporal shift family
# ---------------------------------------------------------------------------

# (channels, fold_div, mode): a part left unshifted, none left (2*fold = C),
# everything moving one way (fold_div 1: the second part is empty), fold 0
# (the identity), and the uni-directional shift.
SHIFTS = [(16, 8, "bidirectional"), (10, 4, "bidirectional"), (8, 2, "bidirectional"), (4, 1, "bidirectional"),
          (8, 16, "bidirectional"), (16, 8, "past"), (10, 3, "past"), (4, 1, "past")]


def _adjoint_reference(g, n_segment, fold_div, mode):
    """The reverse shift is the adjoint of the reference shift: its gradient."""
    x = torch.zeros_like(g, requires_grad=True)
    return torch.autograd.grad(temporal_shift_reference(x, n_segment, fold_div, mode), x, g)[0]


@pytest.mark.parametrize("n_segment", [3, 1])
def test_temporal_shift_every_mode(n_segment):
    cases = [(c, d, m, r) for c, d, m in SHIFTS for r in (False, True)]
    calls = [lambda x, _, d=d, m=m, r=r: torch.ops.fastvfx.temporal_shift(x, n_segment, d, m, r)
             for _, d, m, r in cases]
    clips = Dim("clips", min=1, max=64)
    session = _export(_Calls(calls), [[torch.randn(2 * n_segment, c, 3, 4) for c, *_ in cases]], n_segment * clips)
    for n_clips in (2, 3):
        inputs = [torch.randn(n_clips * n_segment, c, 3, 4) for c, *_ in cases]
        for y, x, (c, d, m, r) in zip(_run(session, *inputs), inputs, cases):
            expected = _adjoint_reference(x, n_segment, d, m) if r else temporal_shift_reference(x, n_segment, d, m)
            assert torch.equal(y, expected), (c, d, m, r, n_clips)


def test_temporal_shift_inplace_and_online():
    """The mutating ops, on intermediates (as the models use them) and on graph inputs."""
    fold = 2

    def on_intermediates(x, _):
        shifted = fastvfx.temporal_shift_(x * 2, 3, 8, "bidirectional")
        past = fastvfx.temporal_shift_(x * 3, 3, 8, "past")
        frame, cache = fastvfx.temporal_shift_online_(x * 4, x[:, 2:2 + fold] * 5)
        return shifted, past, frame, cache

    def on_inputs(x, _):
        return fastvfx.temporal_shift_(x, 3, 8, "bidirectional")

    def online_on_inputs(x, module):
        return fastvfx.temporal_shift_online_(x, module.cache)

    for calls, expect in [
        ([on_intermediates], lambda x, cache: [
            temporal_shift_reference(x * 2, 3), temporal_shift_reference(x * 3, 3, 8, "past"),
            *temporal_shift_online_reference(x * 4, x[:, 2:2 + fold] * 5)]),
        ([on_inputs], lambda x, cache: [temporal_shift_reference(x, 3)]),
    ]:
        session = _export(_Calls(calls), [[torch.randn(6, 16, 3, 3)]], 3 * Dim("clips", min=1, max=64))
        for n in (6, 9):
            x = torch.randn(n, 16, 3, 3)
            for y, expected in zip(_run(session, x), expect(x, None), strict=True):
                assert torch.equal(y, expected)
    # The cache a graph input too: the new cache comes out as an output.
    cache = torch.randn(4, fold, 3, 3)
    session = _export(_Calls([online_on_inputs], cache=cache), [[torch.randn(4, 16, 3, 3)]])
    x = torch.randn(4, 16, 3, 3)
    frame, new_cache = _run(session, x)
    expected_frame, expected_cache = temporal_shift_online_reference(x, cache)
    assert torch.equal(frame, expected_frame) and torch.equal(new_cache, expected_cache)


# (mode, fold_div, bias, 2-D weight)
SHIFT_CONVS = [("bidirectional", 8, True, False), ("bidirectional", 4, False, True), ("past", 8, True, True),
               ("past", 3, False, False)]


def test_shift_conv1x1_every_mode():
    weights = {f"w{i}": torch.randn(12, 16) if flat else torch.randn(12, 16, 1, 1)
               for i, (_, _, _, flat) in enumerate(SHIFT_CONVS)}
    biases = {f"b{i}": torch.randn(12) for i in range(len(SHIFT_CONVS))}
    calls = [lambda x, m, i=i, mode=mode, d=d, bias=bias: fastvfx.shift_conv1x1(
        x, getattr(m, f"w{i}"), getattr(m, f"b{i}") if bias else None, 3, d, mode)
        for i, (mode, d, bias, _) in enumerate(SHIFT_CONVS)]
    session = _export(_Calls(calls, **weights, **biases), [[torch.randn(6, 16, 3, 4) for _ in calls]],
                      3 * Dim("clips", min=1, max=64))
    for n in (6, 12):
        inputs = [torch.randn(n, 16, 3, 4) for _ in calls]
        for i, (y, x, (mode, d, bias, _)) in enumerate(zip(_run(session, *inputs), inputs, SHIFT_CONVS)):
            expected = shift_conv1x1_reference(x, weights[f"w{i}"], biases[f"b{i}"] if bias else None, 3, d, mode)
            assert_close_scaled(y, expected, 1e-5)


# ---------------------------------------------------------------------------
# Causal depthwise Conv3D
# ---------------------------------------------------------------------------

# (kernel, stride, padding, activation, bias, H, W): TF "same" on odd and even
# sizes (stride 2 on an even size pads the bottom / right only), even kernels,
# the (2+1)D shapes, symmetric integer padding, every activation.
DWCONVS = [((3, 3, 3), 1, "same", None, True, 6, 7), ((3, 3, 3), 2, "same", "relu", True, 8, 8),
           ((3, 3, 3), 2, "same", "swish", False, 7, 9), ((1, 5, 5), 2, "same", "hardswish", True, 8, 6),
           ((5, 1, 1), 1, "same", "relu6", True, 6, 7), ((2, 2, 2), 2, "same", "swish", True, 9, 8),
           ((3, 3, 3), 1, 1, "relu6", True, 6, 7), ((3, 3, 3), 2, (0, 1), None, False, 8, 8)]


def test_causal_dwconv3d_every_mode():
    channels = 5
    params = {}
    for i, (kernel, *_, bias, _, _) in enumerate(DWCONVS):
        params[f"w{i}"] = torch.randn(channels, 1, *kernel)
        params[f"b{i}"] = torch.randn(channels)
    calls = [lambda x, m, i=i, s=s, p=p, a=a, b=b: fastvfx.causal_dwconv3d(
        x, getattr(m, f"w{i}"), getattr(m, f"b{i}") if b else None, s, p, a)
        for i, (_, s, p, a, b, _, _) in enumerate(DWCONVS)]
    session = _export(_Calls(calls, **params), [[torch.randn(2, channels, 4, h, w) for *_, h, w in DWCONVS]],
                      Dim("batch", min=1, max=64))
    for n in (2, 3):
        inputs = [torch.randn(n, channels, 4, h, w) for *_, h, w in DWCONVS]
        for i, (y, x, (_, s, p, a, b, _, _)) in enumerate(zip(_run(session, *inputs), inputs, DWCONVS)):
            expected = causal_dwconv3d_reference(x, params[f"w{i}"], params[f"b{i}"] if b else None, s, p, a)
            assert_close_scaled(y, expected, 1e-5)


# (kernel, stride, padding, activation, bias, H, W): MobileNetV2's 3x3 with
# ReLU6, TF "same" on odd / even sizes at stride 2, symmetric padding.
DWCONVS_2D = [((3, 3), 1, 1, "relu6", True, 7, 9), ((3, 3), 2, 1, "relu6", False, 8, 8),
              ((3, 3), 2, "same", "hardswish", True, 8, 7), ((5, 5), 1, "same", "swish", True, 6, 6),
              ((3, 3), 2, (0, 1), None, False, 9, 8), ((3, 3), 1, 1, "relu", True, 5, 5)]


def test_depthwise_conv2d_every_mode():
    channels = 6
    params = {}
    for i, (kernel, *_, bias, _, _) in enumerate(DWCONVS_2D):
        params[f"w{i}"] = torch.randn(channels, 1, *kernel)
        params[f"b{i}"] = torch.randn(channels)
    calls = [lambda x, m, i=i, s=s, p=p, a=a, b=b: fastvfx.depthwise_conv2d(
        x, getattr(m, f"w{i}"), getattr(m, f"b{i}") if b else None, s, p, a)
        for i, (_, s, p, a, b, _, _) in enumerate(DWCONVS_2D)]
    session = _export(_Calls(calls, **params), [[torch.randn(2, channels, h, w) for *_, h, w in DWCONVS_2D]],
                      Dim("batch", min=1, max=64))
    for n in (2, 3):
        inputs = [torch.randn(n, channels, h, w) for *_, h, w in DWCONVS_2D]
        for i, (y, x, (_, s, p, a, b, _, _)) in enumerate(zip(_run(session, *inputs), inputs, DWCONVS_2D)):
            expected = depthwise_conv2d_reference(x, params[f"w{i}"], params[f"b{i}"] if b else None, s, p, a)
            assert_close_scaled(y, expected, 1e-5)


def test_causal_dwconv3d_check_vector():
    """DESIGN.md's check vector: ones (1,1,4,2,2), ones weight (1,1,3,3,3), stride 2, "same" -> 4, 8, 12, 12."""
    session = _export(_Calls([lambda x, m: fastvfx.causal_dwconv3d(x, m.weight, None, 2, "same")],
                             weight=torch.ones(1, 1, 3, 3, 3)), [[torch.ones(1, 1, 4, 2, 2)]])
    (y,) = _run(session, torch.ones(1, 1, 4, 2, 2))
    assert y.flatten().tolist() == [4.0, 8.0, 12.0, 12.0]


def test_causal_dwconv3d_step_carries_the_ring():
    """The streaming step (state in, state out; with and without ``out``),
    frame by frame in ONNX Runtime: outputs equal the full clip, and the ring
    buffer and position equal those of the eager kernel."""
    channels, kernel, h, w = 4, (3, 3, 3), 7, 6

    class Step(nn.Module):
        def __init__(self, use_out):
            super().__init__()
            self.use_out = use_out
            self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

        def forward(self, x, buffer, position):
            state = StreamState(buffer.clone(), position.clone(), x.new_empty((0,)))
            out = x.new_empty(x.size(0), channels, 1, 4, 3) if self.use_out else None
            y = fastvfx.causal_dwconv3d_step(x, self.weight, self.bias, state, 2, "same", "relu", out=out)
            return y, state.buffer, state.position

    weight, bias = torch.randn(channels, 1, *kernel), torch.randn(channels)
    clip = torch.randn(2, channels, 6, h, w)
    expected = causal_dwconv3d_reference(clip, weight, bias, 2, "same", "relu")
    fresh = init_stream_state(2, channels, kernel[0], h, w)
    for use_out in (False, True):
        session = _export(Step(use_out).eval(), [clip[:, :, :1], fresh.buffer, fresh.position])
        eager = init_stream_state(2, channels, kernel[0], h, w)
        buffer, position = fresh.buffer.clone(), fresh.position.clone()
        for t in range(clip.size(2)):
            y, buffer, position = _run(session, clip[:, :, t:t + 1], buffer, position)
            fastvfx.causal_dwconv3d_step(clip[:, :, t:t + 1], weight, bias, eager, 2, "same", "relu")
            assert_close_scaled(y, expected[:, :, t:t + 1], 1e-5)
            assert torch.equal(buffer, eager.buffer) and torch.equal(position, eager.position)


# ---------------------------------------------------------------------------
# Temporal Focus Convolution
# ---------------------------------------------------------------------------

# (kernel, stride, padding, pool, 2-D fc weights, fc1 bias, fc2 bias, bias)
TFCS = [(1, 1, 0, "avg", True, True, False, False), (1, 1, 0, "max", False, True, True, True),
        (3, 1, 1, "avg", False, False, True, True), (3, 2, 1, "max", True, True, False, True),
        (1, 2, 0, "avg", True, True, True, False)]


def test_temporal_focus_conv2d_every_mode():
    cin, hidden, cout = 12, 6, 10
    params, args = {}, []
    for i, (k, s, p, pool, flat, b1, b2, b) in enumerate(TFCS):
        shape1, shape2 = ((hidden, cin), (cin, hidden)) if flat else ((hidden, cin, 1, 1), (cin, hidden, 1, 1))
        params.update({f"w{i}": torch.randn(cout, cin, k, k) / k, f"fc1_{i}": torch.randn(shape1),
                       f"fc1b_{i}": torch.randn(hidden), f"fc2_{i}": torch.randn(shape2) / 2,
                       f"fc2b_{i}": torch.randn(cin), f"b{i}": torch.randn(cout)})
        args.append(lambda m, i=i, b1=b1, b2=b2, b=b: (
            getattr(m, f"w{i}"), getattr(m, f"fc1_{i}"), getattr(m, f"fc1b_{i}") if b1 else None,
            getattr(m, f"fc2_{i}"), getattr(m, f"fc2b_{i}") if b2 else None, getattr(m, f"b{i}") if b else None))
    calls = [lambda x, m, a=a, s=s, p=p, pool=pool: fastvfx.temporal_focus_conv2d(x, *a(m), s, p, pool)
             for a, (_, s, p, pool, *_) in zip(args, TFCS)]
    module = _Calls(calls, **params)
    session = _export(module, [[torch.randn(2, cin, 7, 8) for _ in TFCS]], Dim("batch", min=1, max=64))
    for n in (2, 5):
        inputs = [torch.randn(n, cin, 7, 8) for _ in TFCS]
        outputs = _run(session, *inputs)
        for i, (x, a, (_, s, p, pool, *_)) in enumerate(zip(inputs, args, TFCS)):
            y, scale = temporal_focus_conv2d_reference(x, *a(module), s, p, pool)
            assert_close_scaled(outputs[2 * i], y, 1e-5)
            assert_close_scaled(outputs[2 * i + 1], scale, 1e-5)


# (kernel, stride, padding, 4-D scale, bias)
SCALED_CONVS = [(1, 1, 0, False, True), (3, 2, 1, True, False), (3, 1, (1, 0), False, True)]


def test_channel_scaled_conv2d_every_mode():
    cin, cout = 8, 6
    params = {f"w{i}": torch.randn(cout, cin, k, k) for i, (k, *_) in enumerate(SCALED_CONVS)}
    params.update({f"b{i}": torch.randn(cout) for i in range(len(SCALED_CONVS))})

    def call(i, s, p, four_d, b):
        def run(xs, m):
            x, scale = xs[:, :, 1:], xs[:, :, 0, :1]  # (N, C, H, W) and (N, C, 1) packed in one input
            scale = scale[..., None] if four_d else scale[..., 0]
            return fastvfx.channel_scaled_conv2d(x, scale, getattr(m, f"w{i}"), getattr(m, f"b{i}") if b else None,
                                                 s, p)
        return run

    calls = [call(i, *case[1:]) for i, case in enumerate(SCALED_CONVS)]
    session = _export(_Calls(calls, **params), [[torch.rand(2, cin, 8, 7) for _ in calls]], Dim("batch", min=1, max=64))
    for n in (2, 3):
        inputs = [torch.rand(n, cin, 8, 7) for _ in calls]
        for i, (y, xs, (_, s, p, _, b)) in enumerate(zip(_run(session, *inputs), inputs, SCALED_CONVS)):
            expected = channel_scaled_conv2d_reference(xs[:, :, 1:], xs[:, :, 0, 0], params[f"w{i}"],
                                                       params[f"b{i}"] if b else None, s, p)
            assert_close_scaled(y, expected, 1e-5)


# ---------------------------------------------------------------------------
# The user's plain call, in a fresh process
# ---------------------------------------------------------------------------


def test_plain_export_call_in_a_fresh_process(tmp_path):
    """``torch.onnx.export(model, args, path, dynamo=True)``, nothing else:
    importing fastvfx does not import onnxscript, and the translations are
    there when the exporter loads its registry."""
    script = textwrap.dedent("""
        import sys
        import torch
        import fastvfx
        assert "onnxscript" not in sys.modules
        model = fastvfx.nn.TemporalShift(torch.nn.Conv2d(16, 8, 1), n_segment=3).eval()
        x = torch.randn(6, 16, 5, 5)
        torch.onnx.export(model, (x,), sys.argv[1], dynamo=True)
        torch.save({"x": x, "weight": model.net.weight, "bias": model.net.bias}, sys.argv[2])
    """)
    path, tensors = tmp_path / "model.onnx", tmp_path / "tensors.pt"
    subprocess.run([sys.executable, "-c", script, str(path), str(tensors)], check=True, capture_output=True,
                   cwd=tmp_path)  # not the source tree, which has no compiled _C
    saved = torch.load(tensors)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = _run(session, saved["x"])
    assert_close_scaled(y, shift_conv1x1_reference(saved["x"], saved["weight"], saved["bias"], 3), 1e-5)


def test_import_needs_neither_numpy_nor_onnx():
    """numpy, onnx and onnxruntime are test / bench extras: `import fastvfx`
    (which imports fastvfx.export) and the ops work without them."""
    script = textwrap.dedent("""
        import sys
        for name in ("numpy", "onnx", "onnxruntime", "onnxscript"):
            sys.modules[name] = None  # importing it now raises ImportError
        import torch
        import fastvfx
        y = fastvfx.temporal_shift(torch.arange(16.0).reshape(4, 4, 1, 1), n_segment=2, fold_div=4)
        assert y[0, 0, 0, 0].item() == 4.0
    """)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, cwd=os.path.dirname(__file__))


def test_torch_export_graphs_keep_the_fastvfx_ops():
    """The translations live in the ONNX exporter's registry, not in the model:
    torch.export graphs (for AOTInductor and others) still call the fastvfx ops."""
    model = fastvfx.nn.TemporalShift(nn.Conv2d(16, 8, 1), n_segment=3).eval()
    graph = torch.export.export(model, (torch.randn(6, 16, 5, 5),)).graph
    assert torch.ops.fastvfx.shift_conv1x1.default in {node.target for node in graph.nodes}


# ---------------------------------------------------------------------------
# Models and converted modules
# ---------------------------------------------------------------------------

SIZE = 32


def _tsm(backend, randomize_batchnorm):
    model = mobilenet_v2_tsm(9, n_segment=3, backend=backend)
    return randomize_batchnorm(model, torch.randn(4 * 3, 3, SIZE, SIZE)), 3 * Dim("clips", min=1, max=16), \
        lambda n: torch.randn(n * 3, 3, SIZE, SIZE)


def _movinet(conv_type):
    def build(backend, randomize_batchnorm):
        model = movinet_a0(7, conv_type=conv_type, backend=backend)
        randomize_batchnorm(model, torch.randn(2, 3, 4, SIZE, SIZE), var_floor=0.3)
        return model, Dim("batch", min=1, max=16), lambda n: torch.randn(n, 3, 4, SIZE, SIZE)
    return build


def _squeezetime(backend, randomize_batchnorm):
    model = squeezetime(9, frames=4, backend=backend)
    nn.init.normal_(model.fc_cls.weight, 0, 0.2)
    randomize_batchnorm(model, torch.randn(4, 3, 4, SIZE, SIZE), var_floor=0.3)
    return model, Dim("batch", min=1, max=16), lambda n: torch.randn(n, 3, 4, SIZE, SIZE)


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
@pytest.mark.parametrize("build", [_tsm, _movinet("3d"), _movinet("2plus1d"), _squeezetime],
                         ids=["mobilenet_v2_tsm", "movinet_a0_3d", "movinet_a0_2plus1d", "squeezetime"])
def test_models_export(build, backend, randomize_batchnorm):
    """Models in eval mode, the tolerance of the models' own tests (1e-4 of the
    logits' scale: deep random networks amplify float32 rounding)."""
    model, batch, clip = build(backend, randomize_batchnorm)
    session = _export(model, [clip(2)], batch)
    for n in (2, 3):
        x = clip(n)
        with torch.no_grad():
            expected = model(x)
        (y,) = _run(session, x)
        assert_close_scaled(y, expected)


def _converted_shift_block(kernel):
    def build():
        upstream = _randomize_norms(ResidualShiftBlock(16, 3, kernel)).eval()
        return upstream, 3 * Dim("clips", min=1, max=16), lambda n: torch.randn(3 * n, 16, 6, 6)
    return build


def _converted_port_conv(grad):
    def build():
        upstream = _randomize_norms(PortConvBNAct(6, (3, 3, 3), 2, True, nn.SiLU)).eval()
        return upstream, Dim("batch", min=1, max=16), lambda n: torch.randn(n, 6, 4, 8, 7)
    return build, grad


def _converted_ctl():
    upstream = _randomize_norms(UpstreamCTL(16, pos_dim=7)).eval()
    return upstream, Dim("batch", min=1, max=16), lambda n: torch.randn(n, 16, 8, 8)


@pytest.mark.parametrize("case", [
    (_converted_shift_block(1), True), (_converted_shift_block(3), True), _converted_port_conv(True),
    _converted_port_conv(False), (_converted_ctl, True)],
    ids=["tsm_shift_conv1x1", "tsm_shift_conv3x3", "movinet_port_causal_conv", "movinet_port_causal_conv_no_grad",
         "squeezetime_ctl"])
def test_converted_modules_export(case):
    """Look-alikes of upstream modules after fastvfx.convert(), against the
    upstream module itself. The port's causal conv keeps a buffer of past
    frames between calls: a graph is one call from the start of a video,
    traced either with gradients (the fused full-clip op) or without (the
    streaming step)."""
    build, grad = case
    upstream, batch, clip = build()
    converted = fastvfx.convert(upstream)
    assert converted.fastvfx_conversion.replaced
    x = clip(2)
    with torch.set_grad_enabled(grad):
        session = _export(converted, [x], batch)
    for n in (2, 3):
        x = clip(n)
        for module in upstream.modules():
            if hasattr(module, "reset_activation"):
                module.reset_activation()
        with torch.no_grad():
            expected = upstream(x)
        (y,) = _run(session, x)
        assert_close_scaled(y, expected, 1e-5)


# ---------------------------------------------------------------------------
# Streaming export
# ---------------------------------------------------------------------------

FRAMES = 50


def _stream_tsm(randomize_batchnorm):
    model = mobilenet_v2_tsm(9, n_segment=4, online=True, backend="fastvfx")
    randomize_batchnorm(model, torch.randn(8, 3, SIZE, SIZE))
    return model, model.init_states(1, SIZE, SIZE), lambda frame: frame


def _stream_movinet(conv_type):
    def build(randomize_batchnorm):
        model = movinet_a0(7, conv_type=conv_type, backend="fastvfx")
        randomize_batchnorm(model, torch.randn(2, 3, 4, SIZE, SIZE), var_floor=0.3)
        return model, model.init_states(1, SIZE, SIZE), lambda frame: frame.unsqueeze(2)
    return build


@pytest.mark.parametrize("build", [_stream_tsm, _stream_movinet("3d"), _stream_movinet("2plus1d")],
                         ids=["mobilenet_v2_tsm_online", "movinet_a0_3d", "movinet_a0_2plus1d"])
def test_stream_onnx_steps_like_pytorch(build, randomize_batchnorm, tmp_path):
    model, states, as_step_input = build(randomize_batchnorm)
    path = tmp_path / "step.onnx"
    names = stream_onnx(model, path, (1, 3, SIZE, SIZE))
    assert model.backend == "fastvfx"  # the model itself is left as it was

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    stream = OnnxStream(path, threads=1, session_options=options)
    used = stream.session.get_session_options()  # the given options, threads set on top
    assert used.intra_op_num_threads == 1
    assert used.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    inputs = {i.name: i for i in stream.session.get_inputs()}
    assert list(inputs) == ["frame", *names] == ["frame", *stream.state_names]
    assert all(len(inputs[name].shape) <= 4 for name in names)
    patterns = [r"features\.\d+\.shift_cache", r"blocks\.\d+\.deep\.\d\.last_[124]_frames",
                r"blocks\.\d+\.se\.frame_mean_sum", r"head\.frame_mean_sum", r"frames_seen"]
    assert all(any(re.fullmatch(p, name) for p in patterns) for name in names), names

    frames = torch.randn(FRAMES, 1, 3, SIZE, SIZE)
    first = None
    for t, frame in enumerate(frames):
        with torch.no_grad():
            expected, states = model.step(as_step_input(frame.clone()), states)
        logits = torch.from_numpy(stream(frame))
        assert_close_scaled(logits, expected)
        first = logits if first is None else first
    stream.reset()
    assert torch.equal(torch.from_numpy(stream(frames[0])), first)
    with pytest.raises(ValueError, match="frames of shape"):
        stream(torch.randn(1, 3, SIZE + 1, SIZE))


def test_stream_onnx_rejects_models_that_do_not_stream(tmp_path):
    with pytest.raises(ValueError, match="online=True"):
        stream_onnx(mobilenet_v2_tsm(5, n_segment=2), tmp_path / "x.onnx", (1, 3, SIZE, SIZE))
    with pytest.raises(ValueError, match="stream=True"):
        stream_onnx(movinet_a0(5, stream=False), tmp_path / "x.onnx", (1, 3, SIZE, SIZE))
    with pytest.raises(TypeError, match="SqueezeTime"):
        stream_onnx(squeezetime(5, frames=4), tmp_path / "x.onnx", (1, 3, SIZE, SIZE))
    with pytest.raises(ValueError, match="frame_shape"):
        stream_onnx(movinet_a0(5), tmp_path / "x.onnx", (1, 3, 4, SIZE, SIZE))


def test_onnx_stream_rejects_other_graphs(tmp_path):
    path = tmp_path / "shift.onnx"
    torch.onnx.export(fastvfx.nn.TemporalShift(n_segment=2), (torch.randn(2, 8, 3, 3),), path, dynamo=True,
                      verbose=False)
    with pytest.raises(ValueError, match="not a stream_onnx graph"):
        OnnxStream(path)
