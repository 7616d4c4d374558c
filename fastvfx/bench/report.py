"""What ``fastvfx bench`` shows of its results: the progress display, the
ratio table, the summary, and the report folder (report.json and its JSON
schema, report.md, the PNG chart of the speed-ups)."""

from __future__ import annotations

import json
import os
import sys
import time
from importlib import resources
from typing import Optional, Sequence, TextIO

from .case import Result
from .tfc import TFC_BATCHES, tfc_geomean


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """One line per case: a bar, the count, elapsed time and an estimate of
    the time left (the mean time per finished case so far times the cases
    left), then the case's label and, once measured, its speed-up. Line by
    line, so it reads the same in a terminal and in a CI log."""

    def __init__(self, total: int, stream: Optional[TextIO] = None, width: int = 20):
        self.total = total
        self.stream = stream if stream is not None else sys.stdout
        self.width = width
        self.start = time.perf_counter()
        self.done = 0

    def bar(self, done: int) -> str:
        filled = self.width * done // max(self.total, 1)
        return "[" + "#" * filled + "." * (self.width - filled) + "]"

    def begin(self, label: str) -> None:
        elapsed = time.perf_counter() - self.start
        eta = "-:--" if self.done == 0 else _clock(elapsed / self.done * (self.total - self.done))
        self.stream.write(
            f"{self.bar(self.done)} {self.done + 1:>{len(str(self.total))}}/{self.total} "
            f"{_clock(elapsed)} (left ~{eta})  {label} ... "
        )
        self.stream.flush()

    def end(self, outcome: str) -> None:
        self.done += 1
        self.stream.write(outcome + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write(f"{self.bar(self.total)} {self.total}/{self.total} in {_clock(time.perf_counter() - self.start)}\n")
        self.stream.flush()


# Bar colours per family (colour-blind safe palette).
_FAMILY_COLOURS = {
    "shift": "#0072B2",
    "dwconv3d": "#E69F00",
    "tfc": "#009E73",
    "models": "#CC79A7",
}


def write_chart(path: str, rows: Sequence[tuple[str, str, float]], title: str) -> Optional[str]:
    """A horizontal bar chart of speed-ups, one bar per ``(label, family,
    speedup)``, on a log axis with the break-even line at 1x. Returns the path,
    or None (with a message) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; no PNG chart (pip install matplotlib)", file=sys.stderr)
        return None
    labels = [label for label, _, _ in rows]
    speedups = [speedup for _, _, speedup in rows]
    colours = [_FAMILY_COLOURS.get(family, "#999999") for _, family, _ in rows]
    height = 1.2 + 0.24 * len(rows)
    fig, ax = plt.subplots(figsize=(10, height), dpi=100)
    positions = list(range(len(rows)))[::-1]
    ax.barh(positions, speedups, color=colours, height=0.7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    low = min(0.5, min(speedups) / 1.3)
    high = max(2.0, max(speedups) * 1.6)
    ax.set_xlim(low, high)
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    for y, value in zip(positions, speedups):
        ax.text(value * 1.04, y, f"{value:.2f}x", va="center", fontsize=7)
    ax.set_xlabel("speed-up over the PyTorch baseline (log scale; > 1 is faster)")
    ax.set_title(title, fontsize=9)
    families = [family for family in _FAMILY_COLOURS if any(f == family for _, f, _ in rows)]
    handles = [plt.Rectangle((0, 0), 1, 1, color=_FAMILY_COLOURS[f]) for f in families]
    if handles:
        ax.legend(handles, families, loc="lower right", fontsize=7)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def schema() -> dict:
    """The JSON schema report.json follows (fastvfx/bench/report_schema.json)."""
    return json.loads(resources.files("fastvfx.bench").joinpath("report_schema.json").read_text())


def check_out_dir(out_dir: str) -> Optional[str]:
    """An error message when ``out_dir`` cannot hold the report, else None."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        return f"--out {out_dir}: exists and is not a directory"
    parent = os.path.dirname(os.path.abspath(out_dir))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.access(parent if not os.path.isdir(out_dir) else out_dir, os.W_OK):
        return f"--out {out_dir}: not writable"
    return None


_COLUMNS = (
    "op", "shape", "layout", "baseline ms", "fastvfx ms", "speed-up", "GFLOP/s", "clone ms", "memcpy GB/s", "of memcpy"
)


def _table_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    def ms(value):
        return "-" if value is None else f"{value:.4g}"

    rows = []
    for result in results:
        case, summary = result.case, result.summary()
        fraction = summary.get("memcpy_fraction")
        bandwidth = summary.get("memcpy_GBps")
        rows.append((
            case.op,
            "x".join(map(str, case.shape)),
            case.layout,
            ms(summary["baseline_ms"]),
            ms(summary["fastvfx_ms"]),
            f"{summary['speedup']:.2f}x",
            "-" if "GFLOPs" not in summary else f"{summary['GFLOPs']:.1f}",
            ms(summary.get("clone_ms")),
            "-" if bandwidth is None else f"{bandwidth:.1f}",
            "-" if fraction is None else f"{100 * fraction:.0f}%",
        ))
    return rows


def format_table(results: Sequence[Result], markdown: bool = False) -> str:
    """The ratio table, aligned text or Markdown."""
    rows = _table_rows(results)
    if markdown:
        lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "|".join("---" for _ in _COLUMNS) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(cell) for cell in column) for column in zip(_COLUMNS, *rows)]
    # Text columns left-aligned, numbers right-aligned.
    aligned = [str.ljust] * 3 + [str.rjust] * (len(_COLUMNS) - 3)
    return "\n".join(
        "  ".join(align(cell, width) for align, cell, width in zip(aligned, row, widths)) for row in [_COLUMNS, *rows]
    )


