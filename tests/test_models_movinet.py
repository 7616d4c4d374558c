"""MoViNet-A0: the fastvfx backend against the torch backend (same weights),
streaming against the full clip, and bad input."""

import pytest
import torch
import torch.utils._pytree as pytree

from conftest import assert_close_scaled
from fastvfx.models import movinet_a0

SIZE = 64  # small frames: every stride-2 stage still sees an odd and an even size


def _pair(randomize_batchnorm, conv_type="3d", stream=True, num_classes=7):
    reference = movinet_a0(num_classes, stream=stream, conv_type=conv_type)
    randomize_batchnorm(reference, torch.randn(2, 3, 4, SIZE, SIZE), var_floor=0.3)
    fast = movinet_a0(num_classes, stream=stream, conv_type=conv_type, backend="fastvfx")
    fast.load_state_dict(reference.state_dict())
    return reference, fast


def test_block_spec_is_a0():
    model = movinet_a0()
    specs = [(b.project.conv.out_channels, b.expand.conv.out_channels,
              tuple(b.deep[0].conv.kernel_size), b.deep[0].stride) for b in model.blocks]
    assert specs[0] == (8, 24, (1, 5, 5), 2)
    assert [s[0] for s in specs] == [8] + [32] * 3 + [56] * 7 + [104] * 4
    assert [s[1] for s in specs] == [24, 80, 80, 80, 184, 112, 184, 184, 184, 184, 184, 384, 280, 280, 344]
    assert [s[3] for s in specs] == [2, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1]
    assert model.head.conv.out_channels == 480
    assert model.classifier[0].out_channels == 2048
    assert model.classifier[-1].out_channels == 600
    # 2+1D: (1, k, k) spatial then (kT, 1, 1) temporal where kT > 1
    split = movinet_a0(conv_type="2plus1d").blocks[4].deep
    assert [tuple(u.conv.kernel_size) for u in split] == [(1, 3, 3), (5, 1, 1)]


def test_state_dicts_match():
    reference, fast = movinet_a0(), movinet_a0(backend="fastvfx")
    assert list(reference.state_dict()) == list(fast.state_dict())


@pytest.mark.parametrize("conv_type", ["3d", "2plus1d"])
@pytest.mark.parametrize("stream", [True, False])
def test_backends_agree_eval(randomize_batchnorm, conv_type, stream):
    reference, fast = _pair(randomize_batchnorm, conv_type, stream)
    reference.eval(), fast.eval()
    x = torch.randn(2, 3, 4, SIZE, SIZE)
    with torch.no_grad():
        expected = reference(x)
        assert expected.shape == (2, 7)
        assert_close_scaled(fast(x), expected)
        assert not torch.allclose(reference(x.flip(0)), expected, atol=1e-3)  # outputs depend on the input
        assert_close_scaled(fast(x[:, :, :1]), reference(x[:, :, :1]))  # the one-frame paths


@pytest.mark.parametrize("conv_type", ["3d", "2plus1d"])
def test_backends_agree_train_with_gradients(conv_type):
    torch.manual_seed(0)
    reference, fast = _pair(lambda m, x, **kw: m, conv_type)
    x = torch.randn(2, 3, 2, 48, 48)
    outputs = []
    for model in (reference, fast):
        torch.manual_seed(1)  # the same dropout mask
        y = model(x)
        y.square().sum().backward()
        outputs.append(y)
    assert_close_scaled(outputs[1], outputs[0])
    for (name, p_ref), p_fast in zip(reference.named_parameters(), fast.parameters()):
        assert_close_scaled(p_fast.grad, p_ref.grad, 1e-3), name
    # Running statistics were updated alike.
    assert_close_scaled(fast.blocks[3].deep[0].bn.running_var, reference.blocks[3].deep[0].bn.running_var)


@pytest.mark.parametrize(
    "backend, conv_type, chunk",
    [("torch", "3d", 1), ("torch", "2plus1d", 2), ("fastvfx", "3d", 1), ("fastvfx", "3d", 3),
     ("fastvfx", "2plus1d", 1), ("fastvfx", "2plus1d", 2)],
)
def test_streaming_equals_clip(randomize_batchnorm, backend, conv_type, chunk):
    reference, fast = _pair(randomize_batchnorm, conv_type)
    model = (reference if backend == "torch" else fast).eval()
    frames = 5
    x = torch.randn(1, 3, frames, SIZE, SIZE)
    states = model.init_states(1, SIZE, SIZE)
    with torch.no_grad():
        for start in range(0, frames, chunk):
            end = min(start + chunk, frames)
            logits, states = model.step(x[:, :, start:end], states)
            # causal: the logits so far are those of the clip so far
            assert_close_scaled(logits, reference.eval()(x[:, :, :end]))


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_states_are_tensors_only(backend):
    """An exported step takes and returns the states as graph inputs and
    outputs: every leaf is a tensor, and a step keeps their structure and shapes."""
    model = movinet_a0(5, conv_type="2plus1d", backend=backend).eval()
    states = model.init_states(1, 48, 48)
    leaves, spec = pytree.tree_flatten(states)
    assert leaves and all(isinstance(leaf, torch.Tensor) for leaf in leaves)
    _, after = model.step(torch.randn(1, 3, 2, 48, 48), states)
    after_leaves, after_spec = pytree.tree_flatten(after)
    assert after_spec == spec
    assert [leaf.shape for leaf in after_leaves] == [leaf.shape for leaf in leaves]
    assert int(after["frames"]) == 2


