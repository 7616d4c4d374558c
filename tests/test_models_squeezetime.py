"""SqueezeTime (K400 configuration): the fastvfx backend against the torch
backend (same weights), structure, and bad input."""

import pytest
import torch

from conftest import assert_close_scaled
from fastvfx.models import squeezetime
from fastvfx.models.squeezetime import ChannelTimeConv
from fastvfx.nn import _onednn
from test_nn_fused_blocks import conv_path  # noqa: F401 (fixture: the oneDNN and the plain path)

SIZE = 64
FRAMES = 4


def _pair(randomize_batchnorm, frames=FRAMES, num_classes=9):
    reference = squeezetime(num_classes, frames)
    torch.nn.init.normal_(reference.fc_cls.weight, 0, 0.2)
    randomize_batchnorm(reference, torch.randn(4, 3, frames, SIZE, SIZE), var_floor=0.3)
    fast = squeezetime(num_classes, frames, backend="fastvfx")
    fast.load_state_dict(reference.state_dict())
    return reference, fast.eval()


def test_k400_configuration():
    model = squeezetime()
    assert model.conv1.in_channels == 48 and model.conv1.out_channels == 64
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    ctl = [m for m in model.modules() if isinstance(m, ChannelTimeConv)]
    assert [m.temporal_conv.in_channels for m in ctl] == [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
    assert [m.spatial_conv.pos_embed.shape[-1] for m in (ctl[0], ctl[3], ctl[7], ctl[13])] == [56, 28, 14, 7]
    assert model.fc_cls.in_features == 2048 and model.fc_cls.out_features == 400
    assert list(squeezetime(backend="fastvfx").state_dict()) == list(model.state_dict())


def test_frames_are_squeezed_channel_major():
    """Channel c of frame t is input channel c*T + t, as the official view does."""
    model = squeezetime(5, FRAMES).eval()
    seen = []
    model.conv1.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    x = torch.randn(1, 3, FRAMES, 32, 32)
    with torch.no_grad():
        model(x)
    assert torch.equal(seen[0][0, 1 * FRAMES + 2], x[0, 1, 2])


@pytest.mark.parametrize("frames", [FRAMES, 16])
def test_backends_agree_eval(randomize_batchnorm, frames, conv_path):
    reference, fast = _pair(randomize_batchnorm, frames)
    x = torch.randn(2, 3, frames, SIZE, SIZE)
    with torch.no_grad():
        expected = reference(x)
        assert expected.shape == (2, 9)
        assert_close_scaled(fast(x), expected)
        # outputs depend on the input (a calibrated, non-degenerate model)
        assert not torch.allclose(reference(x.flip(0)), expected, atol=1e-3)


@pytest.mark.parametrize("pool", ["avg", "max"])
@pytest.mark.parametrize("size,layout", [(7, "nchw"), (14, "channels_last"), (14, "nchw")])
def test_ctl_eval_equals_official(randomize_batchnorm, monkeypatch, conv_path, pool, size, layout):
    """A CTL alone (as convert() builds it) in eval mode equals the official
    chain, with or without the block's ReLU, in both layouts, with the
    position embedding resized (14 on a pos_dim of 7); on the inference path
    (the CTL's plan) the IOI product is the short conv's "mul" and the branch
    sum the residual ("add") of the temporal 1x1 conv, each fused into the
    conv's call."""
    reference = ChannelTimeConv(32, 32, pos_dim=7)
    if pool == "max":
        reference.param_conv[0] = torch.nn.AdaptiveMaxPool2d((1, 1))
    randomize_batchnorm(reference, torch.randn(4, 32, size, size), var_floor=0.3)
    fast = ChannelTimeConv(32, 32, pos_dim=7, fused=True)
    fast.param_conv[0] = reference.param_conv[0]
    fast.load_state_dict(reference.state_dict())
    fast.eval()
    binary = []
    real = _onednn.PlannedConv2d.__call__

    def spy(conv, x, other=None):
        if other is not None:
            binary.append(conv.residual_op)
        return real(conv, x, other)

    monkeypatch.setattr(_onednn.PlannedConv2d, "__call__", spy)
    x = torch.randn(2, 32, size, size)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = reference(x)
        assert_close_scaled(fast(x), expected)
        temporal, short = fast.temporal_conv, fast.spatial_conv.short_conv
        y = fast.folded(x, temporal.weight, temporal.bias, short.weight, short.bias, activation="relu")
        assert_close_scaled(y, torch.relu(expected))
        assert not torch.allclose(fast(x.flip(0)), expected, atol=1e-3)
    assert binary == ([] if conv_path == "plain" else ["mul", "add"] * 3)


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_stem_conv_reads_either_layout(layout):
    """The stem's fused conv (5x5, stride 2, ReLU) equals conv + ReLU on an
    NCHW input (read into its padded channels-last copy by the kernel) and on
    a channels_last one, and answers channels_last."""
    conv = torch.nn.Conv2d(12, 16, 5, stride=2, padding=2)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    x = torch.randn(2, 12, 21, 21).contiguous(memory_format=fmt)
    owner = torch.nn.Module()
    with torch.no_grad():
        y = _onednn.fused(owner, "stem", x, conv, conv.weight, conv.bias, "relu")
        assert_close_scaled(y, torch.relu(conv(x)), 1e-5)
    assert y.is_contiguous(memory_format=torch.channels_last)


def test_backends_agree_train_with_gradients():
    # float64: training-mode BatchNorm over a batch of 2 (the gate sees 2
    # values per channel) amplifies float32 rounding far beyond 1e-4.
    reference = squeezetime(9, FRAMES).double()
    fast = squeezetime(9, FRAMES, backend="fastvfx").double()
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, FRAMES, SIZE, SIZE, dtype=torch.float64)
    outputs = []
    for model in (reference, fast):
        torch.manual_seed(1)
        y = model(x)
        y.square().sum().backward()
        outputs.append(y)
    assert_close_scaled(outputs[1], outputs[0], 1e-8)
    for p_ref, p_fast in zip(reference.parameters(), fast.parameters()):
        assert_close_scaled(p_fast.grad, p_ref.grad, 1e-6)


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_bad_input(backend):
    model = squeezetime(5, FRAMES, backend=backend).eval()
    with pytest.raises(ValueError, match=r"\(N, 3, 4, H, W\)"):
        model(torch.randn(1, 3, FRAMES + 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 3, 4, H, W\)"):
        model(torch.randn(3 * FRAMES, 32, 32))


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_inference_mode(backend):
    model = squeezetime(5, FRAMES, backend=backend).eval()
    x = torch.randn(1, 3, FRAMES, 32, 32)
    with torch.no_grad():
        expected = model(x)
    with torch.inference_mode():
        assert torch.equal(model(x), expected)


def test_plan_follows_changes(randomize_batchnorm):
    """The inference plans (built once per block and input shape, checked once
    a call) are rebuilt when a weight changes in place, a parameter or a
    submodule is replaced, or a BatchNorm's eps is reassigned."""
    reference, fast = _pair(randomize_batchnorm)
    reference.eval()
    x = torch.randn(1, 3, FRAMES, SIZE, SIZE)
    block = fast.layer2[0]

    def check():
        with torch.no_grad():
            assert_close_scaled(fast(x), reference(x))

    check()
    plan = block._fastvfx_cache["plan"][1][x.shape[:1] + (256, SIZE // 4, SIZE // 4)]
    check()
    assert block._fastvfx_cache["plan"][1][x.shape[:1] + (256, SIZE // 4, SIZE // 4)] is plan  # reused
    edits = [
        lambda m: m.layer2[0].conv1.weight.mul_(0.5),  # in place
        lambda m: m.layer2[0].bn2.running_var.add_(0.5),
        lambda m: setattr(m.layer2[0].conv2.spatial_conv.short_conv, "bias",
                          torch.nn.Parameter(m.layer2[0].conv2.spatial_conv.short_conv.bias + 0.1)),
        lambda m: setattr(m.layer2[0].bn3, "eps", 0.25),
    ]
    for edit in edits:
        with torch.no_grad():
            edit(reference)
            edit(fast)
        check()
    # a submodule replaced: the gate's pool (max instead of avg)
    for m in (reference, fast):
        m.layer2[0].conv2.param_conv[0] = torch.nn.AdaptiveMaxPool2d((1, 1))
    check()


def test_blocks_keep_what_others_hold(randomize_batchnorm):
    """On the inference path a block writes its output over its input where
    the model owns that input. A block called alone keeps its input; a
    forward hook that keeps a block's output sees it unchanged after the
    next block ran (the model then gives up nothing)."""
    reference, fast = _pair(randomize_batchnorm)
    x = torch.randn(1, 3, FRAMES, SIZE, SIZE)
    block = fast.layer1[1]  # no shortcut: its residual is its input
    y = torch.randn(1, 256, SIZE // 4, SIZE // 4).contiguous(memory_format=torch.channels_last)
    kept = y.clone()
    with torch.no_grad():
        out = block(y)
        assert torch.equal(y, kept)
        assert_close_scaled(out, reference.layer1[1].eval()(y))
    seen = []
    handle = fast.layer1[1].register_forward_hook(lambda module, args, out: seen.append((out, out.clone())))
    try:
        with torch.no_grad():
            assert_close_scaled(fast(x), reference(x))
    finally:
        handle.remove()
    assert len(seen) == 1  # the block ran through its hook
    out, at_hook = seen[0]
    assert torch.equal(out, at_hook)  # layer1[2] did not write over it


def test_plan_runs_wide_3x3_convs_by_winograd(randomize_batchnorm, monkeypatch):
    """On the inference path a block's 3x3 stride-1 convs with 16 input
    channels or more and 16 output channels or more are packed for Winograd
    F(4x4, 3x3) where they have at least 48 output tiles of 4x4 (batch 4 at
    64²: the 16² stage), else for F(2x2, 3x3) where they have at least 32 of
    2x2 (the 8² stage); the others (the 4² and 2² stages) are not, and the
    model still equals the torch backend."""
    reference, fast = _pair(randomize_batchnorm)
    built = []
    real = _onednn.PlannedConv2d.__init__

    def spy(self, conv, weight, bias, x, *args, **kwargs):
        real(self, conv, weight, bias, x, *args, **kwargs)
        wide = conv.in_channels >= 16 and conv.out_channels >= 16
        built.append((conv.kernel_size, conv.stride, wide, tuple(x.shape), self.winograd, self.fused))

    monkeypatch.setattr(_onednn.PlannedConv2d, "__init__", spy)
    x = torch.randn(4, 3, FRAMES, SIZE, SIZE)
    with torch.no_grad():
        assert_close_scaled(fast(x), reference(x))
    wide_3x3 = [b for b in built if b[0] == (3, 3) and b[1] == (1, 1) and b[2]]
    assert wide_3x3
    for _, _, _, (n, _, h, w), winograd, fused in wide_3x3:
        want = 4 if n * ((h + 3) // 4) * ((w + 3) // 4) >= 48 else 2 if n * ((h + 1) // 2) * ((w + 1) // 2) >= 32 else 0
        assert winograd == want
        assert fused or not winograd
    assert {b[4] for b in wide_3x3} == {0, 2, 4}
    assert not any(b[4] for b in built if b not in wide_3x3)


@pytest.mark.parametrize("size", [SIZE, 63])
def test_stem_as_stride1_conv_on_space_to_depth(randomize_batchnorm, monkeypatch, size):
    """On the inference path the 5x5 stride-2 stem of an even-sized NCHW
    input runs as a 3x3 stride-1 conv (by Winograd) on the input's 2x2
    space-to-depth; an odd size takes oneDNN's conv. The model equals the
    torch backend either way."""
    from fastvfx import _C

    reference, fast = _pair(randomize_batchnorm)
    calls = []
    real = _C._space_to_depth2
    monkeypatch.setattr(_C, "_space_to_depth2", lambda x: calls.append(tuple(x.shape)) or real(x))
    x = torch.randn(2, 3, FRAMES, size, size)
    with torch.no_grad():
        assert_close_scaled(fast(x), reference(x))
    assert calls == ([(2, 3 * FRAMES, size, size)] if size % 2 == 0 else [])
