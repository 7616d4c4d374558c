"""The logic of ``fastvfx bench``'s report on synthetic timings: the spread
statistic, re-measuring noisy cases, the noise flag in the table, the
summary's geometric means and verdict, the load warning and the run-to-run
comparison. No timing is asserted."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fastvfx import cli
from fastvfx.bench import case as bench_case
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
    assert lines[1] == "tfc: 1.50x geometric mean over 1 cases"
    assert summary.geomean([2.0, 8.0]) == pytest.approx(4.0)


def test_verdict_names_the_losing_cases():
    rows = [("shift", _result(2.0, name="fast one")), ("models", _result(0.8, name="slow one")),
            ("models", _result(1.0, name="tie"))]
    line = summary.verdict_line(rows)
    assert line.startswith("fastvfx is faster than the PyTorch baseline in 1 of 3 cases")
    assert "slow one (0.80x)" in line and "tie (1.00x)" in line and "fast one" not in line
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
