"""What every kernel of tvm_schedules is: an unscheduled PrimFunc, its
arguments (for the C header, the drivers and the tests), and the hand
schedule of each CPU family."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

from .targets import ScheduleConfig

ACTIVATIONS = ("relu", "relu6", "hardswish", "swish")


@dataclasses.dataclass(frozen=True)
class Arg:
    """One argument of an exported function. ``role``: ``"in"``, ``"out"``, or
    ``"inout"`` (read and updated in place)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    role: str = "in"

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


@dataclasses.dataclass(frozen=True)
class Kernel:
    """An operator instance at fixed shapes.

    ``make(config=None)`` builds the PrimFunc: unscheduled (what MetaSchedule
    tunes), or, for kernels scheduled in the script itself (the in-place
    ones, ``schedule`` None), laid out for ``config``.
    ``schedule(sch, config)`` applies the hand schedule to a
    ``tvm.s_tir.Schedule`` of it. ``tunable`` is False for in-place kernels,
    whose correctness relies on an iteration order that an automatic search
    is free to change.
    """

    name: str
    op: str
    params: dict[str, Any]
    args: tuple[Arg, ...]
    make: Callable[..., Any]
    schedule: Optional[Callable[[Any, ScheduleConfig], None]]
    tunable: bool = True
    doc: str = ""

    def prim_func(self, config: Optional[ScheduleConfig] = None):
        func = self.make(config)
        return func.with_attr("global_symbol", self.name)

    def module(self, config: Optional[ScheduleConfig] = None):
        """The unscheduled IRModule (laid out for ``config`` where the kernel
        is scheduled in its script)."""
        import tvm

        return tvm.IRModule({self.name: self.prim_func(config)})

    def scheduled(self, config: ScheduleConfig):
        """The IRModule with the hand schedule applied."""
        from tvm import s_tir

        if self.schedule is None:
            return self.module(config)
        sch = s_tir.Schedule(self.module(config))
        sch.work_on(self.name)
        self.schedule(sch, config)
        return sch.mod


def vector_width(extent: int, lanes: int) -> int:
    """The inner vector length for a loop of ``extent``; always a divisor, so
    no split leaves a predicated tail. Two or one full registers when they
    divide; else the largest divisor that fits one register (14 of 16 lanes
    for 196 pixels, 7 for 49), never a wider odd vector: LLVM lowers 28- or
    49-wide fp32 vectors poorly (host, one thread: the 256x14x14 TFC took
    6.7 ms with 49-wide vectors, 0.34 ms with 14-wide; the 40x56x56 clip
    conv 3.8 ms with 56-wide rows, 1.8 ms with 14-wide). A short loop with
    no divisor of at least half a register (7 pixels on NEON) is vectorized
    whole, two registers at most."""
    for mult in (2, 1):
        if extent % (lanes * mult) == 0:
            return lanes * mult
    best = max(d for d in range(1, min(extent, lanes) + 1) if extent % d == 0)
    if 2 * best < lanes and extent <= 2 * lanes:
        return extent
    return best


def split_vectorize(sch, loop, extent: int, lanes: int):
    """Split ``loop`` so its inner part is one vector; returns (outer, inner)."""
    v = vector_width(extent, lanes)
    if v >= extent:
        sch.vectorize(loop)
        return None, loop
    outer, inner = sch.split(loop, [None, v])
    sch.vectorize(inner)
    return outer, inner


def check_activation(name: Optional[str]) -> None:
    if name not in (None, "none", "silu") and name not in ACTIVATIONS:
        raise ValueError(f"activation must be None or one of {ACTIVATIONS}, got {name!r}")


def activation_expr(value, name: Optional[str]):
    """Fused activation of a float32 expression, as torch defines it."""
    from tvm import tirx

    zero = tirx.const(0.0, "float32")
    if name is None or name == "none":
        return value
    if name == "relu":
        return tirx.max(value, zero)
    if name == "relu6":
        return tirx.min(tirx.max(value, zero), tirx.const(6.0, "float32"))
    if name == "hardswish":
        three, six = tirx.const(3.0, "float32"), tirx.const(6.0, "float32")
        return value * tirx.min(tirx.max(value + three, zero), six) / six
    if name in ("swish", "silu"):
        return value * tirx.sigmoid(value)
    raise ValueError(f"activation must be None or one of {ACTIVATIONS}, got {name!r}")
