"""Temporal shift (TSM) in TE / TVMScript.

Three kernels, the semantics of fastvfx.ops.temporal_shift:

- ``temporal_shift``: out-of-place; x (N*T, C, H, W), fold = C // fold_div;
  "bidirectional": channels [0, fold) take frame t+1 (zeros for the last
  frame), [fold, 2*fold) frame t-1 (zeros for the first), the rest copied;
  "past": channels [0, fold) take frame t-1.
- ``temporal_shift_inplace``: the same result written over x; only the
  shifted channels are touched.
- ``temporal_shift_online``: one streaming step, x (N, C, H, W) and cache
  (N, fold, H, W) swap channels [0, fold).
"""

# No "from __future__ import annotations": TVMScript reads the annotations
# of the prim funcs below as objects.

from typing import Optional

from .kernel import Arg, Kernel, split_vectorize, vector_width
from .targets import ScheduleConfig

MODES = ("bidirectional", "past")


def _check(nt: int, c: int, n_segment: int, fold_div: int, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"temporal_shift: mode must be one of {MODES}, got {mode!r}")
    if n_segment < 1 or nt % n_segment:
        raise ValueError(f"temporal_shift: N*T = {nt} is not a multiple of n_segment = {n_segment}")
    if fold_div < 1:
        raise ValueError(f"temporal_shift: fold_div must be >= 1, got {fold_div}")


def _schedule_copy(sch, block: str, plane: int, config: ScheduleConfig) -> None:
    # Memory bound: one thread per (frame, channel) plane run; each plane is a
    # contiguous run of H*W floats, so the inner loop is one vector of
    # contiguous loads and stores and the select conditions (on channel and
    # frame only) are hoisted out of it.
    b = sch.get_sblock(block)
    loops = sch.get_loops(b)
    outer = sch.fuse(*loops[:-2])
    sch.parallel(outer)
    hw = sch.fuse(*loops[-2:])
    split_vectorize(sch, hw, plane, config.lanes)


def temporal_shift(nt: int, c: int, h: int, w: int, n_segment: int, fold_div: int = 8,
                   mode: str = "bidirectional", name: str = "temporal_shift") -> Kernel:
    _check(nt, c, n_segment, fold_div, mode)
    fold = c // fold_div

    def make(config=None):
        from tvm import te, tirx

        x = te.placeholder((nt, c, h, w), "float32", name="x")
        zero = tirx.const(0.0, "float32")

        def body(f, ch, i, j):
            t = tirx.floormod(f, n_segment)
            previous = tirx.if_then_else(t > 0, x[tirx.max(f - 1, 0), ch, i, j], zero)
            if mode == "past":
                return tirx.if_then_else(ch < fold, previous, x[f, ch, i, j])
            following = tirx.if_then_else(t < n_segment - 1, x[tirx.min(f + 1, nt - 1), ch, i, j], zero)
            return tirx.if_then_else(
                ch < fold, following, tirx.if_then_else(ch < 2 * fold, previous, x[f, ch, i, j])
            )

        out = te.compute((nt, c, h, w), body, name="shift")
        return te.create_prim_func([x, out])

    def schedule(sch, config):
        _schedule_copy(sch, "shift", h * w, config)

    return Kernel(
        name, "temporal_shift",
        dict(nt=nt, c=c, h=h, w=w, n_segment=n_segment, fold_div=fold_div, mode=mode),
        (Arg("x", (nt, c, h, w)), Arg("out", (nt, c, h, w), role="out")),
        make, schedule,
        doc=f"out = temporal_shift(x, n_segment={n_segment}, fold_div={fold_div}, mode={mode!r})",
    )


