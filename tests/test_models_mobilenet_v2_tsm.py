"""MobileNetV2-TSM: the fastvfx backend against the torch backend (same
weights), online streaming against the clip, and bad input."""

import pytest
import torch

from conftest import assert_close_scaled
from fastvfx.models import mobilenet_v2_tsm
from fastvfx.models.mobilenet_v2_tsm import InvertedResidual, InvertedResidualWithShift, TemporalShift
from fastvfx.nn import TemporalShift as FastTemporalShift

SIZE = 64
SEGMENTS = 4


def _pair(randomize_batchnorm, online=False, num_classes=6):
    reference = mobilenet_v2_tsm(num_classes, SEGMENTS, online=online)
    # Larger classifier weights than the default init, so logits are not all ~0.
    torch.nn.init.normal_(reference.classifier[1].weight, 0, 0.5)
    randomize_batchnorm(reference, torch.randn(2 * SEGMENTS, 3, SIZE, SIZE))
    fast = mobilenet_v2_tsm(num_classes, SEGMENTS, online=online, backend="fastvfx")
    fast.load_state_dict(reference.state_dict())
    return reference, fast


def test_shift_sits_in_the_residual_blocks():
    model = mobilenet_v2_tsm(10)
    blocks = [m for m in model.features if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17
    shifted = [b for b in blocks if isinstance(b.conv[0], TemporalShift)]
    assert len(shifted) == 10
    assert all(b.use_res_connect for b in shifted)
    assert all(b.conv[0].fold_div == 8 and b.conv[0].n_segment == 8 for b in shifted)
    assert all(type(b.conv[0].net) is torch.nn.Conv2d and b.conv[0].net.kernel_size == (1, 1) for b in shifted)
    fast = mobilenet_v2_tsm(10, backend="fastvfx")
    assert sum(isinstance(m, FastTemporalShift) for m in fast.modules()) == 10
    online = mobilenet_v2_tsm(10, online=True)
    assert sum(isinstance(m, InvertedResidualWithShift) for m in online.modules()) == 10
    assert list(fast.state_dict()) == list(model.state_dict())


@pytest.mark.parametrize("online", [False, True])
def test_backends_agree_eval(randomize_batchnorm, online):
    reference, fast = _pair(randomize_batchnorm, online)
    reference.eval(), fast.eval()
    x = torch.randn(2 * SEGMENTS, 3, SIZE, SIZE)
    with torch.no_grad():
        expected = reference(x)
        assert expected.shape == (2, 6)
        assert_close_scaled(fast(x), expected)


@pytest.mark.parametrize("online", [False, True])
def test_channels_last_frames(randomize_batchnorm, online):
    """The inference plan's stem reads NCHW frames in place; channels_last
    frames (and a batch of one frame) give the same logits."""
    reference, fast = _pair(randomize_batchnorm, online)
    reference.eval(), fast.eval()
    x = torch.randn(SEGMENTS, 3, SIZE, SIZE)
    with torch.no_grad():
        expected = reference(x)
        assert_close_scaled(fast(x.contiguous(memory_format=torch.channels_last)), expected)
        if online:
            states, ref_states = fast.init_states(1, SIZE, SIZE), reference.init_states(1, SIZE, SIZE)
            for t in range(SEGMENTS):
                frame = x[t : t + 1]
                want, ref_states = reference.step(frame, ref_states)
                got, states = fast.step(frame.contiguous(memory_format=torch.channels_last), states)
                assert_close_scaled(got, want)


@pytest.mark.parametrize("online", [False, True])
def test_backends_agree_train_with_gradients(online):
    """Training mode (BatchNorm batch statistics, dropout with the same seed):
    same outputs and gradients. In float64, because in float32 the gradients
    of this random, uncalibrated network differ by rounding alone more than
    any useful tolerance (1.4e-3 of scale on AVX2), in both directions."""
    torch.manual_seed(0)
    reference, fast = _pair(lambda m, x, **kw: m, online)
    reference, fast = reference.double(), fast.double()
    x = torch.randn(2 * SEGMENTS, 3, 48, 48, dtype=torch.float64)
    outputs = []
    for model in (reference, fast):
        torch.manual_seed(1)
        y = model(x)
        y.square().sum().backward()
        outputs.append(y)
    assert_close_scaled(outputs[1], outputs[0], 1e-10)
    for p_ref, p_fast in zip(reference.parameters(), fast.parameters()):
        assert_close_scaled(p_fast.grad, p_ref.grad, 1e-9)


def test_offline_model_mixes_frames(randomize_batchnorm):
    """The shift is really there: reordering the frames of a clip changes the output."""
    reference, fast = _pair(randomize_batchnorm)
    x = torch.randn(SEGMENTS, 3, SIZE, SIZE)
    with torch.no_grad():
        for model in (reference.eval(), fast.eval()):
            assert not torch.allclose(model(x), model(x.flip(0)), atol=1e-4)


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_online_stream_equals_clip(randomize_batchnorm, backend):
    reference, fast = _pair(randomize_batchnorm, online=True)
    model = (reference if backend == "torch" else fast).eval()
    x = torch.randn(2, SEGMENTS, 3, SIZE, SIZE)
    states = model.init_states(2, SIZE, SIZE)
    per_frame = []
    with torch.no_grad():
        for t in range(SEGMENTS):
            frame = x[:, t].clone()
            logits, states = model.step(frame, states)
            per_frame.append(logits)
            # A step that consumes the frame in place must not change the result seen by the caller.
            ref_logits, _ = reference.eval().step(x[:, t].clone(), _torch_states(reference, x, t))
            assert_close_scaled(logits, ref_logits)
        clip = reference(x.reshape(-1, 3, SIZE, SIZE))
    assert_close_scaled(torch.stack(per_frame, 1).mean(1), clip)


def _torch_states(model, x, t):
    """Caches after frames 0..t-1, computed by the torch backend from scratch."""
    states = model.init_states(x.size(0), SIZE, SIZE)
    with torch.no_grad():
        for s in range(t):
            _, states = model.step(x[:, s].clone(), states)
    return states


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_bad_input(backend):
    model = mobilenet_v2_tsm(5, SEGMENTS, backend=backend).eval()
    with pytest.raises(ValueError, match="not a multiple of n_segment=4"):
        model(torch.randn(6, 3, SIZE, SIZE))
    with pytest.raises(ValueError, match=r"\(N\*T, 3, H, W\)"):
        model(torch.randn(1, 3, SEGMENTS, SIZE, SIZE))
    with pytest.raises(RuntimeError, match="online=True"):
        model.init_states()
    online = mobilenet_v2_tsm(5, SEGMENTS, online=True, backend=backend).eval()
    states = online.init_states(1, SIZE, SIZE)
    with pytest.raises(ValueError, match="cache 0"):
        online.step(torch.randn(1, 3, SIZE + 32, SIZE), states)
    with pytest.raises(ValueError, match="do not belong"):
        online.step(torch.randn(1, 3, SIZE, SIZE), states[:3])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        online.step(torch.randn(3, SIZE, SIZE), states)


@pytest.mark.parametrize("backend", ["torch", "fastvfx"])
def test_inference_mode(backend):
    offline = mobilenet_v2_tsm(5, SEGMENTS, backend=backend).eval()
    online = mobilenet_v2_tsm(5, SEGMENTS, online=True, backend=backend).eval()
    x = torch.randn(SEGMENTS, 3, 32, 32)
    with torch.no_grad():
        expected = offline(x)
        expected_step, _ = online.step(x[:1].clone(), online.init_states(1, 32, 32))
    with torch.inference_mode():
        assert torch.equal(offline(x), expected)
        step, _ = online.step(x[:1].clone(), online.init_states(1, 32, 32))
        assert torch.equal(step, expected_step)


def test_plan_follows_changes(randomize_batchnorm):
    """The inference plan (built once, checked once a call) is reused while
    nothing changes and rebuilt when a weight changes in place or moves to new
    memory, a parameter or a submodule is replaced, a BatchNorm's eps is reassigned or a module
    switches to training mode; the caches are still checked against it."""
    reference, fast = _pair(randomize_batchnorm, online=True)
    reference.eval(), fast.eval()
    frame = torch.randn(1, 3, SIZE, SIZE)
    clip = torch.randn(SEGMENTS, 3, SIZE, SIZE)

    def check():
        with torch.no_grad():
            assert_close_scaled(fast(clip), reference(clip))
            states_ref, states_fast = reference.init_states(1, SIZE, SIZE), fast.init_states(1, SIZE, SIZE)
            for _ in range(2):
                expected, states_ref = reference.step(frame.clone(), states_ref)
                logits, states_fast = fast.step(frame.clone(), states_fast)
                assert_close_scaled(logits, expected)

    check()
    plan = fast._fastvfx_cache["plan"][1]
    check()
    assert fast._fastvfx_cache["plan"][1] is plan  # reused
    edits = [
        lambda m: m.features[4].conv[0].weight.mul_(0.5),  # in place
        lambda m: m.features[0][1].running_var.add_(0.5),  # the stem
        lambda m: m.features[-1][1].running_mean.add_(0.1),  # the last conv
        lambda m: m.classifier[1].bias.add_(1.0),
        lambda m: setattr(m.features[7].conv[4], "bias", torch.nn.Parameter(m.features[7].conv[4].bias + 0.1)),
        lambda m: setattr(m.features[5].conv[7], "eps", 0.25),
        # new memory under the same parameter (its version does not move)
        lambda m: setattr(m.features[3].conv[0].weight, "data", m.features[3].conv[0].weight.data * 0.5),
    ]
    for edit in edits:
        with torch.no_grad():
            edit(reference)
            edit(fast)
        check()
        assert fast._fastvfx_cache["plan"][1] is not plan
        plan = fast._fastvfx_cache["plan"][1]
    # a submodule replaced: a block's BatchNorm, with other statistics
    bn = torch.nn.BatchNorm2d(reference.features[6].conv[1].num_features).eval()
    torch.nn.init.uniform_(bn.running_var, 0.5, 2.0)
    for m in (reference, fast):
        m.features[6].conv[1] = bn
    check()
    # a block in training mode (batch statistics): the modules' own path
    for m in (reference, fast):
        m.features[9].conv.train()
    check()
    assert fast._fastvfx_cache["plan"][1] is None
    for m in (reference, fast):
        m.eval()
    check()
    # the caches against the plan: a shape, a dtype, not a tensor; a tuple of them
    for i, spoil in ((2, lambda c: c[:, :-1]), (1, lambda c: c.double()), (3, lambda c: None)):
        with torch.no_grad(), pytest.raises(ValueError, match=f"cache {i}"):
            states = fast.init_states(1, SIZE, SIZE)
            states[i] = spoil(states[i])
            fast.step(frame, states)
    with torch.no_grad():
        assert_close_scaled(fast.step(frame, tuple(fast.init_states(1, SIZE, SIZE)))[0],
                            reference.step(frame, reference.init_states(1, SIZE, SIZE))[0])


def test_plan_calls_are_profiled_and_bump_versions(randomize_batchnorm):
    """The plan calls fastvfx's kernels directly (fastvfx._C._plan_*, not
    through torch.ops): the profiler still records each op by name with its
    input shapes, and a cache the step writes in place has its version
    bumped, as the dispatcher would."""
    _, fast = _pair(randomize_batchnorm, online=True)
    fast.eval()
    frame = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        states = fast.init_states(1, SIZE, SIZE)
        _, states = fast.step(frame, states)  # the plan is built; caches now channels_last
        versions = [cache._version for cache in states]
        with torch.profiler.profile(record_shapes=True) as prof:
            _, states = fast.step(frame, states)
    assert all(cache._version > v for cache, v in zip(states, versions))
    events = {e.key: e for e in prof.key_averages()}
    assert events["fastvfx::inverted_residual_step"].count == len(states)
    assert events["fastvfx::fused_conv2d"].count >= 2  # the stem and the classifier at least
    shapes = [e.input_shapes for e in prof.key_averages(group_by_input_shape=True)
              if e.key == "fastvfx::inverted_residual_step"]
    assert {tuple(s[1]) for s in shapes} == {tuple(cache.shape) for cache in states}  # (x, cache, ...)
