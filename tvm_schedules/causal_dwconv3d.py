"""Causal depthwise Conv3D (MoViNets) in TE / TVMScript, semantics of
fastvfx.ops.causal_dwconv3d.

- ``causal_dwconv3d``: full clip. x (N, C, T, H, W), weight (C, 1, kT, kH,
  kW), bias (C,) optional; kT-1 zero frames in front, temporal stride 1,
  spatial stride s, padding "same" (TensorFlow: out = ceil(in / s), the odd
  pixel at the bottom / right) or a symmetric int; bias and activation fused.
- ``causal_dwconv3d_step``: one frame of a stream. ``buffer`` (N, C, kT-1,
  H, W) is the ring of past input frames and ``position`` (int64, one
  element) the count of frames consumed, the layout of fastvfx's
  StreamState: absolute frame ``a`` lives in slot ``a % (kT-1)``. The step
  reads the ring, writes y, stores the new frame over the oldest slot and
  increments position, as the fastvfx op does. A kT = 1 layer has no state:
  its step is the clip kernel at T = 1.
"""

# No "from __future__ import annotations": TVMScript reads the annotations
# of the prim funcs below as objects.

from typing import Optional, Union

from .kernel import Arg, Kernel, activation_expr, check_activation, vector_width
from .targets import ScheduleConfig

Padding = Union[str, int]


def spatial_padding(size: int, kernel: int, stride: int, padding: Padding) -> tuple[int, int, int]:
    """(out, pad_front, pad_back) of one spatial dimension."""
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"causal_dwconv3d: padding must be 'same' or an int >= 0, got {padding!r}")
    return (size + 2 * padding - kernel) // stride + 1, padding, padding


def _geometry(h, w, kernel, stride, padding):
    kt, kh, kw = kernel
    if min(kernel) < 1 or stride < 1:
        raise ValueError(f"causal_dwconv3d: bad kernel {kernel} or stride {stride}")
    oh, pt, pb = spatial_padding(h, kh, stride, padding)
    ow, pl, pr = spatial_padding(w, kw, stride, padding)
    return oh, ow, pt, pb, pl, pr


def _row_tile(oh: int, vectors_per_row: int) -> int:
    """Output rows per register tile. Two rows beat one on every MoViNet-A0
    layer (host, one thread: 0.66 -> 0.47 ms at 64x28x28, 1.25 -> 0.90 ms at
    the stride-2 1x5x5 layer); four were faster on some layers and slower on
    others (spills), so two where OH allows and the accumulators fit."""
    if oh % 2 == 0 and 2 * vectors_per_row <= 12:
        return 2
    return 1