_NOTES = """\
- Medians of interleaved rounds (baseline, clone, memcpy, fastvfx, repeated), one process, one run.
- speed-up = baseline / fastvfx. Baselines are the upstream PyTorch formulations: TSM's shift
  (`torch.zeros_like` + slice copies), TSM's online `torch.cat`, and the shift + `F.conv2d`;
  for TFC, SqueezeTime's chain of modules (pool, 1x1 conv, BatchNorm, ReLU, 1x1 conv, sigmoid,
  `param * x`, conv) against `fastvfx.nn.TemporalFocusConv2d`, both in eval mode under
  `torch.no_grad()`, C_in = C_out, N = batch of 16-frame clips squeezed into the channels.
- clone ms (out-of-place): `x.clone()`, the floor of any op returning a fresh tensor; for the large
  clips it is mostly page faults on the new output memory.
- memcpy GB/s: `dst.copy_(src)` of x's bytes into a preallocated buffer, read + write bytes per second.
  "of memcpy" = (bytes the op reads + writes) / fastvfx time / memcpy GB/s. The op moves all of x
  out of place, its 2*fold shifted channels in place, and fold channels of frame and cache online.
  In place the working set is a quarter of x's, so caches can lift it above 100%.
- Models (fastvfx.models): the torch backend (plain PyTorch modules, as upstream writes the model) against
  the fastvfx backend, same weights (BatchNorm statistics calibrated on a random input), eval mode under
  `torch.no_grad()`, batch 1; stream / online cases time one step of a running stream."""


def summary_lines(results: Sequence[Result]) -> list[str]:
    """One line per TFC batch size: the geometric mean over the stages."""
    lines = []
    for batch in TFC_BATCHES:
        mean = tfc_geomean(results, batch)
        if mean is not None:
            lines.append(f"tfc 1x1, batch {batch}: geometric mean speed-up over the 4 SqueezeTime stages {mean:.2f}x")
    for result in results:
        case = result.case
        if case.goal is not None:
            verdict = "met" if result.speedup >= case.goal else "MISSED"
            lines.append(f"{case.op} ({case.layout}): {result.speedup:.2f}x, goal >= {case.goal:g}x {verdict}")
    return lines


def write_report(out_dir: str, context: dict, results: Sequence[Result], families: Sequence[str]) -> dict:
    """Write report.json (context, summaries and full statistics; its schema is
    fastvfx/bench/report_schema.json), report.md and speedups.png into ``out_dir``.
    Returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "json": os.path.join(out_dir, "report.json"),
        "markdown": os.path.join(out_dir, "report.md"),
        "chart": None,
    }
    chart_rows = [(r.case.label, family, r.speedup) for r, family in zip(results, families)]
    files["chart"] = write_chart(
        os.path.join(out_dir, "speedups.png"), chart_rows, f"{context['command']}  ({context['date']})"
    )
    cases_json = [
        {"id": r.case.id, "family": family, "op": r.case.op, "shape": list(r.case.shape), "layout": r.case.layout,
         "moved_bytes": r.case.moved_bytes, **r.summary(), "stats": r.stats}
        for r, family in zip(results, families)
    ]
    with open(files["json"], "w") as file:
        json.dump({"schema_version": 1, **context, "cases": cases_json, "summary": summary_lines(results),
                   "files": {k: v and os.path.basename(v) for k, v in files.items()}}, file, indent=2)

    machine_lines = [f"- {key}: {value}" for key, value in context["machine"].items()]
    machine_lines.append(f"- torch threads: {context['torch_threads']}")
    machine_lines.append(f"- load average before the run: {context['load_average_before']:.2f}")
    sections = [
        "# fastvfx benchmark",
        f"`{context['command']}` ({context['date']})",
        "\n".join(machine_lines),
        format_table(results, markdown=True),
    ]
    summary = summary_lines(results)
    if summary:
        sections.append("\n".join(f"- {line}" for line in summary))
    if files["chart"]:
        sections.append("![speed-ups](speedups.png)")
    markdown = "\n\n".join([*sections, _NOTES])
    with open(files["markdown"], "w") as file:
        file.write(markdown + "\n")
    return files
