"""The logic of ``fastvfx bench``'s report on synthetic timings: the spread
statistic, re-measuring noisy cases, the noise flag in the table, the
summary's geometric means and verdict, the load warning and the run-to-run
comparison. No timing is asserted."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from fastvfx import cli
from fastvfx.bench import case as bench_case
from fastvfx.bench import mixed_precision
from fastvfx.bench import summary
from fastvfx.bench.case import Case, Result, measure_until_quiet
from fastvfx.bench.report import format_table
from fastvfx.bench.timing import NOISY_SPREAD, QUICK, Budget, summarize


def _case(op: str = "op", name: str = "a case", layout: str = "NCHW") -> Case:
    return Case(op, (1, 2, 3, 4), layout, make=lambda: (), baseline=lambda: None, candidate=lambda: None, name=name)


def _times(median: float, spread: float = 0.0) -> list[float]:
    """Five samples around ``median`` whose IQR / median is ``spread``."""
    half = spread * median / 2
    return [median - 2 * half, median - half, median, median + half, median + 2 * half]


def _result(speedup: float, spread: float = 0.0, **case_fields) -> Result:
    stats = {"baseline": summarize(_times(speedup * 1e-3, spread)), "fastvfx": summarize(_times(1e-3))}
    return Result(_case(**case_fields), stats)


@pytest.mark.parametrize("seed", range(5))
def test_spread_is_iqr_over_median(seed):
    samples = np.random.default_rng(seed).exponential(1.0, size=int(3 + 10 * seed)).tolist()
    q1, median, q3 = np.percentile(samples, [25, 50, 75])  # numpy's default is the inclusive method
    stats = summarize(samples)
    assert stats["median_s"] == pytest.approx(median)
    assert stats["q1_s"] == pytest.approx(q1) and stats["q3_s"] == pytest.approx(q3)
    assert stats["spread"] == pytest.approx((q3 - q1) / median)


def test_single_sample_has_no_spread():
    assert summarize([0.5])["spread"] == 0.0


def test_result_spread_is_the_worse_of_baseline_and_fastvfx():
    result = Result(_case(), {"baseline": summarize(_times(2.0, 0.04)), "fastvfx": summarize(_times(1.0, 0.3))})
    assert result.spread == pytest.approx(0.3)
    assert result.noisy
    assert not _result(2.0, spread=NOISY_SPREAD / 2).noisy


class _ScriptedMeasure:
    """A fake measurement: returns results with the scripted spreads in turn."""

    def __init__(self, spreads):
        self.spreads = list(spreads)
        self.calls = 0

    def __call__(self, case, budget):
        spread = self.spreads[self.calls]
        self.calls += 1
        return Result(case, {"baseline": summarize(_times(2.0, spread)), "fastvfx": summarize(_times(1.0))})


@pytest.mark.parametrize(
    "spreads, retries, calls, kept, remeasured",
    [
        ([0.02], 2, 1, 0.02, 0),  # quiet: measured once
        ([0.3, 0.05], 2, 2, 0.05, 1),  # noisy, then quiet: stops
        ([0.3, 0.2, 0.25], 2, 3, 0.2, 2),  # stays noisy: keeps the quietest of three
        ([0.3, 0.5], 1, 2, 0.3, 1),  # the budget's retries bound the re-measuring
        ([0.3], 0, 1, 0.3, 0),
    ],
)
def test_noisy_case_is_measured_again(spreads, retries, calls, kept, remeasured):
    measure = _ScriptedMeasure(spreads)
    budget = Budget(warmup=1, min_rounds=1, max_rounds=1, seconds=0.1, retries=retries)
    result = measure_until_quiet(_case(), budget, measure=measure)
    assert measure.calls == calls
    assert result.spread == pytest.approx(kept)
    assert result.remeasured == remeasured
    assert result.noisy == (kept > NOISY_SPREAD)
    assert result.summary()["noisy"] == result.noisy


def test_table_flags_only_the_noisy_case():
    quiet, noisy = _result(2.0, 0.02, name="quiet case"), _result(2.0, 0.4, name="noisy case")
    for markdown in (False, True):
        lines = format_table([quiet, noisy], markdown=markdown).splitlines()
        assert "noisy" not in next(line for line in lines if "quiet case" in line)
        assert "40% noisy" in next(line for line in lines if line.lstrip("| ").startswith("noisy case"))


def test_summary_geomeans_per_family_and_op():
    rows = [
        ("shift", _result(2.0, op="in-place", name="s1")),
        ("shift", _result(8.0, op="in-place", name="s2")),
        ("shift", _result(0.5, op="online", name="s3")),
        ("tfc", _result(1.5, op="tfc 1x1", name="t1")),
    ]
    lines = summary.family_lines(rows)
    # shift: (2 * 8 * 0.5) ** (1/3) = 2; in-place: sqrt(16) = 4.
    assert lines[0] == "shift: 2.00x geometric mean over 3 cases (in-place 4.00x, online 0.50x)"
    assert lines[1] == "tfc: 1.50x geometric mean over 1 case"
    assert summary.geomean([2.0, 8.0]) == pytest.approx(4.0)


def test_verdict_names_the_losing_cases():
    rows = [("shift", _result(2.0, name="fast one")), ("models", _result(0.8, name="slow one")),
            ("models", _result(1.0, name="tie"))]
    line = summary.verdict_line(rows)
    assert line.startswith("fastvfx is faster than the PyTorch baseline in 1 of 3 cases")
    assert "slow one (0.80x)" in line and "tie (1.00x)" in line and "fast one" not in line
    noisy = summary.verdict_line([("shift", _result(0.9, spread=0.4, name="noisy loss")),
                                  ("shift", _result(0.9, name="steady loss"))])
    assert "noisy loss (0.90x, noisy)" in noisy and "steady loss (0.90x)" in noisy
    many = [("shift", _result(0.9, name=f"loss {i}")) for i in range(9)]
    assert summary.verdict_line(many).endswith("and 3 more.")
    assert summary.verdict_line([("shift", _result(3.0))]).endswith("in 1 of 1 cases.")


def test_model_lines_name_the_fastest():
    rows = [("models", _result(0.5, name="slow model")), ("models", _result(3.0, name="fast model")),
            ("shift", _result(2.0, name="not a model"))]
    lines = summary.model_lines(rows)
    assert len(lines) == 2
    assert lines[0].startswith("slow model: torch 0.5 ms, fastvfx 1.0 ms") and lines[0].endswith("fastest: torch")
    assert lines[1].endswith("fastest: fastvfx")


def test_summary_mentions_noise_only_when_present():
    quiet = [("shift", _result(2.0, 0.01))]
    assert not any("noisy" in line for line in summary.summary_lines(quiet))
    noisy = quiet + [("shift", _result(2.0, 0.5))]
    assert "1 of 2 cases stayed noisy" in summary.summary_lines(noisy)[-1]


@pytest.mark.parametrize("load, cpus, warns", [(0.5, 2, False), (1.0, 2, False), (1.01, 2, True), (3.0, 16, False)])
def test_load_warning(load, cpus, warns):
    warning = summary.load_warning(load, cpus)
    assert (warning is not None) == warns
    if warns:
        assert f"{load:.2f}" in warning


def _document(speedups: dict[str, float]) -> dict:
    return {"cases": [{"id": case_id, "speedup": value} for case_id, value in speedups.items()]}


def test_compare_within_and_beyond_tolerance():
    lines, ok = summary.compare_reports(_document({"a": 2.0, "b": 1.0}), _document({"a": 2.28, "b": 0.9}))
    assert ok, lines  # 14% and 11%
    lines, ok = summary.compare_reports(_document({"a": 2.0, "b": 1.0}), _document({"a": 2.0, "b": 1.2}))
    assert not ok
    assert any(line.startswith("DIFF") and " b:" in line for line in lines)
    assert lines[-1] == "1 of 2 cases agree within 15%"
    lines, ok = summary.compare_reports(_document({"a": 2.0}), _document({"a": 2.0, "c": 1.0}))
    assert not ok and any(line.startswith("MISS") and " c:" in line for line in lines)


def test_compare_command_exit_status(tmp_path, capsys):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    a.write_text(json.dumps(_document({"x": 3.0})))
    b.write_text(json.dumps(_document({"x": 3.3})))
    c.write_text(json.dumps(_document({"x": 4.0})))
    assert cli.main(["bench", "--compare", str(a), str(b)]) == 0
    assert cli.main(["bench", "--compare", str(a), str(c)]) == 1
    assert "33%" in capsys.readouterr().out


def test_every_shift_case_times_clone():
    from fastvfx.bench import shift

    assert all(case.clone_floor for case in shift.cases())


def test_readable_case_names():
    from fastvfx.bench import dwconv3d, tfc

    labels = [case.label for case in dwconv3d.cases() + tfc.cases()]
    assert "dwconv3d step 40ch 56² k5x3x3" in labels
    assert "dwconv3d clip 24ch 56² k1x5x5 s2 T8" in labels
    assert "tfc 1x1 512ch 7² batch 8" in labels
    assert len(set(labels)) == len(labels)


def test_clone_fraction_of_an_out_of_place_copy():
    # An op moving x's bytes as fast as clone runs at 100% of clone.
    case = Case("copy", (2, 8, 4, 4), "NCHW", make=lambda: (), baseline=None, candidate=None,
                moved_bytes=2 * bench_case.nbytes((2, 8, 4, 4)), clone_floor=True)
    stats = {name: summarize([seconds]) for name, seconds in (("baseline", 3.0), ("clone", 1.0), ("fastvfx", 2.0))}
    assert Result(case, stats).clone_fraction == pytest.approx(0.5)
    assert math.isclose(Result(case, stats).summary()["clone_fraction"], 0.5)


def _contended_case(other_result, skipped_reason="skipped: not installed") -> Case:
    import torch

    x = torch.arange(6.0)
    return Case("op", (6,), "NCHW", make=lambda: (x,), baseline=lambda x: x * 2, candidate=lambda x: x + x,
                exact=False,
                others=lambda x: {"good": lambda: other_result(x), "absent": skipped_reason})


def test_other_contenders_are_timed_and_skips_recorded():
    case = _contended_case(lambda x: 2 * x)
    bench_case.verify(case)
    calls, skipped = bench_case.prepare(case)
    assert list(calls) == ["baseline", "good", "fastvfx"]
    assert skipped == {"absent": "skipped: not installed"}
    result = bench_case.measure_case(case, Budget(warmup=1, min_rounds=3, max_rounds=3, seconds=0.01))
    assert result.others == ["good", "absent"]
    summary_row = result.summary()
    assert summary_row["good_ms"] > 0 and "absent_ms" not in summary_row
    assert summary_row["skipped"] == {"absent": "skipped: not installed"}
    header, row = format_table([result]).splitlines()
    assert header.split()[-4:] == ["good", "ms", "absent", "ms"]
    assert row.split()[-1] == "skipped"


def test_a_wrong_other_contender_fails_verification():
    case = _contended_case(lambda x: 2 * x + 1)
    with pytest.raises(AssertionError, match="good differs from the baseline"):
        bench_case.verify(case)


def test_model_line_names_the_fastest_of_three():
    stats = {"baseline": summarize([0.188]), "onnxruntime": summarize([0.039]), "fastvfx": summarize([0.142])}
    line = summary.model_lines([("models", Result(_case(name="tsm clip"), stats))])[0]
    assert line == "tsm clip: torch 188.0 ms, fastvfx 142.0 ms, onnxruntime 39.0 ms; fastest: onnxruntime"
    skipped = Result(_case(name="movinet step"), {"baseline": summarize([0.0173]), "fastvfx": summarize([0.0081])},
                     skipped={"onnxruntime": "skipped: needs fastvfx.export"})
    line = summary.model_lines([("models", skipped)])[0]
    assert line.endswith("onnxruntime skipped: needs fastvfx.export; fastest: fastvfx")


def test_stream_contender_waits_for_fastvfx_export(monkeypatch):
    from fastvfx.bench import ort

    monkeypatch.setattr(ort, "stream_export", lambda: None)
    monkeypatch.setattr(ort, "missing_packages", lambda: [])
    assert ort.stream_contender(("m", (1,)), None, None, 0) == "skipped: needs fastvfx.export"
    monkeypatch.setattr(ort, "missing_packages", lambda: ["onnxscript"])
    reason = ort.clip_contender(("m", (1,)), None, None)
    assert reason.startswith("skipped: onnxscript not installed")


def test_onnxruntime_clip_contender_runs_the_exported_model():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import torch

    from fastvfx.bench import ort

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        call = ort.clip_contender(("tiny", "test"), model, x)
    finally:
        torch.set_num_threads(before)
    assert callable(call), call
    with torch.no_grad():
        torch.testing.assert_close(call(), model(x), rtol=1e-5, atol=1e-6)
    # Cached per key: a second contender reuses the file and, at the same threads, the session.
    path = ort._exported[("tiny", "test")]
    assert ort._session(path, 1).get_session_options().intra_op_num_threads == 1
    torch.set_num_threads(1)
    try:
        # model None: exporting again would fail and return a reason instead.
        assert callable(ort.clip_contender(("tiny", "test"), None, x))
    finally:
        torch.set_num_threads(before)
    assert ort._exported[("tiny", "test")] == path


def test_stream_contender_hook_contract(monkeypatch, tmp_path):
    """The hook for fastvfx.export: stream_onnx(model, path, frame_shape) once
    per key with the frame's (N, 3, H, W) shape, OnnxStream(path, threads=torch
    threads, session_options=the clip sessions' options: the intra-op pool does
    not spin), one call per frame after the same warm-up frames as the torch
    contenders."""
    import types

    import torch

    from fastvfx.bench import ort

    pytest.importorskip("onnxruntime")  # the session options the contender passes
    log = []

    class FakeStream:
        def __init__(self, path, threads=None, session_options=None):
            spinning = session_options.get_session_config_entry("session.intra_op.allow_spinning")
            log.append(("open", threads, session_options.intra_op_num_threads, spinning))
            self.frames = 0

        def __call__(self, frame):
            assert frame.shape == (1, 3, 2, 2)
            self.frames += 1
            return frame.sum().reshape(1) * self.frames

    def stream_onnx(model, path, frame_shape):
        log.append(("export", frame_shape))
        open(path, "wb").close()

    fake = types.SimpleNamespace(stream_onnx=stream_onnx, OnnxStream=FakeStream)
    monkeypatch.setattr(ort, "stream_export", lambda: fake)
    monkeypatch.setattr(ort, "missing_packages", lambda: [])
    frame = torch.ones(1, 3, 1, 2, 2)
    step = ort.stream_contender(("fake stream", "test"), object(), frame, warm_frames=3)
    assert step().item() == 12 * 4  # the fourth frame: the three warm-up frames ran first
    ort.stream_contender(("fake stream", "test"), object(), frame, warm_frames=0)
    opened = ("open", torch.get_num_threads(), torch.get_num_threads(), "0")  # the clip sessions' options
    assert log == [("export", (1, 3, 2, 2)), opened, opened]


def test_cases_build_their_tensors_on_the_bench_device():
    """--device: every family but the models (whole networks, too slow for a
    unit test) builds its inputs on the chosen device; "meta" stands in for
    cuda here, as it needs no GPU."""
    import torch

    from fastvfx.bench import dwconv3d, shift, tfc

    def leaves(value):
        if isinstance(value, torch.nn.Module):
            return list(value.parameters())
        if isinstance(value, (list, tuple)):
            return [leaf for item in value for leaf in leaves(item)]
        return [value] if isinstance(value, torch.Tensor) else []

    chosen = [case for case in shift.cases() + dwconv3d.cases() + tfc.cases() if "backward" not in case.op]
    picked = {case.op: case for case in chosen}.values()  # one case per op
    with bench_case.on_device("meta"):
        assert bench_case.device() == torch.device("meta")
        for case in picked:
            # Data only: init_stream_state keeps its int64 frame counter on the host.
            tensors = [t for t in leaves(case.make()) if t.is_floating_point()]
            assert tensors and all(t.device.type == "meta" for t in tensors), case.id
    assert bench_case.device() == torch.device("cpu")


def test_to_device_keeps_the_structure():
    import torch

    from fastvfx.ops.causal_dwconv3d import StreamState

    state = StreamState(torch.zeros(2), torch.zeros(1), torch.empty(0))
    value = {"backend": "torch", "frames": None, "blocks": [state, (torch.ones(1), 3)]}
    with bench_case.on_device("meta"):
        moved = bench_case.to_device(value)
    assert moved["backend"] == "torch" and moved["frames"] is None
    assert isinstance(moved["blocks"][0], StreamState) and moved["blocks"][0].buffer.device.type == "meta"
    assert moved["blocks"][1][0].device.type == "meta" and moved["blocks"][1][1] == 3


def test_timer_waits_for_the_device_inside_the_timing():
    from fastvfx.bench.timing import InterleavedTimer

    events = []
    timer = InterleavedTimer({"a": lambda: events.append("a"), "b": lambda: events.append("b")},
                             sync=lambda: events.append("sync"))
    timer.round()
    assert events == ["a", "sync", "b", "sync"]


def test_fast_calls_are_repeated_within_a_sample():
    import time

    from fastvfx.bench.timing import MIN_SAMPLE_S, InterleavedTimer, plan_rounds

    counts = {"fast": 0, "slow": 0}

    def fast():
        counts["fast"] += 1

    def slow():
        counts["slow"] += 1
        time.sleep(2 * MIN_SAMPLE_S)

    # One count for both, set by the fast call: every call of a case is
    # measured the same way (back-to-back calls warm the caches).
    rounds, repeat = plan_rounds({"fast": fast, "slow": slow}, Budget(1, 3, 3, 0.0))
    assert rounds == 3 and repeat["slow"] == repeat["fast"] > 1
    assert plan_rounds({"slow": slow}, Budget(1, 3, 3, 0.0))[1] == {"slow": 1}
    timer = InterleavedTimer({"fast": fast, "slow": slow}, repeat={"fast": 4})
    before = dict(counts)
    timer.round()
    timer.round()
    assert counts["fast"] - before["fast"] == 8 and counts["slow"] - before["slow"] == 2
    assert len(timer.samples["fast"]) == len(timer.samples["slow"]) == 2


def test_speedup_is_the_median_of_same_round_ratios():
    from fastvfx.bench.timing import InterleavedTimer

    # fastvfx is 2x faster in every round; a threefold slowdown of the machine
    # hits the baseline's call of round 3 and both calls of rounds 4 and 5. The
    # medians of the two calls then come from different machine states (6.0 /
    # 1.0), the same-round ratios mostly do not.
    timer = InterleavedTimer({"baseline": lambda: None, "fastvfx": lambda: None})
    timer.samples["baseline"] = [2.0, 2.0, 6.0, 6.0, 6.0]
    timer.samples["fastvfx"] = [1.0, 1.0, 1.0, 3.0, 3.0]
    ratios = timer.paired_ratios("baseline", "fastvfx")
    assert ratios == pytest.approx([2.0, 2.0, 6.0, 2.0, 2.0])
    result = Result(_case(), timer.stats(), ratios=summarize(ratios))
    assert result.speedup == pytest.approx(2.0)
    assert Result(_case(), timer.stats()).speedup == pytest.approx(6.0)


def test_cuda_is_refused_clearly_without_it(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: nothing to refuse")
    assert cli.main(["bench", "--quick", "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    assert "--device cuda: torch.cuda.is_available() is False" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_16bit_family_covers_each_op_in_bfloat16():
    from fastvfx.bench import run

    assert run.FAMILIES[summary.SIXTEEN_BIT] is mixed_precision
    ops = {case.op for case in mixed_precision.cases()}
    for kind in ("dwconv3d clip", "dwconv3d step", "dwconv2d", "tfc 1x1", "shift out-of-place"):
        assert f"{kind} bf16" in ops
    layouts = {case.layout for case in mixed_precision.cases() if case.op == "dwconv2d bf16"}
    assert layouts == {"NCHW", "channels_last"}
    assert any(op.endswith(" fp16") for op in ops)


# Spacing of 16-bit values: a result computed in float32 and stored in 16 bits
# is off by half of it; four allow for the reference's own roundings.
_EPS = {"bf16": 2.0**-8, "fp16": 2.0**-10}


@pytest.mark.parametrize("case", mixed_precision.cases(), ids=lambda case: case.id)
def test_16bit_case_compares_like_with_like(case):
    """The case builders: the baseline runs in float32, the candidate (and
    torch16 where timed) in the case's 16-bit type, on the same values, and
    their results agree to a few 16-bit roundings (the shift: exactly)."""
    import torch

    dtype_name = case.op.split()[-1]
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype_name]
    tolerance = 4 * _EPS[dtype_name]
    args = case.make()
    expected = case.baseline(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    contenders = {"fastvfx": lambda: case.candidate(*args)}
    contenders.update((name, call) for name, call in case.others(*args).items() if callable(call))
    for name, call in contenders.items():
        actual = call()
        actual = actual if isinstance(actual, tuple) else (actual,)
        assert len(actual) == len(expected)
        for got, want in zip(actual, expected):
            assert want.dtype == torch.float32 and got.dtype == dtype, (name, want.dtype, got.dtype)
            assert got.shape == want.shape
            if "shift" in case.op:
                assert torch.equal(got.float(), want), name
            else:
                scale = max(1.0, want.abs().max().item())
                diff = (got.float() - want).abs().max().item()
                assert diff <= tolerance * scale, f"{name}: max abs diff {diff:g} over {tolerance:g} x {scale:g}"


def test_16bit_rows_have_their_own_verdict():
    rows = [("shift", _result(2.0, name="a shift")), (summary.SIXTEEN_BIT, _result(0.5, name="tfc bf16 slow")),
            (summary.SIXTEEN_BIT, _result(2.0, name="tfc bf16 fast"))]
    lines = summary.summary_lines(rows)
    assert lines[1] == "16bit: 1.00x geometric mean over 2 cases of float32 time / 16-bit time"
    assert "fastvfx is faster than the PyTorch baseline in 1 of 1 cases." in lines
    assert "fastvfx in 16 bits is faster than in float32 in 1 of 2 cases; not in: tfc bf16 slow (0.50x)." in lines
    only_16bit = summary.summary_lines(rows[1:])
    assert not any("PyTorch baseline" in line for line in only_16bit)
    assert summary.headline(rows).startswith("fastvfx vs its baseline, geometric mean speed-up: shift 2.00x, "
                                             "16bit (vs float32) 1.00x;")
    assert summary.headline(rows[:1]).startswith("fastvfx vs PyTorch,")


# The bench's allocator setting, read off glibc in fresh processes: a 6 MB
# block is a fresh mmap by default (its pages fault in on first touch, every
# time one is allocated again) and comes from the heap once freed memory is
# kept; a freed 20 MB block at the heap's top stays in the process (the heap
# is not trimmed). glibc marks an mmapped chunk with bit 1 of the size word
# before the block.
_MALLOC_SCRIPT = r"""
import ctypes, sys
from fastvfx.bench.timing import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory() is not None
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.sbrk.restype = ctypes.c_void_p
libc.sbrk.argtypes = [ctypes.c_long]
block = libc.malloc(6 << 20)
mmapped = bool(ctypes.c_size_t.from_address(block - 8).value & 2)
libc.free(block)
big = libc.malloc(20 << 20)
ctypes.memset(big, 1, 20 << 20)
top = libc.sbrk(0)
libc.free(big)
print(int(mmapped), int(libc.sbrk(0) == top))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt (Linux)")
def test_keep_freed_memory_sets_glibc_malloc(tmp_path):
    def run(mode: str) -> tuple[int, int]:
        # cwd: the installed fastvfx, not a source tree's.
        out = subprocess.run([sys.executable, "-c", _MALLOC_SCRIPT, mode], capture_output=True, text=True,
                             check=True, cwd=tmp_path)
        mmapped, kept = out.stdout.split()
        return int(mmapped), int(kept)

    assert run("default")[0] == 1, "glibc's default: a 6 MB block is a fresh mmap"
    mmapped, heap_kept = run("keep")
    assert mmapped == 0, "with freed memory kept, a 6 MB block comes from the heap"
    assert heap_kept == 1, "with freed memory kept, freeing the heap's top does not trim it"
