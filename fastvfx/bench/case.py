"""A benchmark case (inputs, baseline, candidate), how it is checked and
timed, and its result. The family modules declare the cases."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from functools import partial
from typing import Callable, Optional, Sequence, Union

import torch
from torch import Tensor

from .timing import NOISY_SPREAD, Budget, InterleavedTimer, memcpy_call, plan_rounds, summarize


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark: inputs, the baseline a user would otherwise run, and
    the fastvfx candidate, both called as ``fn(*make())``."""

    op: str
    shape: tuple[int, ...]
    layout: str
    make: Callable[[], tuple[Tensor, ...]]
    baseline: Callable[..., object]
    candidate: Callable[..., object]
    # Bytes the candidate reads plus writes; set for the memory-bound shift ops.
    moved_bytes: Optional[int] = None
    # Also time x.clone() (of the first input): for the shift ops the roofline,
    # one read and one write of x, including filling fresh output memory.
    clone_floor: bool = False
    # The shifts move bytes and must be bit-exact; the convs sum in another order.
    exact: bool = True
    # Floating-point operations of one candidate call, for compute-bound ops.
    flops: Optional[int] = None
    # torch threads for this case (None: leave torch's setting alone).
    threads: Optional[int] = None
    # A readable name for tables and the chart ("dwconv3d step 40ch 56² k5x3x3").
    name: Optional[str] = None
    # Further contenders (e.g. ONNX Runtime), from the made inputs: name ->
    # zero-argument callable, or the reason it was skipped (a string).
    others: Optional[Callable[..., dict[str, Union[Callable[[], object], str]]]] = None

    @property
    def id(self) -> str:
        return f"{self.op}-{'x'.join(map(str, self.shape))}-{self.layout}"

    @property
    def label(self) -> str:
        return self.name or f"{self.op} ({','.join(map(str, self.shape))}) {self.layout}"


def nbytes(shape: Sequence[int]) -> int:
    """Bytes of a float32 tensor of ``shape``."""
    return 4 * math.prod(shape)


_device = [torch.device("cpu")]


def device() -> torch.device:
    """The device the cases build their tensors on (``fastvfx bench --device``)."""
    return _device[0]


@contextlib.contextmanager
def on_device(name: str):
    """Build and time the cases on device ``name`` within the block."""
    before = _device[0]
    _device[0] = torch.device(name)
    try:
        yield
    finally:
        _device[0] = before


def to_device(value):
    """``value`` with every tensor and module in it (through lists, tuples,
    named tuples and dicts) moved to the bench device."""
    if isinstance(value, (torch.Tensor, torch.nn.Module)):
        return value.to(device())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(to_device(item) for item in value))
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(item) for item in value)
    if isinstance(value, dict):
        return {key: to_device(item) for key, item in value.items()}
    return value


def _synchronize() -> Optional[Callable[[], None]]:
    """CUDA runs asynchronously: a timed call must wait for its kernels."""
    return torch.cuda.synchronize if device().type == "cuda" else None


@contextlib.contextmanager
def threads_for(case: Case):
    """Run a block with the case's torch thread count (restored after)."""
    if case.threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(case.threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


# A 16-bit result against a float32 baseline (the 16bit family): a few
# roundings to the 16-bit type's spacing, relative to the output's largest value.
HALF_TOLERANCE = {torch.bfloat16: 4 * 2.0**-8, torch.float16: 4 * 2.0**-10}


def _check(case: Case, who: str, expected: tuple, actual: tuple) -> None:
    for want, got in zip(expected, actual, strict=True):
        scale = want.abs().max().item() if want.numel() else 0.0
        tolerance = HALF_TOLERANCE.get(got.dtype) if got.dtype != want.dtype else None
        # Upcasting a 16-bit value to float32 is exact: an exact case stays exact.
        got = got.to(want.dtype)
        if case.exact:
            same = torch.equal(got, want)
        elif tolerance is not None:
            same = torch.allclose(got, want, rtol=tolerance, atol=tolerance * max(1.0, scale))
        else:
            same = torch.allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, scale))
        if not same:
            diff = (got - want).abs().max().item()
            raise AssertionError(f"{case.label}: {who} differs from the baseline (max abs diff {diff:g})")


def verify(case: Case) -> None:
    """Raise AssertionError unless the candidate (and every other contender)
    gives the baseline's result on fresh inputs, so that no benchmark times a
    broken kernel."""
    with threads_for(case):
        args = case.make()
        expected = _as_tuple(case.baseline(*args))
        others = case.others(*args) if case.others else {}
        for name, call in others.items():
            if callable(call):
                _check(case, name, expected, _as_tuple(call()))
        _check(case, "fastvfx", expected, _as_tuple(case.candidate(*case.make())))


def prepare(case: Case) -> tuple[dict[str, Callable[[], object]], dict[str, str]]:
    """The calls timed for a case, in round order, on inputs built once:
    ``baseline``, ``clone`` and ``memcpy`` where they apply, the other
    contenders, then ``fastvfx``; and the other contenders skipped, with why."""
    args = case.make()
    calls = {"baseline": partial(case.baseline, *args)}
    if case.clone_floor:
        calls["clone"] = args[0].clone
    if case.moved_bytes is not None:
        calls["memcpy"] = memcpy_call(nbytes(case.shape), device())
    others = case.others(*args) if case.others else {}
    calls.update((name, call) for name, call in others.items() if callable(call))
    skipped = {name: reason for name, reason in others.items() if isinstance(reason, str)}
    calls["fastvfx"] = partial(case.candidate, *args)
    return calls, skipped


