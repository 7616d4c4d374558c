"""tvm_schedules on the host: the TVM kernels (hand schedule, and the tuned
schedule when a database is given) against the fastvfx C++ kernels and the
pure-PyTorch reference, on the shapes of the reference models, all timed in
the same interleaved rounds of one process.

    pytest bench/test_tvm_bench.py [--benchmark-disable]
    FASTVFX_TVM_DB=tvm_db/host pytest bench/test_tvm_bench.py   # with tuned schedules

FASTVFX_TVM_BENCH_THREADS=N runs every contender on N threads (torch's
intra-op threads and TVM's TVM_NUM_THREADS): on a machine shared with other
work, 1 gives stable single-core ratios where two-thread regions wait for a
busy core. FASTVFX_TVM_BENCH_SETTLE_S sets the untimed pause before each call
(default 0.005 s; 0 times back to back). FASTVFX_TVM_DB names a MetaSchedule database (python -m tvm_schedules.tune
--target host ...); default tvm_db/host when that directory exists. Kernels
without a tuned record show "-" in the tuned column. FASTVFX_BENCH_QUICK=1
selects the quick budget and the first shape of each op. pytest-benchmark times
the hand-scheduled TVM kernel; the others run in its untimed setup, round by
round. The table at the end gives medians and the speed-up of each over the
reference. No test asserts on time; every contender is checked against the
reference before it is timed.
"""

from __future__ import annotations

import dataclasses
import os
import time
from functools import partial
from typing import Callable, Optional

import pytest
import torch

pytest.importorskip("tvm", reason="Apache TVM is not installed: pip install 'fastvfx[tvm]'")

from fastvfx import bench as fvb  # noqa: E402
from fastvfx.ops import causal_dwconv3d as fdw  # noqa: E402
from fastvfx.ops import temporal_focus_conv2d as ftfc  # noqa: E402
from fastvfx.ops import temporal_shift as fts  # noqa: E402
from tvm_schedules import build, shapes  # noqa: E402

QUICK = os.environ.get("FASTVFX_BENCH_QUICK") == "1"
THREADS = os.environ.get("FASTVFX_TVM_BENCH_THREADS")
# Two thread pools share this process: torch's OpenMP and TVM's runtime pool.
# Both spin a while after a parallel region before they sleep, and a call
# that starts while the other pool spins runs on half the cores. An untimed
# pause before each timed call lets the previous pool go to sleep, so each
# contender is timed as it runs in a program that uses only it.
# FASTVFX_TVM_BENCH_SETTLE_S=0 times the calls back to back instead: the
# pause costs the dispatched fastvfx op more than a bare TVM kernel (a cold
# start after each sleep), which matters for the microsecond-scale shifts.
SETTLE_S = float(os.environ.get("FASTVFX_TVM_BENCH_SETTLE_S", "0.005"))
MAX_ROUNDS = 100
_ROWS = pytest.StashKey[list]()


@dataclasses.dataclass
class Contenders:
    """The calls of one case on inputs built once, and ``check``, which
    compares each TVM variant with the reference before anything is timed."""

    reference: Callable[[], object]
    fastvfx: Callable[[], object]
    tvm_hand: Callable[[], object]
    tvm_tuned: Optional[Callable[[], object]]
    check: Callable[[], None]


def _database():
    path = os.environ.get("FASTVFX_TVM_DB") or ("tvm_db/host" if os.path.isdir("tvm_db/host") else None)
    return build.open_database(path) if path else None


@pytest.fixture(scope="module")
def database():
    return _database()


@pytest.fixture(scope="module", autouse=True)
def threads():
    """FASTVFX_TVM_BENCH_THREADS for this module only. TVM's pool reads
    TVM_NUM_THREADS when it is first used, which is after this."""
    if not THREADS:
        yield None
        return
    previous = torch.get_num_threads()
    os.environ["TVM_NUM_THREADS"] = THREADS
    torch.set_num_threads(int(THREADS))
    yield int(THREADS)
    torch.set_num_threads(previous)


