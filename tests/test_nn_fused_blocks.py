"""fastvfx.nn's fused block pieces (ConvBNAct, FoldedSequential,
CausalDepthwiseConv3dBNAct, CausalSqueezeExcitation) against the plain
PyTorch chains they replace, written out here."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import assert_close_scaled
from fastvfx import nn as fnn
from fastvfx.ops.temporal_shift import temporal_shift_reference


def _randomize(module: nn.Module) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, eval mode."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return module.eval()


def _tf_same(x, kernel, stride):
    """TF "same" padding, written out: the odd pixel goes bottom / right."""
    pads = []
    for size, k, s in zip(reversed(x.shape[-2:]), reversed(kernel), reversed(stride)):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


@pytest.mark.parametrize("kernel, stride, shape", [
    (1, 1, (1, 8, 1, 9, 9)), (1, 1, (2, 8, 3, 9, 9)), (3, 2, (1, 8, 1, 9, 10)), (3, 2, (2, 8, 2, 9, 9)),
])
def test_conv_bn_act_3d_equals_chain(kernel, stride, shape):
    conv = nn.Conv3d(8, 12, (1, kernel, kernel), (1, stride, stride), bias=False)
    module = _randomize(fnn.ConvBNAct(conv, nn.BatchNorm3d(12, eps=1e-3), nn.Hardswish(), tf_same=True))
    x = torch.randn(shape)
    with torch.no_grad():
        want = F.hardswish(module.bn(conv(_tf_same(x, (kernel, kernel), (stride, stride)))))
        assert_close_scaled(module(x), want, 1e-5)
        scale = torch.rand(shape[0], 8, 1, 1, 1)
        if shape[2] == 1 and kernel == 1:
            want = F.hardswish(module.bn(conv(x * scale)))
            assert_close_scaled(module.scaled(x, scale), want, 1e-5)


def test_conv_bn_act_2d_and_training():
    conv = nn.Conv2d(6, 10, 3, 2, 1, bias=True)
    module = _randomize(fnn.ConvBNAct(conv, nn.BatchNorm2d(10), nn.ReLU6()))
    reference = nn.Sequential(conv, module.bn, nn.ReLU6())
    x = torch.randn(2, 6, 11, 11)
    with torch.no_grad():
        assert_close_scaled(module(x), reference(x), 1e-5)
    module.train(), reference.train()
    assert_close_scaled(module(x), reference(x), 1e-5)  # batch statistics, as the chain


def test_conv_bn_act_fold_follows_changes():
    """The cached fold is recomputed when a statistic changes in place (also by a training-mode forward) or the
    module changes dtype."""
    module = _randomize(fnn.ConvBNAct(nn.Conv2d(4, 4, 1, bias=False), nn.BatchNorm2d(4)))
    x = torch.randn(1, 4, 5, 5)
    with torch.no_grad():
        before = module(x)
        module.bn.running_mean.add_(1.0)
        after = module(x)
        assert_close_scaled(after, module.bn(module.conv(x)), 1e-5)
        assert not torch.allclose(before, after)
        module.train()
        module(torch.randn(2, 4, 5, 5) * 3.0)  # writes the running statistics without moving their versions
        module.eval()
        assert_close_scaled(module(x), module.bn(module.conv(x)), 1e-5)
        assert not torch.allclose(module(x), after)
        module.double()
        assert module(x.double()).dtype == torch.float64


def test_conv_bn_act_bad_arguments():
    with pytest.raises(ValueError, match="time extent"):
        fnn.ConvBNAct(nn.Conv3d(4, 4, 3), nn.BatchNorm3d(4))
    with pytest.raises(TypeError, match="Conv2d or nn.Conv3d"):
        fnn.ConvBNAct(nn.Linear(4, 4), nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="no fused form"):
        fnn.ConvBNAct(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.GELU())


def _inverted_residual_layers(shift: bool, depthwise_stride: int = 2):
    first = nn.Conv2d(16, 48, 1, bias=False)
    layers = [fnn.TemporalShift(first, 4, 8) if shift else first, nn.BatchNorm2d(48), nn.ReLU6(inplace=True),
              nn.Conv2d(48, 48, 3, depthwise_stride, 1, groups=48, bias=False), nn.BatchNorm2d(48),
              nn.ReLU6(inplace=True),
              nn.Conv2d(48, 24, 1, bias=False), nn.BatchNorm2d(24)]
    return layers


@pytest.fixture(params=["onednn", "plain"])
def conv_path(request, monkeypatch):
    """Eval-mode inference on the oneDNN path (where torch has it) and on the
    plain path, which every other case (gradients, float64, autocast) takes."""
    from fastvfx.nn import _onednn

    if request.param == "plain":
        monkeypatch.setattr(_onednn, "usable", lambda x: False)
    elif not _onednn._AVAILABLE:
        pytest.skip(reason="oneDNN is not available in this torch")
    return request.param


# Plain path: 10x10 keeps the depthwise conv on torch's conv2d in NCHW; 60x60
# (an output width of 30 or 60) and channels_last take fastvfx.depthwise_conv2d.
@pytest.mark.parametrize("size,stride,layout", [(10, 2, "nchw"), (60, 1, "nchw"), (60, 2, "nchw"),
                                                (10, 2, "channels_last")])
@pytest.mark.parametrize("shift", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_folded_sequential_equals_sequential(shift, training, size, stride, layout, conv_path):
    layers = _inverted_residual_layers(shift, stride)
    folded = _randomize(fnn.FoldedSequential(*layers)).train(training)
    plain = nn.Sequential(*layers).train(training)
    assert list(folded.state_dict()) == list(plain.state_dict())
    x = torch.randn(8, 16, size, size)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.set_grad_enabled(training):
        want = plain(x)
        assert_close_scaled(folded(x), want, 1e-5)
    if not shift:
        with torch.no_grad():
            want = plain(temporal_shift_reference(x, 4, 8, "past"))
            assert_close_scaled(folded.shifted(x, 4, 8, "past"), want, 1e-5)


def test_folded_sequential_rejects_other_layers():
    with pytest.raises(TypeError, match="layer 0"):
        fnn.FoldedSequential(nn.MaxPool2d(2), nn.BatchNorm2d(4))


def _causal_reference(unit, x):
    """Causal depthwise conv + BN + act, written out: kT-1 zero frames in front."""
    kt = unit.kernel[0]
    padded = _tf_same(F.pad(x, (0, 0, 0, 0, kt - 1, 0)), unit.kernel[1:], (unit.stride,) * 2)
    return F.silu(unit.bn(unit.conv(padded)))


def test_causal_unit_forward_and_step():
    unit = _randomize(fnn.CausalDepthwiseConv3dBNAct(8, (3, 3, 3), 2, nn.SiLU))
    x = torch.randn(2, 8, 5, 9, 9)
    with torch.no_grad():
        want = _causal_reference(unit, x)
        assert_close_scaled(unit(x), want, 1e-5)
        state = unit.init_state(2, 9, 9)
        got = [unit.step(x[:, :, a:b], state)[0] for a, b in ((0, 1), (1, 3), (3, 5))]
        assert_close_scaled(torch.cat(got, dim=2), want, 1e-5)


def _se_reference(se, x):
    """MoViNet's causal SE, written out: cumulative mean over frames, two 1x1x1 convs, gate."""
    means = x.mean((3, 4), keepdim=True)
    pooled = means.cumsum(2) / torch.arange(1, x.size(2) + 1).view(1, 1, -1, 1, 1)
    if se.both_pools:
        pooled = torch.cat((pooled, means), 1)
    return se.gate(se.fc2(se.act(se.fc1(pooled))))