@dataclasses.dataclass(frozen=True)
class Result:
    """A case's timings: ``stats`` maps each call of :func:`prepare` to
    :func:`~fastvfx.bench.timing.summarize` output; ``ratios`` summarises the
    baseline / fastvfx time ratios of the same rounds (None: the speed-up is
    the ratio of the medians). Other ratios use medians.
    ``remeasured``: how often the case was measured again for noise;
    ``skipped``: other contenders not timed, with the reason."""

    case: Case
    stats: dict[str, dict]
    remeasured: int = 0
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    ratios: Optional[dict] = None

    @property
    def others(self) -> list[str]:
        """The other contenders (timed or skipped), e.g. ``onnxruntime``."""
        fixed = ("baseline", "clone", "memcpy", "fastvfx")
        return [name for name in self.stats if name not in fixed] + list(self.skipped)

    def _median(self, name: str) -> Optional[float]:
        return self.stats[name]["median_s"] if name in self.stats else None

    @property
    def speedup(self) -> float:
        """The median over rounds of baseline time / fastvfx time in the same
        round (a slow stretch that hits both cancels)."""
        if self.ratios is not None:
            return self.ratios["median_s"]
        return self._median("baseline") / self._median("fastvfx")

    @property
    def spread(self) -> float:
        """The larger spread (IQR / median) of the two calls the speed-up divides."""
        return max(self.stats[name].get("spread", 0.0) for name in ("baseline", "fastvfx"))

    @property
    def noisy(self) -> bool:
        return self.spread > NOISY_SPREAD

    @property
    def clone_fraction(self) -> Optional[float]:
        """The candidate's bandwidth as a fraction of ``x.clone()``'s, which
        reads and writes all of x once: 1.0 is clone's roofline."""
        if "clone" not in self.stats or self.case.moved_bytes is None:
            return None
        clone_bytes_per_s = 2 * nbytes(self.case.shape) / self._median("clone")
        return self.case.moved_bytes / self._median("fastvfx") / clone_bytes_per_s

    @property
    def memcpy_bytes_per_s(self) -> Optional[float]:
        """memcpy bandwidth on a copy of x: read + write bytes per second."""
        seconds = self._median("memcpy")
        return None if seconds is None else 2 * nbytes(self.case.shape) / seconds

    @property
    def memcpy_fraction(self) -> Optional[float]:
        """The candidate's bandwidth (bytes it moves per second) as a fraction of memcpy's."""
        if "memcpy" not in self.stats:
            return None
        return self.case.moved_bytes / self._median("fastvfx") / self.memcpy_bytes_per_s

    def summary(self) -> dict:
        """Flat numbers for JSON and pytest-benchmark's extra_info."""
        row = {
            "baseline_ms": 1e3 * self._median("baseline"),
            "fastvfx_ms": 1e3 * self._median("fastvfx"),
            "speedup": self.speedup,
            "spread": self.spread,
            "noisy": self.noisy,
            "remeasured": self.remeasured,
        }
        if self.ratios is not None:
            row["speedup_rounds"] = {"median": self.ratios["median_s"], "q1": self.ratios["q1_s"],
                                     "q3": self.ratios["q3_s"], "spread": self.ratios["spread"],
                                     "rounds": self.ratios["repeats"]}
        if self.case.flops is not None:
            row["GFLOPs"] = self.case.flops / self._median("fastvfx") / 1e9
        if "clone" in self.stats:
            row["clone_ms"] = 1e3 * self._median("clone")
        if self.clone_fraction is not None:
            row["clone_fraction"] = self.clone_fraction
        if "memcpy" in self.stats:
            row["memcpy_GBps"] = self.memcpy_bytes_per_s / 1e9
            row["memcpy_fraction"] = self.memcpy_fraction
        for name in self.others:
            if name in self.stats:
                row[f"{name}_ms"] = 1e3 * self._median(name)
        if self.skipped:
            row["skipped"] = dict(self.skipped)
        return row


def measure_case(case: Case, budget: Budget) -> Result:
    """Warm up, then time a case's calls in interleaved rounds."""
    with threads_for(case):
        calls, skipped = prepare(case)
        sync = _synchronize()
        rounds, repeat = plan_rounds(calls, budget, sync)
        timer = InterleavedTimer(calls, sync, repeat)
        for _ in range(rounds):
            timer.round()
        ratios = summarize(timer.paired_ratios("baseline", "fastvfx"))
        return Result(case, timer.stats(), skipped=skipped, ratios=ratios)


def measure_until_quiet(case: Case, budget: Budget,
                        measure: Callable[[Case, Budget], Result] = measure_case) -> Result:
    """Measure a case; while its spread exceeds NOISY_SPREAD, measure it again,
    up to ``budget.retries`` times, and keep the quietest measurement (it may
    still be noisy, which the report flags)."""
    best = measure(case, budget)
    for attempt in range(1, budget.retries + 1):
        if not best.noisy:
            break
        again = measure(case, budget)
        best = min(best, again, key=lambda result: result.spread)
        best = dataclasses.replace(best, remeasured=attempt)
    return best
