"""fastvfx.convert on each supported pattern, against look-alikes of the
upstream modules built from their documented structure, and no-op on
everything else."""

from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import fastvfx
from conftest import assert_close_scaled
from fastvfx.models import mobilenet_v2_tsm, movinet_a0, squeezetime
from fastvfx.models.squeezetime import ChannelTimeConv
from fastvfx.ops.temporal_focus_conv2d import TemporalFocusConv2dReference
from fastvfx.ops.temporal_shift import temporal_shift_reference


# ---------------------------------------------------------------------------
# Look-alikes of upstream modules
# ---------------------------------------------------------------------------


class TSMShift(nn.Module):
    """Shaped like TSM's TemporalShift: (net, n_segment, n_div, inplace), attributes net / n_segment / fold_div."""

    def __init__(self, net, n_segment=3, n_div=8, inplace=False):
        super().__init__()
        self.net, self.n_segment, self.fold_div, self.inplace = net, n_segment, n_div, inplace

    def forward(self, x):
        return self.net(temporal_shift_reference(x, self.n_segment, self.fold_div))


class ResidualShiftBlock(nn.Module):
    def __init__(self, channels, n_segment, kernel):
        super().__init__()
        self.conv1 = TSMShift(nn.Conv2d(channels, channels, kernel, padding=kernel // 2), n_segment)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.bn1(self.conv1(x))))


class CausalModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.activation = None

    def reset_activation(self):
        self.activation = None


class PortCausalConv3D(CausalModule):
    """Shaped like MoViNet's PyTorch port: conv_1, dim_pad, conv_type; the last
    kT-1 input frames stay in ``activation`` between calls."""

    def __init__(self, channels, kernel, stride, padding):
        super().__init__()
        self.conv_1 = nn.Conv3d(channels, channels, kernel, (1, stride, stride), (0, padding, padding),
                                groups=channels, bias=False)
        self.kernel_size = kernel
        self.dim_pad = kernel[0] - 1
        self.conv_type = "3d"

    def forward(self, x):
        if self.dim_pad > 0:
            if self.activation is None:
                self.activation = x.new_zeros(x.size(0), x.size(1), self.dim_pad, x.size(3), x.size(4))
            x = torch.cat((self.activation, x), dim=2)
            self.activation = x[:, :, -self.dim_pad:].clone().detach()
        return self.conv_1(x)


class PortConvBNAct(nn.Sequential):
    def __init__(self, channels, kernel, stride, tf_like, activation):
        padding = 0 if tf_like else kernel[1] // 2
        super().__init__(OrderedDict(conv3d=PortCausalConv3D(channels, kernel, stride, padding),
                                     norm=nn.BatchNorm3d(channels, eps=1e-3), act=activation()))
        self.tf_like, self.stride, self.kernel = tf_like, stride, kernel

    def forward(self, x):
        if self.tf_like:
            x = fastvfx.nn.conv_bn_act.tf_same_pad(x, self.kernel[1:], (self.stride, self.stride))
        return super().forward(x)


class UpstreamIOI(nn.Module):
    def __init__(self, dim_in, dim_out, pos_dim):
        super().__init__()
        self.short_conv = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.glo_conv = nn.Sequential(
            nn.Conv2d(dim_in, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 7, 1, 3), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, dim_out, 3, 1, 1), nn.Sigmoid())
        self.pos_embed = nn.Parameter(torch.randn(1, 16, pos_dim, pos_dim))

    def forward(self, x, param):
        short = self.short_conv(x)
        x = x * param
        for i, layer in enumerate(self.glo_conv):
            if i == 3:
                pos = self.pos_embed
                if pos.shape[2:] != x.shape[2:]:
                    pos = F.interpolate(pos, size=x.shape[2:], mode="bilinear", align_corners=True)
                x = x + pos
            x = layer(x)
        return short * x


class UpstreamCTL(nn.Module):
    def __init__(self, channels, pos_dim=7):
        super().__init__()
        self.param_conv = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 1, bias=False), nn.Sigmoid())
        self.temporal_conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.spatial_conv = UpstreamIOI(channels, channels, pos_dim)

    def forward(self, x):
        param = self.param_conv(x)
        return self.temporal_conv(param * x) + self.spatial_conv(x, param)


def _randomize_norms(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.7, 1.3)
                m.bias.normal_(0, 0.1)
    return model