@pytest.mark.parametrize("both_pools, activation, gate", [(False, nn.SiLU, nn.Sigmoid),
                                                          (True, nn.Hardswish, nn.Hardsigmoid)])
def test_causal_squeeze_excitation(both_pools, activation, gate):
    se = fnn.CausalSqueezeExcitation(16, 8, activation, gate, both_pools).eval()
    x = torch.randn(2, 16, 4, 5, 5)
    with torch.no_grad():
        want = _se_reference(se, x)
        assert_close_scaled(se.scale(x)[0], want, 1e-5)
        total = torch.zeros(2, 16, 1, 1, 1)
        for t in range(4):  # frame by frame, with the running sum and the frame number
            got, total = se.scale(x[:, :, t:t + 1], total, torch.tensor([t + 1]))
            assert_close_scaled(got, want[:, :, t:t + 1], 1e-5)
    with pytest.raises(ValueError, match="gate"):
        fnn.CausalSqueezeExcitation(16, 8, activation, nn.ReLU, both_pools)


@pytest.mark.parametrize("size,layout,expected", [(60, "nchw", True), (10, "nchw", False),
                                                  (10, "channels_last", True)])
def test_folded_sequential_routes_wide_depthwise_to_fastvfx(monkeypatch, size, layout, expected):
    """Off the oneDNN path, eval mode runs a depthwise conv with an output at
    least 28 wide (or on channels_last input) as fastvfx.depthwise_conv2d,
    with the ReLU6 fused."""
    from fastvfx.nn import _onednn, folded_sequential

    monkeypatch.setattr(_onednn, "usable", lambda x: False)
    calls = []
    real = folded_sequential.depthwise_conv2d

    def spy(*args):
        calls.append(args[-1])
        return real(*args)

    monkeypatch.setattr(folded_sequential, "depthwise_conv2d", spy)
    folded = _randomize(fnn.FoldedSequential(*_inverted_residual_layers(False, 1))).eval()
    x = torch.randn(2, 16, size, size)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        folded(x)
    assert calls == (["relu6"] if expected else [])


