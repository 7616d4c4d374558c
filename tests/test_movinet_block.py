"""movinet_block_step (the fused MoViNet block stream step) against the
pure-PyTorch block step (F.conv3d, torch.cat buffers), frame by frame;
opcheck; bad input leaves the states untouched; grad mode is refused."""

import pytest
import torch

import fastvfx
from fastvfx.ops.causal_dwconv3d import init_stream_state
from fastvfx.ops.movinet_block import movinet_block_step_reference

# (C_in, E, C_out, units as ((kT, kH, kW), stride), shortcut, both_pools): the
# block kinds of MoViNet-A0 (3d, (2+1)d, kT = 1, strided and width-changing
# shortcuts, identity residual).
BLOCKS = {
    "3d-stride2-shortcut": (8, 24, 16, [((3, 3, 3), 2)], True, False),
    "3d-identity": (16, 40, 16, [((5, 3, 3), 1)], False, False),
    "2plus1d-stride2": (8, 24, 16, [((1, 3, 3), 2), ((3, 1, 1), 1)], True, True),
    "2plus1d-identity": (16, 32, 16, [((1, 3, 3), 1), ((5, 1, 1), 1)], False, True),
    "kt1-5x5-width": (16, 40, 24, [((1, 5, 5), 1)], True, False),
}