# ---------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", [1, 3])
@pytest.mark.parametrize("training", [False, True])
def test_tsm_shift_wrapper(kernel, training):
    model = nn.Sequential(ResidualShiftBlock(32, 4, kernel), ResidualShiftBlock(32, 4, kernel)).train(training)
    _randomize_norms(model)
    converted = fastvfx.convert(model)
    assert all(type(block.conv1) is fastvfx.nn.TemporalShift for block in converted)
    assert converted[0].conv1.net is not model[0].conv1.net  # a copy: the original is untouched
    assert type(model[0].conv1) is TSMShift
    summary = converted.fastvfx_conversion
    assert len(summary) == 2 and ("shift on read" in str(summary)) == (kernel == 1)
    x = torch.randn(8, 32, 12, 12, requires_grad=True)
    y_ref, y_new = model(x), converted(x)
    assert_close_scaled(y_new, y_ref)
    (g_ref,) = torch.autograd.grad(y_ref.square().sum(), x)
    (g_new,) = torch.autograd.grad(y_new.square().sum(), x)
    assert_close_scaled(g_new, g_ref)


@pytest.mark.parametrize("tf_like, stride, kernel", [(True, 1, (3, 3, 3)), (True, 2, (5, 3, 3)),
                                                     (False, 1, (3, 3, 3)), (False, 2, (3, 5, 5))])
@pytest.mark.parametrize("activation", [nn.SiLU, nn.Hardswish])
def test_port_causal_conv_eval_streams_like_upstream(tf_like, stride, kernel, activation):
    model = nn.Sequential(PortConvBNAct(24, kernel, stride, tf_like, activation), nn.Conv3d(24, 8, 1)).eval()
    _randomize_norms(model)
    converted = fastvfx.convert(model)
    layer = converted[0]
    # The port's module stays itself (its reset code looks for CausalModule),
    # only its conv is fastvfx's.
    assert type(layer.conv3d) is PortCausalConv3D and type(layer.norm) is nn.Identity and type(layer.act) is nn.Identity
    assert type(layer.conv3d.conv_1) is fastvfx.nn.CausalDepthwiseConv3d
    assert type(model[0].conv3d.conv_1) is nn.Conv3d  # a copy: the original is untouched
    assert len(converted.fastvfx_conversion) == 3  # conv, folded BN, fused activation
    x = torch.randn(2, 24, 6, 15, 15)
    with torch.no_grad():
        for _ in range(2):  # a second video after resetting the buffers
            for start, end in ((0, 2), (2, 3), (3, 6)):  # chunks of 2, 1, 3 frames, buffers carried over
                assert_close_scaled(converted(x[:, :, start:end]), model(x[:, :, start:end]))
            for module in list(model.modules()) + list(converted.modules()):
                if isinstance(module, CausalModule):
                    module.reset_activation()


def test_port_causal_conv_training_gradients():
    model = nn.Sequential(PortConvBNAct(16, (3, 3, 3), 1, True, nn.SiLU)).train()
    converted = fastvfx.convert(model)
    assert type(converted[0].norm) is nn.BatchNorm3d  # training mode: nothing folded
    x = torch.randn(2, 16, 4, 10, 10, requires_grad=True)
    for chunk in (x[:, :, :2], x[:, :, 2:]):
        y_ref, y_new = model(chunk), converted(chunk)
        assert_close_scaled(y_new, y_ref)
        g_ref = torch.autograd.grad(y_ref.square().sum(), (x, model[0].conv3d.conv_1.weight))
        g_new = torch.autograd.grad(y_new.square().sum(), (x, converted[0].conv3d.conv_1.weight))
        for a, b in zip(g_new, g_ref):
            assert_close_scaled(a, b)


def test_port_causal_conv_frozen_weight_trains_the_folded_bias():
    # Eval mode folds the BatchNorm into the conv's bias; with the weight frozen
    # only that bias needs a gradient, which the (inference-only) step cannot give.
    model = _randomize_norms(nn.Sequential(PortConvBNAct(8, (3, 3, 3), 1, True, nn.SiLU)).eval())
    converted = fastvfx.convert(model)
    model[0].conv3d.conv_1.weight.requires_grad_(False)
    converted[0].conv3d.conv_1.weight.requires_grad_(False)
    x = torch.randn(1, 8, 3, 6, 6)
    y_ref, y_new = model(x), converted(x)
    assert_close_scaled(y_new, y_ref)
    # The folded bias is (bias - mean) * scale + beta: its gradient is beta's.
    (g_ref,) = torch.autograd.grad(y_ref.square().sum(), model[0].norm.bias)
    (g_new,) = torch.autograd.grad(y_new.square().sum(), converted[0].conv3d.conv_1.bias)
    assert_close_scaled(g_new, g_ref)


