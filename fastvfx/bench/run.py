"""``fastvfx bench``: the catalogue of families, the selection of cases, and
the run that measures them and writes the report."""

from __future__ import annotations

import dataclasses
import datetime
import os
import sys
from typing import Optional, Sequence

import torch

from .._info import info
from . import dwconv3d, models, shift, tfc
from .case import Case, measure_case, verify
from .report import Progress, format_table, summary_lines, write_report
from .timing import DEFAULT, QUICK

# name -> the module declaring its cases (its ``cases()``), in report order.
FAMILIES = {"shift": shift, "dwconv3d": dwconv3d, "tfc": tfc, "models": models}


def family_cases(families: Optional[Sequence[str]] = None, pattern: Optional[str] = None) -> list[tuple[str, Case]]:
    """``(family, case)`` for the chosen families (default: all), in order,
    keeping the cases whose id or label contains ``pattern`` (any case when
    None). Builds no tensors."""
    chosen = list(FAMILIES) if not families else list(families)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
    picked = [(family, case) for family in chosen for case in FAMILIES[family].cases()]
    if pattern:
        picked = [(f, c) for f, c in picked if pattern in c.id or pattern in c.label]
    return picked


def _command(quick: bool, out_dir: str, threads: Optional[int], family: Optional[str],
             pattern: Optional[str] = None) -> str:
    parts = ["fastvfx bench"] + (["--quick"] if quick else []) + (["--only", family] if family else [])
    if pattern:
        parts += ["--filter", repr(pattern) if " " in pattern else pattern]
    parts += ["--out", out_dir]
    if threads is not None:
        parts += ["--threads", str(threads)]
    return " ".join(parts)


def cases() -> list[Case]:
    """Every case of every family, grouped by op. Builds no tensors."""
    return [case for _, case in family_cases()]


def run_report(quick: bool, out_dir: str, threads: Optional[int] = None, family: Optional[str] = None,
               pattern: Optional[str] = None) -> int:
    """Run every case (or one family's, see :data:`FAMILIES`; or those whose id
    contains ``pattern``), print the ratio table and write ``report.json``,
    ``report.md`` and ``speedups.png`` into ``out_dir``. Returns the exit code."""
    selected = family_cases([family] if family else None, pattern)
    if not selected:
        print(f"error: no benchmark case matches --filter {pattern!r} (fastvfx bench --list shows them)",
              file=sys.stderr)
        return 2
    if threads is not None:
        torch.set_num_threads(threads)
    budget = QUICK if quick else DEFAULT
    machine = info()
    context = {
        "command": _command(quick, out_dir, threads, family, pattern),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "torch_threads": torch.get_num_threads(),
        "load_average_before": os.getloadavg()[0],
        "budget": dataclasses.asdict(budget),
    }
    print(
        f"fastvfx {machine['fastvfx']} | torch {machine['torch (running)']} | ISA {machine['active ISA']} "
        f"| {machine['threads']} threads | {machine['machine']}"
    )
    if context["load_average_before"] > (os.cpu_count() or 1) / 2:
        # Busy cores stall torch's thread pool at every parallel region: timings get noisy.
        print(f"note: load average {context['load_average_before']:.2f}; other processes may compete for the CPUs")

    results, families = [], []
    progress = Progress(len(selected))
    for family_name, case in selected:
        progress.begin(case.label)
        try:
            verify(case)
        except AssertionError as error:
            progress.end("FAILED")
            print(f"error: {error}", file=sys.stderr)
            return 1
        result = measure_case(case, budget)
        results.append(result)
        families.append(family_name)
        progress.end(f"{result.speedup:.2f}x")
    progress.finish()
    print()
    print(format_table(results))
    for line in summary_lines(results):
        print(line)
    files = write_report(out_dir, context, results, families)
    print("\nwrote " + ", ".join(path for path in files.values() if path))
    return 0
