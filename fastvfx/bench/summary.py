"""The plain-words end of a run: geometric-mean speed-ups per family, the
model rows, where fastvfx wins and where not, the load warning, and the
comparison of two report.json files (run-to-run agreement)."""

from __future__ import annotations

import math
import statistics
from typing import Optional, Sequence

from .case import Result

# Two back-to-back runs on a quiet machine agree when every case's speed-up
# differs by at most this fraction between them.
AGREEMENT = 0.15
# The family whose baseline is fastvfx itself in float32, not PyTorch: its
# speed-up is float32 time / 16-bit time (fastvfx/bench/mixed_precision.py).
SIXTEEN_BIT = "16bit"
# Losing cases named in the one-line verdict before "and N more".
_NAMED_LOSSES = 6


def geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def _group(rows: Sequence[tuple[str, Result]]) -> dict[str, list[Result]]:
    """Results by family, in order of first appearance."""
    groups: dict[str, list[Result]] = {}
    for family, result in rows:
        groups.setdefault(family, []).append(result)
    return groups


def family_lines(rows: Sequence[tuple[str, Result]]) -> list[str]:
    """Per family: the geometric-mean speed-up over its cases, and per op
    where the family has several."""
    lines = []
    for family, results in _group(rows).items():
        cases = f"{len(results)} case" + ("s" if len(results) > 1 else "")
        line = f"{family}: {geomean([r.speedup for r in results]):.2f}x geometric mean over {cases}"
        if family == SIXTEEN_BIT:
            line += " of float32 time / 16-bit time"
        ops: dict[str, list[float]] = {}
        for result in results:
            ops.setdefault(result.case.op, []).append(result.speedup)
        if len(ops) > 1:
            line += " (" + ", ".join(f"{op} {geomean(values):.2f}x" for op, values in ops.items()) + ")"
        lines.append(line)
    return lines


def model_lines(rows: Sequence[tuple[str, Result]]) -> list[str]:
    """One line per model case: each contender's time (or why it was
    skipped) and the fastest of those timed."""
    lines = []
    for family, result in rows:
        if family != "models":
            continue
        summary = result.summary()
        times = {"torch": summary["baseline_ms"], "fastvfx": summary["fastvfx_ms"]}
        times.update((name, summary[f"{name}_ms"]) for name in result.others if f"{name}_ms" in summary)
        parts = [f"{name} {ms:.1f} ms" for name, ms in times.items()]
        parts += [f"{name} {reason}" for name, reason in result.skipped.items()]
        lines.append(f"{result.case.label}: {', '.join(parts)}; fastest: {min(times, key=times.get)}")
    return lines


def _wins(subject: str, results: Sequence[Result]) -> str:
    """"<subject> in W of N cases", then the cases with speed-up <= 1, each
    marked "noisy" where its spread stayed above the limit (a busy machine's
    loss may not be one)."""
    losses = [r for r in results if r.speedup <= 1.0]
    line = f"{subject} in {len(results) - len(losses)} of {len(results)} cases"
    if not losses:
        return line + "."
    named = ", ".join(f"{r.case.label} ({r.speedup:.2f}x{', noisy' if r.noisy else ''})"
                      for r in losses[:_NAMED_LOSSES])
    more = f" and {len(losses) - _NAMED_LOSSES} more" if len(losses) > _NAMED_LOSSES else ""
    return f"{line}; not in: {named}{more}."


def verdict_line(rows: Sequence[tuple[str, Result]]) -> str:
    """Where fastvfx beats the PyTorch baseline (speed-up > 1) and where it
    does not; the 16bit family, whose baseline is float32, has its own line."""
    return _wins("fastvfx is faster than the PyTorch baseline", [r for f, r in rows if f != SIXTEEN_BIT])


def sixteen_bit_line(rows: Sequence[tuple[str, Result]]) -> Optional[str]:
    """Where fastvfx's 16-bit path beats its float32 path, if the run has the 16bit family."""
    results = [r for f, r in rows if f == SIXTEEN_BIT]
    return _wins("fastvfx in 16 bits is faster than in float32", results) if results else None


def noise_line(rows: Sequence[tuple[str, Result]]) -> Optional[str]:
    noisy = [r for _, r in rows if r.noisy]
    if not noisy:
        return None
    return (f"{len(noisy)} of {len(rows)} cases stayed noisy after re-measuring (marked 'noisy'): "
            "their ratios may move between runs.")


def summary_lines(rows: Sequence[tuple[str, Result]]) -> list[str]:
    """The summary a run ends with, from ``(family, result)`` pairs."""
    if not rows:
        return []
    lines = family_lines(rows) + model_lines(rows)
    if any(family != SIXTEEN_BIT for family, _ in rows):
        lines.append(verdict_line(rows))
    lines += [line for line in (sixteen_bit_line(rows), noise_line(rows)) if line]
    return lines


def headline(rows: Sequence[tuple[str, Result]]) -> str:
    """One line for the chart's title."""
    def part(family: str, results: Sequence[Result]) -> str:
        against = " (vs float32)" if family == SIXTEEN_BIT else ""
        return f"{family}{against} {geomean([r.speedup for r in results]):.2f}x"

    groups = _group(rows)
    parts = ", ".join(part(family, results) for family, results in groups.items())
    wins = sum(r.speedup > 1.0 for _, r in rows)
    against = "its baseline" if SIXTEEN_BIT in groups else "PyTorch"
    return f"fastvfx vs {against}, geometric mean speed-up: {parts}; faster in {wins} of {len(rows)} cases"


def load_warning(load_average: float, cpus: int) -> Optional[str]:
    """A warning when other processes kept the CPUs busy as the run started:
    busy cores stall torch's thread pool at every parallel region."""
    if load_average <= cpus / 2:
        return None
    return (f"load average {load_average:.2f} on {cpus} CPUs when the run started: other processes competed "
            "for the CPUs, so the timings are noisy; re-run on a quiet machine")


def compare_reports(first: dict, second: dict, tolerance: float = AGREEMENT) -> tuple[list[str], bool]:
    """Per case present in both report.json documents, the two speed-ups and
    their relative difference (larger / smaller - 1); ``ok`` when every one is
    within ``tolerance`` and both hold the same cases."""
    a = {case["id"]: case for case in first["cases"]}
    b = {case["id"]: case for case in second["cases"]}
    lines, ok = [], True
    for case_id in [i for i in a if i in b]:
        s1, s2 = a[case_id]["speedup"], b[case_id]["speedup"]
        difference = max(s1, s2) / min(s1, s2) - 1
        agree = difference <= tolerance
        ok &= agree
        lines.append(f"{'ok  ' if agree else 'DIFF'}  {case_id}: {s1:.2f}x vs {s2:.2f}x ({100 * difference:.0f}%)")
    for case_id in [i for i in a if i not in b] + [i for i in b if i not in a]:
        ok = False
        lines.append(f"MISS  {case_id}: in one report only")
    agreeing = sum(line.startswith("ok") for line in lines)
    lines.append(f"{agreeing} of {len(lines)} cases agree within {100 * tolerance:.0f}%")
    return lines, ok