@pytest.mark.parametrize("training", [False, True])
def test_squeezetime_ctl(training):
    model = nn.Sequential(UpstreamCTL(32, pos_dim=7), nn.ReLU(), UpstreamCTL(32, pos_dim=7)).train(training)
    _randomize_norms(model)
    converted = fastvfx.convert(model)
    assert all(type(converted[i]) is ChannelTimeConv and converted[i].fused for i in (0, 2))
    assert converted[0].training == training
    assert len(converted.fastvfx_conversion) == 2
    x = torch.randn(2, 32, 14, 14)  # pos_embed 7x7 is resized to 14x14
    with torch.set_grad_enabled(training):
        assert_close_scaled(converted(x), model(x))


def test_tfc_reference_module():
    model = TemporalFocusConv2dReference(32, 48, 3, padding=1).eval()
    _randomize_norms(model)
    converted = fastvfx.convert(model)
    assert type(converted) is fastvfx.nn.TemporalFocusConv2d
    x = torch.randn(2, 32, 10, 10)
    with torch.no_grad():
        for got, want in zip(converted(x), model(x)):
            assert_close_scaled(got, want)


@pytest.mark.parametrize("build, shape", [
    (lambda backend: movinet_a0(5, backend=backend), (1, 3, 3, 48, 48)),
    (lambda backend: mobilenet_v2_tsm(5, 2, backend=backend), (4, 3, 48, 48)),
    (lambda backend: mobilenet_v2_tsm(5, 2, online=True, backend=backend), (4, 3, 48, 48)),
    (lambda backend: squeezetime(5, 2, backend=backend), (1, 3, 2, 48, 48)),
])
def test_reference_models_become_the_fastvfx_backend(build, shape):
    model = _randomize_norms(build("torch")).eval()
    converted = fastvfx.convert(model)
    expected_types = [type(m) for m in build("fastvfx").modules()]
    assert [type(m) for m in converted.modules()] == expected_types
    assert converted.backend == "fastvfx" and model.backend == "torch"
    x = torch.randn(shape)
    with torch.no_grad():
        assert_close_scaled(converted(x), model(x))


def test_converted_movinet_streams():
    model = _randomize_norms(movinet_a0(5)).eval()
    converted = fastvfx.convert(model)
    x = torch.randn(1, 3, 3, 48, 48)
    states = converted.init_states(1, 48, 48)
    with torch.no_grad():
        for t in range(3):
            logits, states = converted.step(x[:, :, t:t + 1], states)
        assert_close_scaled(logits, model(x))


def test_inplace_returns_the_same_object():
    model = nn.Sequential(ResidualShiftBlock(16, 2, 1))
    assert fastvfx.convert(model, inplace=True) is model
    assert type(model[0].conv1) is fastvfx.nn.TemporalShift


def test_unknown_modules_are_left_alone(capsys):
    class HasNetOnly(nn.Module):  # a `net` attribute alone is not a shift wrapper
        def __init__(self):
            super().__init__()
            self.net = nn.Conv2d(8, 8, 1)

        def forward(self, x):
            return self.net(x)

    class DenseConv3dWithConv1(nn.Module):  # conv_1 that is not depthwise
        def __init__(self):
            super().__init__()
            self.conv_1 = nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0))
            self.dim_pad, self.conv_type = 2, "3d"

        def forward(self, x):
            return self.conv_1(x)

    model = nn.ModuleDict({"a": HasNetOnly(), "b": nn.Sequential(nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8), nn.ReLU()),
                           "c": DenseConv3dWithConv1(), "d": nn.Linear(8, 3)}).eval()
    converted = fastvfx.convert(model, verbose=True)
    assert "nothing replaced" in capsys.readouterr().out
    assert len(converted.fastvfx_conversion) == 0
    assert [type(m) for m in converted.modules()] == [type(m) for m in model.modules()]
    x = torch.randn(2, 8, 6, 6)
    assert torch.equal(converted["a"](x), model["a"](x))
    assert torch.equal(converted["b"](x), model["b"](x))
    x3 = torch.randn(1, 8, 4, 5, 5)
    assert torch.equal(converted["c"](x3), model["c"](x3))


def test_not_a_module():
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        fastvfx.convert(lambda x: x)