def temporal_shift_inplace(nt: int, c: int, h: int, w: int, n_segment: int, fold_div: int = 8,
                           mode: str = "bidirectional", name: str = "temporal_shift_inplace") -> Kernel:
    _check(nt, c, n_segment, fold_div, mode)
    fold = c // fold_div
    batch, seg, hw = nt // n_segment, n_segment, h * w
    backward_lo, backward_hi = (0, fold) if mode == "past" else (fold, 2 * fold)
    forward_fold = 0 if mode == "past" else fold
    backward_fold = backward_hi - backward_lo

    def make(config: Optional[ScheduleConfig] = None):
        from tvm.script import tirx as T

        # An in-place kernel is scheduled in the script itself: TensorIR's
        # schedule primitives (rightly) refuse blocks that read what they
        # write. Frame order matters: frames t+1 -> t run with t ascending,
        # t-1 -> t with t descending, so the frame loop stays serial; the
        # planes (n, channel) run in parallel and the pixels of a plane, a
        # contiguous run, in vectors.
        v = vector_width(hw, config.lanes) if config else 1
        flat = (nt, c, hw)
        fdiv, bdiv = max(forward_fold, 1), max(backward_fold, 1)  # a loop of 0 planes never divides

        @T.prim_func(s_tir=True)
        def func(x_: T.Buffer((nt, c, h, w), "float32")):
            T.func_attr({"tirx.noalias": True})
            x = T.decl_buffer(flat, "float32", data=x_.data)
            for p in T.parallel(batch * forward_fold):
                for t in range(seg):
                    for q in range(hw // v):
                        for r in T.vectorized(v):
                            with T.sblock("shift_forward"):
                                T.reads(x[p // fdiv * seg + t: p // fdiv * seg + t + 2,
                                          p % fdiv, q * v + r])
                                T.writes(x[p // fdiv * seg + t, p % fdiv, q * v + r])
                                x[p // fdiv * seg + t, p % fdiv, q * v + r] = T.if_then_else(
                                    t < seg - 1,
                                    x[T.min(p // fdiv * seg + t + 1, nt - 1), p % fdiv, q * v + r],
                                    T.float32(0))
            for p in T.parallel(batch * backward_fold):
                for t in range(seg):
                    for q in range(hw // v):
                        for r in T.vectorized(v):
                            with T.sblock("shift_backward"):
                                T.reads(x[T.max(p // bdiv * seg + seg - 2 - t, 0):
                                          p // bdiv * seg + seg - t,
                                          backward_lo + p % bdiv, q * v + r])
                                T.writes(x[p // bdiv * seg + seg - 1 - t, backward_lo + p % bdiv,
                                           q * v + r])
                                x[p // bdiv * seg + seg - 1 - t, backward_lo + p % bdiv,
                                  q * v + r] = T.if_then_else(
                                    t < seg - 1,
                                    x[T.max(p // bdiv * seg + seg - 2 - t, 0),
                                      backward_lo + p % bdiv, q * v + r],
                                    T.float32(0))

        return func

    return Kernel(
        name, "temporal_shift_inplace",
        dict(nt=nt, c=c, h=h, w=w, n_segment=n_segment, fold_div=fold_div, mode=mode),
        (Arg("x", (nt, c, h, w), role="inout"),),
        make, None, tunable=False,
        doc=f"x = temporal_shift(x, n_segment={n_segment}, fold_div={fold_div}, mode={mode!r}), in place",
    )


def temporal_shift_online(n: int, c: int, h: int, w: int, fold: int, name: str = "temporal_shift_online") -> Kernel:
    if not 0 <= fold <= c:
        raise ValueError(f"temporal_shift_online: fold must be in [0, {c}], got {fold}")
    hw = h * w

    def make(config: Optional[ScheduleConfig] = None):
        from tvm.script import tirx as T

        # In place, so scheduled in the script (see temporal_shift_inplace):
        # planes in parallel, pixels in vectors.
        v = vector_width(hw, config.lanes) if config else 1
        fd = max(fold, 1)

        @T.prim_func(s_tir=True)
        def func(x_: T.Buffer((n, c, h, w), "float32"), cache_: T.Buffer((n, fold, h, w), "float32")):
            T.func_attr({"tirx.noalias": True})
            x = T.decl_buffer((n, c, hw), "float32", data=x_.data)
            cache = T.decl_buffer((n, fold, hw), "float32", data=cache_.data)
            for p in T.parallel(n * fold):
                for q in range(hw // v):
                    # Through a vector-sized scratch: a scalar let in a
                    # vectorized loop would be broadcast from one lane.
                    previous = T.alloc_buffer((v,), "float32", scope="local")
                    for r in T.vectorized(v):
                        with T.sblock("keep"):
                            T.reads(cache[p // fd, p % fd, q * v + r])
                            T.writes(previous[r])
                            previous[r] = cache[p // fd, p % fd, q * v + r]
                    for r in T.vectorized(v):
                        with T.sblock("store_cache"):
                            T.reads(x[p // fd, p % fd, q * v + r])
                            T.writes(cache[p // fd, p % fd, q * v + r])
                            cache[p // fd, p % fd, q * v + r] = x[p // fd, p % fd, q * v + r]
                    for r in T.vectorized(v):
                        with T.sblock("store_x"):
                            T.reads(previous[r])
                            T.writes(x[p // fd, p % fd, q * v + r])
                            x[p // fd, p % fd, q * v + r] = previous[r]

        return func

    return Kernel(
        name, "temporal_shift_online",
        dict(n=n, c=c, h=h, w=w, fold=fold),
        (Arg("x", (n, c, h, w), role="inout"), Arg("cache", (n, fold, h, w), role="inout")),
        make, None, tunable=False,
        doc="swap x[:, :fold] and cache (one step of online TSM), in place",
    )
