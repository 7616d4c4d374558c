"""Helpers shared by the TVM tests (imported after conftest.py has made
tvm_schedules importable)."""

from __future__ import annotations

from tvm_schedules import targets

# Every schedule family, applied to the kernels and compiled for this
# machine: the tiling / vector / unroll choices of the ARM schedules are
# checked here numerically; their ARM code generation under qemu
# (test_cross.py).
SCHEDULE_FAMILIES = {
    "host": "host",
    "avx2": None,
    "neon-a53": "rpi3",
    "neon-a72": "rpi4",
    "neon-a32": "rpi4-armv7",
}


def schedule_config_for(family: str) -> targets.ScheduleConfig:
    board = SCHEDULE_FAMILIES[family]
    if board is None:
        return targets.ScheduleConfig("avx2", 8, 4, 2)
    return targets.schedule_config(board)


# ---------------------------------------------------------------------------
# Inputs and expected results of any kernel, from the fastvfx references
# (used where a kernel runs outside this process, e.g. under qemu).
# ---------------------------------------------------------------------------


def make_arguments(kernel, seed: int = 0) -> list:
    """Every argument of ``kernel``: random inputs, NaN-filled outputs; a
    streaming step starts mid-stream (position past the ring's length, so
    every slot is read) with a random ring."""
    import torch

    g = torch.Generator().manual_seed(seed)
    values = []
    for a in kernel.args:
        if a.dtype == "int64":
            values.append(torch.tensor([kernel.params["kernel"][0] + 2], dtype=torch.int64))
        elif a.role == "out":
            values.append(torch.full(a.shape, float("nan")))
        else:
            values.append(torch.randn(a.shape, generator=g))
    return values


def expected_arguments(kernel, values: list) -> list:
    """Every argument after a correct call, computed by the fastvfx
    pure-PyTorch references."""
    from fastvfx.ops import causal_dwconv3d as fdw
    from fastvfx.ops import temporal_focus_conv2d as ftfc
    from fastvfx.ops import temporal_shift as fts

    p = kernel.params
    named = {a.name: v for a, v in zip(kernel.args, values)}
    out = {name: v.clone() for name, v in named.items()}
    if kernel.op in ("temporal_shift", "temporal_shift_inplace"):
        shifted = fts.temporal_shift_reference(named["x"], p["n_segment"], p["fold_div"], p["mode"])
        out["out" if kernel.op == "temporal_shift" else "x"] = shifted
    elif kernel.op == "temporal_shift_online":
        x, cache = fts.temporal_shift_online_reference(named["x"], named["cache"])
        out["x"], out["cache"] = x, cache.clone()
    elif kernel.op == "causal_dwconv3d" or (kernel.op == "causal_dwconv3d_step" and p.get("stateless")):
        out["y"] = fdw.causal_dwconv3d_reference(named["x"], named["weight"], named.get("bias"), p["stride"],
                                                  p["padding"], p["activation"])
    elif kernel.op == "causal_dwconv3d_step":
        nh, pos = p["kernel"][0] - 1, int(named["position"])
        ring = named["buffer"]
        chronological = ring[:, :, [(pos - nh + j) % nh for j in range(nh)]]
        out["y"], _ = fdw.causal_dwconv3d_stream_reference(named["x"], named["weight"], named["bias"], chronological,
                                                           p["stride"], p["padding"], p["activation"])
        out["buffer"][:, :, pos % nh] = named["x"][:, :, 0]
        out["position"] = named["position"] + 1
    elif kernel.op == "temporal_focus_conv2d":
        out["y"], out["scale"] = ftfc.temporal_focus_conv2d_reference(
            named["x"], named["weight"], named["fc1_weight"], named.get("fc1_bias"), named["fc2_weight"],
            named.get("fc2_bias"), named.get("bias"), p["stride"], p["padding"], p["pool"])
    else:  # pragma: no cover - a new op without a reference here
        raise NotImplementedError(kernel.op)
    return [out[a.name] for a in kernel.args]


def assert_arguments_match(kernel, got: list, expected: list) -> None:
    """Shifts and integer state bit-exact; convolutions to 1e-5."""
    import torch

    exact = kernel.op.startswith("temporal_shift")
    for a, g, e in zip(kernel.args, got, expected):
        g = torch.as_tensor(g)
        if exact or a.dtype == "int64" or a.name == "buffer":
            assert torch.equal(g, e), f"{kernel.name}: argument {a.name} differs"
        else:
            torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5, msg=lambda m: f"{kernel.name}.{a.name}: {m}")