def _kernels():
    chosen, seen = [], set()
    for shape_set in ("tsm-mobilenetv2", "movinet-a0", "squeezetime-k400"):
        for kernel in shapes.kernels_of(shape_set):
            if QUICK and kernel.op in seen:  # quick: the first kernel of each op
                continue
            seen.add(kernel.op)
            chosen.append(kernel)
    return chosen


def _randn(shape, seed, fan_in: int = 1):
    """Normal values; weights scaled by 1/sqrt(fan_in), as initialised
    layers are, so outputs stay of order one."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * fan_in**-0.5


def _fan_in(arg) -> int:
    if arg.name == "weight" or arg.name.endswith("_weight"):
        fan = 1
        for s in arg.shape[1:]:
            fan *= s
        return fan
    return 1


def _assert_close(got, want):
    """The fp32 tolerance of fastvfx.bench.verify: a different summation
    order moves a sum of K terms by a few ulps of its largest partial sums."""
    scale = max(1.0, want.abs().max().item())
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * scale)


def _contenders(kernel, database) -> Contenders:
    p = kernel.params
    hand = build.host_function(kernel)
    tuned = None
    if database is not None and kernel.tunable and build.tuned_module(
            kernel, build.targets.make_target("host"), database) is not None:
        tuned = build.host_function(kernel, database)
    a = {arg.name: (torch.zeros(arg.shape, dtype=torch.int64) if arg.dtype == "int64"
                    else _randn(arg.shape, i, _fan_in(arg)))
         for i, arg in enumerate(kernel.args)}
    args = [a[arg.name] for arg in kernel.args]

    def run(fn):
        return partial(fn, *args) if fn is not None else None

    if kernel.op == "temporal_shift":
        x, out = a["x"], a["out"]
        ref = partial(fts.temporal_shift_reference, x, p["n_segment"], p["fold_div"], p["mode"])
        fvx = partial(fts.temporal_shift, x, p["n_segment"], p["fold_div"], p["mode"])

        def check():
            want = ref()
            for fn in (hand, tuned):
                if fn is not None:
                    out.fill_(float("nan"))
                    fn(*args)
                    assert torch.equal(out, want), kernel.name
    elif kernel.op == "temporal_shift_inplace":
        x = a["x"]
        ref = partial(fts.temporal_shift_reference, x, p["n_segment"], p["fold_div"], p["mode"])
        fvx = partial(fts.temporal_shift_, x, p["n_segment"], p["fold_div"], p["mode"])

        def check():
            want = ref()
            hand(x)
            assert torch.equal(x, want), kernel.name
    elif kernel.op == "temporal_shift_online":
        x, cache = a["x"], a["cache"]
        fvx_cache = cache.clone()
        ref = partial(fts.temporal_shift_online_reference, x, cache)
        fvx = partial(fts.temporal_shift_online_, x, fvx_cache)

        def check():
            want_x, want_cache = (t.clone() for t in ref())
            hand(x, cache)
            assert torch.equal(x, want_x) and torch.equal(cache, want_cache), kernel.name
    elif kernel.op == "causal_dwconv3d" or (kernel.op == "causal_dwconv3d_step" and p.get("stateless")):
        x, w, b, y = a["x"], a["weight"], a.get("bias"), a["y"]
        ref = partial(fdw.causal_dwconv3d_reference, x, w, b, p["stride"], p["padding"], p["activation"])
        fvx = partial(fdw.causal_dwconv3d, x, w, b, p["stride"], p["padding"], p["activation"])

        def check():
            want = ref()
            for fn in (hand, tuned):
                if fn is not None:
                    y.fill_(float("nan"))
                    fn(*args)
                    _assert_close(y, want)
    elif kernel.op == "causal_dwconv3d_step":
        x, w, b, y = a["x"], a["weight"], a["bias"], a["y"]
        a["buffer"].zero_()
        kt, kh, kw = p["kernel"]
        state = fdw.init_stream_state(1, p["c"], kt, p["h"], p["w"], kernel_size=p["kernel"], stride=p["stride"])
        ref_buffer = torch.zeros_like(a["buffer"])
        ref = partial(fdw.causal_dwconv3d_stream_reference, x, w, b, ref_buffer, p["stride"], p["padding"],
                      p["activation"])
        fvx = partial(fdw.causal_dwconv3d_step, x, w, b, state, p["stride"], p["padding"], p["activation"])

        def check():
            want = ref()[0]  # first frame of a stream: zeros in the ring
            hand(*args)
            _assert_close(y, want)
    elif kernel.op == "temporal_focus_conv2d":
        t = {name: a.get(name) for name in ("x", "weight", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "bias")}
        call = (t["x"], t["weight"], t["fc1_weight"], t["fc1_bias"], t["fc2_weight"], t["fc2_bias"], t["bias"],
                p["stride"], p["padding"], p["pool"])
        ref = partial(ftfc.temporal_focus_conv2d_reference, *call)
        fvx = partial(ftfc.temporal_focus_conv2d, *call)

        def check():
            want_y, want_scale = ref()
            for fn in (hand, tuned):
                if fn is not None:
                    a["y"].fill_(float("nan"))
                    fn(*args)
                    _assert_close(a["y"], want_y)
                    _assert_close(a["scale"], want_scale)
    else:  # pragma: no cover
        raise NotImplementedError(kernel.op)
    no_grad = torch.no_grad()

    def guarded(fn):
        def call():
            with no_grad:
                return fn()
        return call

    return Contenders(guarded(ref), guarded(fvx), run(hand), run(tuned), check)


class _TablePrinter:
    """Prints the ratio table as the run's last word (registered as a plugin
    by the first case, so the shared bench/conftest.py stays as it is)."""

    def __init__(self):
        self.rows = []

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter):
        threads = f", {THREADS} thread(s)" if THREADS else ""
        terminalreporter.section(f"tvm_schedules vs fastvfx vs PyTorch reference (host{threads}, medians of this run)")
        if not self.rows:
            terminalreporter.write_line("no timings recorded (benchmarks disabled or none ran)")
        for line in format_rows(self.rows):
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def table(request):
    printer = _TablePrinter()
    request.config.pluginmanager.register(printer, "tvm_bench_table")
    return printer.rows


def format_rows(rows) -> list[str]:
    head = ("kernel", "reference ms", "fastvfx ms", "TVM hand ms", "TVM tuned ms", "fastvfx x", "TVM hand x",
            "TVM tuned x")
    body = []
    for name, ms in rows:
        ref = ms["reference"]
        cell = [name] + [("-" if ms.get(k) is None else f"{ms[k]:.4g}") for k in
                         ("reference", "fastvfx", "tvm_hand", "tvm_tuned")]
        cell += [("-" if ms.get(k) is None else f"{ref / ms[k]:.2f}x") for k in ("fastvfx", "tvm_hand", "tvm_tuned")]
        body.append(cell)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in body]
    return lines


class _SettledTimer(fvb.InterleavedTimer):
    """fastvfx.bench's interleaved rounds, with an untimed SETTLE_S pause
    before each call."""

    def round(self) -> None:
        for name, call in self.calls.items():
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            call()
            self.samples[name].append(time.perf_counter() - start)


@pytest.mark.parametrize("kernel", _kernels(), ids=lambda k: k.name)
def test_tvm_kernel(kernel, benchmark, bench_budget, database, table):
    c = _contenders(kernel, database)
    c.check()
    others = {"reference": c.reference, "fastvfx": c.fastvfx}
    if c.tvm_tuned is not None:
        others["tvm_tuned"] = c.tvm_tuned
    calls = dict(others, tvm_hand=c.tvm_hand)
    # The pauses are not in the budget's per-round estimate: cap the rounds.
    rounds = min(fvb.warm_up(calls, bench_budget), MAX_ROUNDS)
    timer = _SettledTimer(others)

    def setup():
        timer.round()
        time.sleep(SETTLE_S)

    benchmark.group = f"tvm {kernel.op}"
    benchmark.pedantic(c.tvm_hand, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)
    if not benchmark.enabled:
        return
    medians = {name: 1e3 * s["median_s"] for name, s in timer.stats().items()}
    medians["tvm_hand"] = 1e3 * fvb.summarize(benchmark.stats.stats.data)["median_s"]
    table.append((kernel.name, medians))
    benchmark.extra_info.update(medians)