def _block(name, dtype=torch.float32, batch=1, size=(9, 10), seed=0):
    """Random folded weights and fresh states of a block, as the op's keyword arguments."""
    g = torch.Generator().manual_seed(seed)
    c_in, e, c_out, units, shortcut, both = BLOCKS[name]
    squeeze = max(8, e // 4)

    def rand(*shape, scale=0.3):
        return (torch.randn(*shape, generator=g) * scale).to(dtype)

    h, w = size
    states = []
    for (kt, _, _), stride in units:
        if kt > 1:
            states.append(init_stream_state(batch, e, kt, h, w, dtype))  # no padded cache
        h, w = -(-h // stride), -(-w // stride)
    return dict(
        expand_weight=rand(e, c_in), expand_bias=rand(e),
        dw_weights=[rand(e, 1, *k) for k, _ in units], dw_biases=[rand(e) for _ in units],
        dw_strides=[s for _, s in units], states=states,
        se_weight1=rand(squeeze, e * (2 if both else 1)), se_bias1=rand(squeeze),
        se_weight2=rand(e, squeeze), se_bias2=rand(e),
        se_total=torch.zeros(batch, e, 1, 1, 1, dtype=dtype),
        project_weight=rand(c_out, e), project_bias=rand(c_out),
        shortcut_weight=rand(c_out, c_in) if shortcut else None, shortcut_bias=rand(c_out) if shortcut else None,
        both_pools=both,
    )


def _with_padded_caches(name, args, batch, size, dtype):
    """The same states, created with the layers' geometry (the padded cache the models use)."""
    _, e, _, units, _, _ = BLOCKS[name]
    h, w = size
    states = []
    for kernel, stride in units:
        if kernel[0] > 1:
            states.append(init_stream_state(batch, e, kernel[0], h, w, dtype, kernel_size=kernel, stride=stride))
        h, w = -(-h // stride), -(-w // stride)
    return dict(args, states=states)


def _reference_step(args, x, buffers, total, count, activation, gate):
    ref = {k: v for k, v in args.items() if k not in ("states", "se_total")}
    return movinet_block_step_reference(x, buffers=buffers, se_total=total, count=count, activation=activation,
                                        gate=gate, **ref)


@pytest.mark.parametrize("name", list(BLOCKS))
@pytest.mark.parametrize("activation,gate", [("swish", "sigmoid"), ("hardswish", "hardsigmoid"), ("relu", "sigmoid")])
@pytest.mark.parametrize("padded", [False, True], ids=["no-cache", "padded-cache"])
def test_stream_matches_reference(name, activation, gate, padded):
    batch, size, frames = 2, (9, 10), 7
    args = _block(name, batch=batch, size=size)
    if padded:
        args = _with_padded_caches(name, args, batch, size, torch.float32)
    c_in = BLOCKS[name][0]
    buffers = [s.buffer.clone() for s in args["states"]]
    total = args["se_total"].clone()
    clip = torch.randn(batch, c_in, frames, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for t in range(frames):
            x = clip[:, :, t : t + 1]
            count = torch.tensor([t + 1])
            expected, buffers, total = _reference_step(args, x, buffers, total, count, activation, gate)
            got = fastvfx.movinet_block_step(x, count=count, activation=activation, gate=gate, **args)
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(args["se_total"], total, rtol=1e-5, atol=1e-6)
    for state in args["states"]:
        assert state.position.item() == frames


@pytest.mark.parametrize("name", ["3d-stride2-shortcut", "2plus1d-identity"])
def test_float64_and_batch1(name):
    args = _block(name, dtype=torch.float64, batch=1, size=(12, 7))
    buffers = [s.buffer.clone() for s in args["states"]]
    total = args["se_total"].clone()
    clip = torch.randn(1, BLOCKS[name][0], 4, 12, 7, dtype=torch.float64)
    with torch.no_grad():
        for t in range(4):
            count = torch.tensor([t + 1])
            expected, buffers, total = _reference_step(args, clip[:, :, t : t + 1], buffers, total, count,
                                                       "hardswish", "hardsigmoid")
            got = fastvfx.movinet_block_step(clip[:, :, t : t + 1], count=count, activation="hardswish",
                                             gate="hardsigmoid", **args)
            torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("size", [(9, 10), (96, 96)], ids=["serial", "threaded"])
def test_two_threads_both_sides_of_the_serial_threshold(size):
    # A block step under 8 M multiply-adds runs on the calling thread alone
    # (every other test here); 96x96 frames at batch 2 (about 45 M) keep
    # torch's threads, which then split the GEMMs and the depthwise kernel.
    name, batch, frames = "3d-identity", 2, 3
    args = _with_padded_caches(name, _block(name, batch=batch, size=size), batch, size, torch.float32)
    buffers = [s.buffer.clone() for s in args["states"]]
    total = args["se_total"].clone()
    clip = torch.randn(batch, BLOCKS[name][0], frames, *size, generator=torch.Generator().manual_seed(2))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.no_grad():
            for t in range(frames):
                x, count = clip[:, :, t : t + 1], torch.tensor([t + 1])
                expected, buffers, total = _reference_step(args, x, buffers, total, count, "swish", "sigmoid")
                got = fastvfx.movinet_block_step(x, count=count, activation="swish", gate="sigmoid", **args)
                torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    finally:
        torch.set_num_threads(threads)


def _op_args(args, x, count, activation="swish", gate="sigmoid"):
    states = args["states"]
    return (x, args["expand_weight"], args["expand_bias"], args["dw_weights"], args["dw_biases"], args["dw_strides"],
            [s.buffer for s in states], [s.position for s in states], [s.padded for s in states],
            args["se_weight1"], args["se_bias1"], args["se_weight2"], args["se_bias2"], args["se_total"], count,
            args["both_pools"], args["project_weight"], args["project_bias"], args["shortcut_weight"],
            args["shortcut_bias"], activation, gate)


@pytest.mark.parametrize("name", ["3d-stride2-shortcut", "2plus1d-identity", "kt1-5x5-width"])
def test_opcheck(name):
    args = _block(name, batch=2, size=(8, 9))
    x = torch.randn(2, BLOCKS[name][0], 1, 8, 9)
    torch.library.opcheck(torch.ops.fastvfx.movinet_block_step.default, _op_args(args, x, torch.tensor([1])))


def _snapshot(args):
    return [t.clone() for s in args["states"] for t in s] + [args["se_total"].clone()]


def _bad_inputs():
    """(description, edit of the kwargs and x, message fragment)."""
    def buffer_shape(a, x):
        s = a["states"][0]
        a["states"][0] = s._replace(buffer=torch.zeros(*s.buffer.shape[:-1], s.buffer.shape[-1] + 1))
        return x

    def batch(a, x):
        return torch.cat((x, x))

    def dtype(a, x):
        return x.double()

    def half(a, x):
        return x.half()

    def two_frames(a, x):
        return torch.cat((x, x), dim=2)

    def se_total(a, x):
        a["se_total"] = torch.zeros(1, 3, 1, 1, 1)
        return x

    def missing_state(a, x):
        a["states"] = []
        return x

    def project(a, x):
        a["project_weight"] = a["project_weight"][:, :-1]
        return x

    def shortcut_half(a, x):
        a["shortcut_bias"] = None
        return x

    def gate(a, x):
        a["gate"] = "relu"
        return x

    def position_dtype(a, x):
        s = a["states"][0]
        a["states"][0] = s._replace(position=torch.zeros(1))
        return x

    def empty(a, x):
        return x[:, :, :, :0]

    return [
        ("buffer shape", buffer_shape, "stream buffer must have shape"),
        ("batch", batch, "stream buffer must have shape"),
        ("dtype", dtype, "dtype"),
        ("half", half, "supports float32 and float64"),
        ("two frames", two_frames, "one frame"),
        ("se_total", se_total, "se_total must have shape"),
        ("missing state", missing_state, "one stream state"),
        ("project width", project, "project_weight must have shape"),
        ("shortcut half", shortcut_half, "shortcut_weight and shortcut_bias"),
        ("gate", gate, "gate must be"),
        ("position dtype", position_dtype, "int64"),
        ("empty", empty, "empty"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda c: c[0])
def test_bad_input_raises_and_leaves_states(case):
    _, edit, message = case
    args = dict(_block("2plus1d-stride2", batch=1, size=(9, 10)), activation="swish", gate="sigmoid")
    with torch.no_grad():  # one good step first, so the states are not zeros
        fastvfx.movinet_block_step(torch.randn(1, 8, 1, 9, 10), count=torch.tensor([1]), **args)
    x = edit(args, torch.randn(1, 8, 1, 9, 10))
    before = _snapshot(args)
    with torch.no_grad(), pytest.raises(RuntimeError, match=message):
        fastvfx.movinet_block_step(x, count=torch.tensor([2]), **args)
    for old, new in zip(before, _snapshot(args)):
        assert torch.equal(old, new)


def test_identity_residual_needs_same_shape():
    args = _block("3d-stride2-shortcut", batch=1, size=(9, 10))
    args.update(shortcut_weight=None, shortcut_bias=None)
    with torch.no_grad(), pytest.raises(RuntimeError, match="without a shortcut projection"):
        fastvfx.movinet_block_step(torch.randn(1, 8, 1, 9, 10), count=torch.tensor([1]), **args)


def test_refuses_grad_mode():
    args = _block("3d-identity", batch=1, size=(6, 6))
    args["expand_weight"].requires_grad_(True)
    total = args["se_total"].clone()
    with pytest.raises(RuntimeError, match="inference-only"):
        fastvfx.movinet_block_step(torch.randn(1, 16, 1, 6, 6), count=torch.tensor([1]), **args)
    assert torch.equal(args["se_total"], total)