def _schedule_dwconv(sch, oh: int, ow: int, kernel, config: ScheduleConfig) -> None:
    # Loops of "conv": n, c, t, oh, ow, rt, rh, rw.
    # - one task per (n, c): depthwise channels are independent, and the
    #   padded frames of a channel ("pad", computed at that loop) stay in L2;
    # - the register tile is a few output rows x one vector of a row, inside
    #   the kT*kH*kW taps: every tap is a broadcast weight times input
    #   vectors, and the rows of the tile reuse the input rows their taps
    #   share (a 3-tall kernel reads 4 input rows for 2 output rows, not 6);
    # - the small kernel loops are unrolled; bias + activation run on the
    #   register tile before it is stored (epilogue at the same loop).
    conv = sch.get_sblock("conv")
    n, c, t, h_, w_, rt, rh, rw = sch.get_loops(conv)
    nc = sch.fuse(n, c)
    sch.parallel(nc)
    v = vector_width(ow, config.lanes)
    rows = _row_tile(oh, -(-v // config.lanes))
    h_o, h_i = sch.split(h_, [None, rows])
    if v < ow:
        w_o, w_i = sch.split(w_, [None, v])
        sch.reorder(h_o, w_o, rt, rh, rw, h_i, w_i)
    else:  # a whole row is one vector
        w_o, w_i = h_o, w_
        sch.reorder(h_o, rt, rh, rw, h_i, w_i)
    sch.unroll(h_i)
    sch.vectorize(w_i)
    if kernel[1] * kernel[2] <= 25:
        sch.unroll(rh)
        sch.unroll(rw)
    epilogue = sch.get_sblock("epilogue")
    sch.reverse_compute_at(epilogue, w_o, preserve_unit_loops=True)
    sch.vectorize(sch.get_loops(epilogue)[-1])
    sch.decompose_reduction(conv, rt)
    pad = sch.get_sblock("pad")
    sch.compute_at(pad, nc)
    sch.vectorize(sch.get_loops(pad)[-1])


def causal_dwconv3d(n: int, c: int, t: int, h: int, w: int, kernel: tuple[int, int, int], stride: int = 1,
                    padding: Padding = "same", activation: Optional[str] = None, bias: bool = True,
                    name: str = "causal_dwconv3d") -> Kernel:
    kt, kh, kw = kernel
    oh, ow, pt, pb, pl, pr = _geometry(h, w, kernel, stride, padding)
    check_activation(activation)

    def make(config=None):
        from tvm import te, tirx

        x = te.placeholder((n, c, t, h, w), "float32", name="x")
        weight = te.placeholder((c, 1, kt, kh, kw), "float32", name="weight")
        b = te.placeholder((c,), "float32", name="bias") if bias else None
        zero = tirx.const(0.0, "float32")
        pad = te.compute(
            (n, c, t + kt - 1, h + pt + pb, w + pl + pr),
            lambda i, ch, f, y, z: tirx.if_then_else(
                tirx.all(f >= kt - 1, y >= pt, y < pt + h, z >= pl, z < pl + w),
                x[i, ch, f - (kt - 1), y - pt, z - pl], zero),
            name="pad",
        )
        rt, rh, rw = te.reduce_axis((0, kt), "rt"), te.reduce_axis((0, kh), "rh"), te.reduce_axis((0, kw), "rw")
        conv = te.compute(
            (n, c, t, oh, ow),
            lambda i, ch, f, y, z: te.sum(
                pad[i, ch, f + rt, y * stride + rh, z * stride + rw] * weight[ch, 0, rt, rh, rw], axis=[rt, rh, rw]),
            name="conv",
        )
        out = te.compute(
            (n, c, t, oh, ow),
            lambda i, ch, f, y, z: activation_expr(conv[i, ch, f, y, z] + (b[ch] if bias else zero), activation),
            name="epilogue",
        )
        return te.create_prim_func([x, weight] + ([b] if bias else []) + [out])

    def schedule(sch, config):
        _schedule_dwconv(sch, oh, ow, kernel, config)

    args = [Arg("x", (n, c, t, h, w)), Arg("weight", (c, 1, kt, kh, kw))]
    args += [Arg("bias", (c,))] if bias else []
    args += [Arg("y", (n, c, t, oh, ow), role="out")]
    return Kernel(
        name, "causal_dwconv3d",
        dict(n=n, c=c, t=t, h=h, w=w, kernel=tuple(kernel), stride=stride, padding=padding,
             activation=activation, bias=bias),
        tuple(args), make, schedule,
        doc=f"y = causal_dwconv3d(x, weight, {'bias' if bias else 'None'}, stride={stride}, "
            f"padding={padding!r}, activation={activation!r})",
    )


def causal_dwconv3d_step(n: int, c: int, h: int, w: int, kernel: tuple[int, int, int], stride: int = 1,
                         padding: Padding = "same", activation: Optional[str] = None, bias: bool = True,
                         name: str = "causal_dwconv3d_step") -> Kernel:
    kt, kh, kw = kernel
    if kt == 1:
        # No past frames: nothing to keep between steps.
        k = causal_dwconv3d(n, c, 1, h, w, kernel, stride, padding, activation, bias, name)
        return Kernel(name, "causal_dwconv3d_step", dict(k.params, stateless=True), k.args, k.make, k.schedule,
                      doc=k.doc + " (kT = 1: a step is the clip kernel at T = 1, no state)")
    nh = kt - 1
    oh, ow, pt, pb, pl, pr = _geometry(h, w, kernel, stride, padding)
    hp, wp = h + pt + pb, w + pl + pr
    check_activation(activation)

    def make(config: Optional[ScheduleConfig] = None):
        from tvm.script import tirx as T

        def epilogue_value(acc, b):
            return activation_expr(acc + b, activation)

        # The ring is read (pad) and then written (push): the conv pipeline
        # lives in its own block "compute", a scope the schedule primitives
        # accept; the push, in place, is laid out in the script (planes in
        # parallel, pixels in vectors).
        v = vector_width(h * w, config.lanes) if config else 1

        @T.prim_func(s_tir=True)
        def func(
            x: T.Buffer((n, c, 1, h, w), "float32"),
            weight: T.Buffer((c, 1, kt, kh, kw), "float32"),
            b: T.Buffer((c,), "float32"),
            buffer: T.Buffer((n, c, nh, h, w), "float32"),
            position: T.Buffer((1,), "int64"),
            y: T.Buffer((n, c, 1, oh, ow), "float32"),
        ):
            T.func_attr({"tirx.noalias": True})
            with T.sblock("compute"):
                T.reads(x[0:n, 0:c, 0, 0:h, 0:w], weight[0:c, 0, 0:kt, 0:kh, 0:kw], b[0:c],
                        buffer[0:n, 0:c, 0:nh, 0:h, 0:w], position[0])
                T.writes(y[0:n, 0:c, 0, 0:oh, 0:ow])
                pad = T.sblock_alloc_buffer((n, c, kt, hp, wp), "float32")
                conv = T.sblock_alloc_buffer((n, c, 1, oh, ow), "float32")
                # Padded frames a = position - (kT-1) + f, f = 0..kT-1: the
                # last is x, the others come from ring slot a % (kT-1), or are
                # zeros before the start of the stream.
                for i, ch, f, yy, zz in T.grid(n, c, kt, hp, wp):
                    with T.sblock("pad"):
                        vi, vc, vf, vy, vz = T.axis.remap("SSSSS", [i, ch, f, yy, zz])
                        pad[vi, vc, vf, vy, vz] = T.if_then_else(
                            vy >= pt and vy < pt + h and vz >= pl and vz < pl + w,
                            T.if_then_else(
                                vf == nh,
                                x[vi, vc, 0, vy - pt, vz - pl],
                                T.if_then_else(
                                    position[0] + T.int64(vf) >= T.int64(nh),
                                    buffer[vi, vc, T.floormod(position[0] + T.int64(vf), T.int64(nh)),
                                           vy - pt, vz - pl],
                                    T.float32(0),
                                ),
                            ),
                            T.float32(0),
                        )
                for i, ch, f, yy, zz, rt, rh, rw in T.grid(n, c, 1, oh, ow, kt, kh, kw):
                    with T.sblock("conv"):
                        vi, vc, vf, vy, vz, vt, vh, vw = T.axis.remap("SSSSSRRR", [i, ch, f, yy, zz, rt, rh, rw])
                        with T.init():
                            conv[vi, vc, vf, vy, vz] = T.float32(0)
                        conv[vi, vc, vf, vy, vz] = conv[vi, vc, vf, vy, vz] + (
                            pad[vi, vc, vf + vt, vy * stride + vh, vz * stride + vw] * weight[vc, 0, vt, vh, vw]
                        )
                for i, ch, f, yy, zz in T.grid(n, c, 1, oh, ow):
                    with T.sblock("epilogue"):
                        vi, vc, vf, vy, vz = T.axis.remap("SSSSS", [i, ch, f, yy, zz])
                        y[vi, vc, vf, vy, vz] = epilogue_value(conv[vi, vc, vf, vy, vz], b[vc])
            # After every read of the ring: the new frame replaces the oldest.
            ring = T.decl_buffer((n * c, nh, h * w), "float32", data=buffer.data)
            frame = T.decl_buffer((n * c, h * w), "float32", data=x.data)
            for p in T.parallel(n * c):
                for q in range(h * w // v):
                    for r in T.vectorized(v):
                        with T.sblock("push"):
                            T.reads(frame[p, q * v + r], position[0])
                            T.writes(ring[p, 0:nh, q * v + r])
                            ring[p, T.floormod(position[0], T.int64(nh)), q * v + r] = frame[p, q * v + r]
            with T.sblock("advance"):
                position[0] = position[0] + T.int64(1)

        return func

    def schedule(sch, config):
        _schedule_dwconv(sch, oh, ow, kernel, config)

    if not bias:
        raise ValueError("causal_dwconv3d_step: the TVM step kernel takes a bias (pass zeros for none)")
    args = (
        Arg("x", (n, c, 1, h, w)), Arg("weight", (c, 1, kt, kh, kw)), Arg("bias", (c,)),
        Arg("buffer", (n, c, nh, h, w), role="inout"), Arg("position", (1,), "int64", role="inout"),
        Arg("y", (n, c, 1, oh, ow), role="out"),
    )
    return Kernel(
        name, "causal_dwconv3d_step",
        dict(n=n, c=c, h=h, w=w, kernel=tuple(kernel), stride=stride, padding=padding, activation=activation,
             bias=True),
        args, make, schedule, tunable=False,
        doc=f"one streaming step of causal_dwconv3d (stride={stride}, padding={padding!r}, "
            f"activation={activation!r}); updates buffer and position in place",
    )