def _spy_onednn(monkeypatch):
    """Records (input shape, activation) of every conv call of the inference
    path: oneDNN's (grouped convs) and fastvfx.fused_conv2d's (dense ones)."""
    from fastvfx.nn import _onednn

    calls = []
    real, real_fused = _onednn.conv2d, _onednn.fused

    def spy(x, conv, activation=None):
        calls.append((tuple(x.shape), activation))
        return real(x, conv, activation)

    def spy_fused(module, slot, x, conv, weight, bias, activation=None, *rest):
        calls.append((tuple(x.shape), activation))
        return real_fused(module, slot, x, conv, weight, bias, activation, *rest)

    monkeypatch.setattr(_onednn, "conv2d", spy)
    monkeypatch.setattr(_onednn, "fused", spy_fused)
    return calls


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch has no oneDNN")
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_folded_sequential_onednn_path(monkeypatch, layout):
    """Inference runs each conv with its activation as one call (1x1 convs on
    fastvfx.fused_conv2d, the depthwise one in oneDNN), keeps the input's
    layout, goes through a large batch in chunks with the same result, and
    repacks when a weight or statistic changes."""
    from fastvfx.nn import folded_sequential

    calls = _spy_onednn(monkeypatch)
    layers = _inverted_residual_layers(True, 1)
    folded = _randomize(fnn.FoldedSequential(*layers))
    plain = nn.Sequential(*layers).eval()
    x = torch.randn(8, 16, 12, 12)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    x = x.contiguous(memory_format=fmt)
    with torch.no_grad():
        y = folded(x)
        assert_close_scaled(y, plain(x), 1e-5)
        assert y.is_contiguous(memory_format=fmt)
        assert [a for _, a in calls] == ["relu6", "relu6", None]
        calls.clear()
        # 48 channels of 12x12 float32 per frame: 4 frames per 27 KB chunk.
        monkeypatch.setattr(folded_sequential, "_CHUNK_BYTES", 4 * 48 * 12 * 12 * 4)
        assert_close_scaled(folded(x), y, 1e-6)
        assert [s[0] for s, _ in calls] == [4] * 6
        layers[1].running_var.mul_(4.0)
        layers[6].weight.add_(0.5)
        assert_close_scaled(folded(x), plain(x), 1e-5)
        assert not torch.allclose(folded(x), y)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch has no oneDNN")
def test_folded_sequential_off_onednn_path(monkeypatch):
    """Gradients, float64 and autocast take the plain path (the oneDNN op has
    no autograd, float64 or autocast rule); the results stay right."""
    calls = _spy_onednn(monkeypatch)
    layers = _inverted_residual_layers(False, 1)
    folded = _randomize(fnn.FoldedSequential(*layers))
    plain = nn.Sequential(*layers).eval()
    x = torch.randn(2, 16, 12, 12, requires_grad=True)
    assert_close_scaled(folded(x), plain(x), 1e-5)
    folded(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with torch.no_grad():
        folded.double()
        plain.double()
        assert_close_scaled(folded(x.double()), plain(x.double()), 1e-10)
        folded.float()
        plain.float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert folded(x).dtype == torch.bfloat16
    assert calls == []
