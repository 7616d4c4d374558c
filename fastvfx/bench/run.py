"""``fastvfx bench``: the catalogue of families, the selection of cases, and
the run that measures them and writes the report."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import sys
from typing import Optional, Sequence

import torch

from .._info import info
from . import blocks, dwconv3d, mixed_precision, models, shift, tfc
from .case import Case, measure_until_quiet, on_device, verify
from .report import Progress, format_table, write_report
from .summary import SIXTEEN_BIT, compare_reports, load_warning, summary_lines
from .timing import DEFAULT, QUICK, keep_freed_memory

# name -> the module declaring its cases (its ``cases()``), in report order.
FAMILIES = {"shift": shift, "dwconv3d": dwconv3d, "tfc": tfc, "blocks": blocks, "models": models,
            SIXTEEN_BIT: mixed_precision}


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
             pattern: Optional[str] = None, device: str = "cpu") -> str:
    parts = ["fastvfx bench"] + (["--quick"] if quick else []) + (["--only", family] if family else [])
    if device != "cpu":
        parts += ["--device", device]
    if pattern:
        parts += ["--filter", repr(pattern) if " " in pattern else pattern]
    parts += ["--out", out_dir]
    if threads is not None:
        parts += ["--threads", str(threads)]
    return " ".join(parts)


def cases() -> list[Case]:
    """Every case of every family, grouped by op. Builds no tensors."""
    return [case for _, case in family_cases()]


def family_of(case: Case) -> str:
    """The family that declares ``case`` (matched by id); a case of none of
    them (the extra sweeps of the pytest suites in bench/) is named by the
    first word of its op."""
    return next((family for family, other in family_cases() if other.id == case.id), case.op.split()[0])


def device_problem(name: str) -> Optional[str]:
    """Why the cases cannot run on device ``name``, or None."""
    if name == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only torch build" if torch.version.cuda is None else "no usable CUDA device"
        return f"--device cuda: torch.cuda.is_available() is False ({build}, torch {torch.__version__})"
    return None


def run_report(quick: bool, out_dir: str, threads: Optional[int] = None, family: Optional[str] = None,
               pattern: Optional[str] = None, device: str = "cpu") -> int:
    """Run every case (or one family's, see :data:`FAMILIES`; or those whose id
    contains ``pattern``), print the ratio table and the summary and write
    ``report.json``, ``report.md`` and ``speedups.png`` into ``out_dir``.
    Every case builds its tensors on ``device``; on CUDA, a case whose op has
    no CUDA kernel is listed as unsupported instead of failing the run.
    Returns the exit code."""
    problem = device_problem(device)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    selected = family_cases([family] if family else None, pattern)
    if not selected:
        print(f"error: no benchmark case matches --filter {pattern!r} (fastvfx bench --list shows them)",
              file=sys.stderr)
        return 2
    if threads is not None:
        torch.set_num_threads(threads)
    budget = QUICK if quick else DEFAULT
    machine = info()
    machine["allocator"] = keep_freed_memory() or "the C library's default (no glibc mallopt here)"
    load = os.getloadavg()[0]
    context = {
        "command": _command(quick, out_dir, threads, family, pattern, device),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "load_average_before": load,
        "load_warning": load_warning(load, os.cpu_count() or 1),
        "budget": dataclasses.asdict(budget),
    }
    print(
        f"fastvfx {machine['fastvfx']} | torch {machine['torch (running)']} | ISA {machine['active ISA']} "
        f"| {machine['threads']} threads | {machine['machine']}"
    )
    if context["load_warning"]:
        print(f"WARNING: {context['load_warning']}")

    rows, unsupported = [], []
    progress = Progress(len(selected))
    with on_device(device):
        for family_name, case in selected:
            progress.begin(case.label)
            try:
                verify(case)
            except AssertionError as error:
                progress.end("FAILED")
                print(f"error: {error}", file=sys.stderr)
                return 1
            except (RuntimeError, NotImplementedError) as error:
                if device == "cpu":
                    raise
                # An op without a kernel for this device: say so, keep going.
                reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
                unsupported.append({"id": case.id, "label": case.label, "reason": reason})
                progress.end(f"unsupported on {device}")
                continue
            result = measure_until_quiet(case, budget)
            rows.append((family_name, result))
            progress.end(f"{result.speedup:.2f}x" + (" (noisy)" if result.noisy else ""))
    progress.finish()
    context["unsupported"] = unsupported
    if not rows:
        print(f"error: no case runs on {device}", file=sys.stderr)
        return 1
    print()
    print(format_table([result for _, result in rows]))
    print("\nSummary")
    for line in summary_lines(rows):
        print(f"- {line}")
    files = write_report(out_dir, context, rows)
    print("\nwrote " + ", ".join(path for path in files.values() if path))
    if context["load_warning"]:
        # Repeated last: the first warning has scrolled away by now.
        print(f"\nWARNING: {context['load_warning']}")
    return 0


def compare(first_path: str, second_path: str) -> int:
    """``fastvfx bench --compare A B``: exit 0 when every case's speed-up
    agrees within AGREEMENT between the two reports, 1 otherwise."""
    with open(first_path) as first, open(second_path) as second:
        lines, ok = compare_reports(json.load(first), json.load(second))
    print("\n".join(lines))
    return 0 if ok else 1