def test_fastvfx_step_matches_torch_step(randomize_batchnorm):
    reference, fast = _pair(randomize_batchnorm, "2plus1d")
    reference.eval(), fast.eval()
    x = torch.randn(2, 3, 3, SIZE, SIZE)
    s_ref, s_fast = reference.init_states(2, SIZE, SIZE), fast.init_states(2, SIZE, SIZE)
    for t in range(3):
        y_ref, s_ref = reference.step(x[:, :, t:t + 1], s_ref)
        y_fast, s_fast = fast.step(x[:, :, t:t + 1], s_fast)
        assert_close_scaled(y_fast, y_ref)



@pytest.mark.parametrize("size", [SIZE, 144], ids=["serial", "threaded"])
def test_fastvfx_step_with_two_threads(randomize_batchnorm, size):
    # Steps of at most SERIAL_STEP_PIXELS run on one thread (the other tests);
    # two 144x144 frames (41,472 pixels) keep torch's threads.
    reference, fast = _pair(randomize_batchnorm, "3d")
    reference.eval(), fast.eval()
    x = torch.randn(2, 3, 2, size, size)
    s_ref, s_fast = reference.init_states(2, size, size), fast.init_states(2, size, size)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for t in range(2):
            y_ref, s_ref = reference.step(x[:, :, t:t + 1], s_ref)
            y_fast, s_fast = fast.step(x[:, :, t:t + 1], s_fast)
            assert_close_scaled(y_fast, y_ref)
    finally:
        torch.set_num_threads(threads)


def _scale_project(model):
    with torch.no_grad():
        model.blocks[2].project.conv.weight.mul_(2.0)  # in place: same object, same memory


def _load_expand_stats(model):
    bn = model.blocks[5].expand.bn
    state = bn.state_dict()
    state["running_var"] = state["running_var"] * 3.0
    bn.load_state_dict(state)  # copied into the buffers in place


def _assign_weight(model):
    conv = model.blocks[7].deep[0].conv
    conv.weight = torch.nn.Parameter(conv.weight.detach().flip(-1).clone())  # another object


def _replace_bn(model):
    torch.manual_seed(5)
    old = model.blocks[10].project.bn
    bn = torch.nn.BatchNorm3d(old.num_features, eps=old.eps)
    with torch.no_grad():
        bn.running_mean.normal_(), bn.running_var.uniform_(0.5, 2.0), bn.weight.normal_(), bn.bias.normal_()
    model.blocks[10].project.bn = bn.eval()  # another submodule


def _change_eps(model):
    model.blocks[1].shortcut.proj.bn.eps = 0.5


def _train_then_eval(model):
    torch.manual_seed(6)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 2, SIZE, SIZE))  # moves every BatchNorm's running statistics
    model.eval()


@pytest.mark.parametrize("conv_type", ["3d", "2plus1d"])
def test_fastvfx_step_follows_weight_changes(randomize_batchnorm, conv_type):
    """The fused step caches each block's folded weights; a change of a
    parameter, buffer, submodule or eps between two steps must reach the
    next step's output, as it does in the torch backend."""
    reference, fast = _pair(randomize_batchnorm, conv_type)
    reference.eval(), fast.eval()
    x = torch.randn(1, 3, 9, SIZE, SIZE)
    s_ref, s_fast = reference.init_states(1, SIZE, SIZE), fast.init_states(1, SIZE, SIZE)
    changes = [None, _scale_project, _load_expand_stats, _assign_weight, _replace_bn, _change_eps, _train_then_eval,
               "double"]
    for t, change in enumerate(changes):
        if change == "double":  # .to(): same parameter objects, new memory; a new stream in float64
            reference.double(), fast.double()
            s_ref, s_fast = reference.init_states(1, SIZE, SIZE), fast.init_states(1, SIZE, SIZE)
        elif change is not None:
            change(reference), change(fast)
        frame = x[:, :, t:t + 1].to(reference.head.conv.weight.dtype)
        y_ref, s_ref = reference.step(frame, s_ref)
        y_fast, s_fast = fast.step(frame, s_fast)
        assert_close_scaled(y_fast, y_ref)

@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_bad_input(backend):
    model = movinet_a0(5, backend=backend).eval()
    with pytest.raises(ValueError, match=r"\(N, 3, T, H, W\)"):
        model(torch.randn(1, 3, SIZE, SIZE))
    states = model.init_states(1, SIZE, SIZE)
    _, states = model.step(torch.randn(1, 3, 1, SIZE, SIZE), states)
    for frames in (torch.randn(1, 3, 1, SIZE + 8, SIZE), torch.randn(2, 3, 1, SIZE, SIZE),
                   torch.randn(1, 3, 1, SIZE, SIZE, dtype=torch.float64)):
        with pytest.raises(ValueError, match="do not fit"):
            model.step(frames, states)
    with pytest.raises(ValueError, match="do not belong"):
        model.step(torch.randn(1, 3, 1, SIZE, SIZE), {"blocks": []})
    other = movinet_a0(5, backend="fastvfx" if backend == "torch" else "torch").eval()
    with pytest.raises(ValueError, match="do not belong"):
        other.step(torch.randn(1, 3, 1, SIZE, SIZE), states)
    with pytest.raises(RuntimeError, match="stream=True"):
        movinet_a0(5, stream=False, backend=backend).init_states()


def test_bad_arguments():
    with pytest.raises(ValueError, match="conv_type"):
        movinet_a0(conv_type="2d")
    with pytest.raises(ValueError, match="backend"):
        movinet_a0(backend="tvm")


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_inference_mode(backend):
    model = movinet_a0(5, backend=backend).eval()
    x = torch.randn(1, 3, 2, 32, 32)
    with torch.no_grad():
        expected = model(x)
    with torch.inference_mode():
        states = model.init_states(1, 32, 32)
        for t in range(2):
            logits, states = model.step(x[:, :, t:t + 1], states)
        assert_close_scaled(logits, expected)
