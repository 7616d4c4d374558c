"""What ``fastvfx bench`` shows of its results: the progress display, the
ratio table, the summary, and the report folder (report.json and its JSON
schema, report.md, the PNG chart of the speed-ups)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from importlib import resources
from typing import Optional, Sequence, TextIO

from .case import Result
from .summary import headline, summary_lines


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
    "16bit": "#56B4E9",
}


def write_chart(path: str, rows: Sequence[tuple[str, str, float]], title: str, subtitle: str = "") -> Optional[str]:
    """A horizontal bar chart of speed-ups, one bar per ``(label, family,
    speedup)``, on a log axis with the break-even line at 1x, under a headline
    ``title`` and a smaller ``subtitle``. Returns the path, or None (with a
    message) when matplotlib is not installed."""
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
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    height = 1.8 + 0.24 * len(rows)
    fig, ax = plt.subplots(figsize=(10, height), dpi=100)
    positions = list(range(len(rows)))[::-1]
    ax.barh(positions, speedups, color=colours, height=0.7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    # Always show 1x (break-even) and 10x, so that the log axis reads at a glance.
    low = min(0.5, min(speedups) / 1.3)
    high = max(12.0, max(speedups) * 1.6)
    ax.set_xlim(low, high)
    ticks = [m * 10.0**e for e in range(-2, 4) for m in (1, 2, 5) if low <= m * 10.0**e <= high]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    for y, value in zip(positions, speedups):
        ax.text(value * 1.04, y, f"{value:.2f}x", va="center", fontsize=7)
    ax.set_xlabel("speed-up over the baseline: PyTorch; for 16bit, fastvfx in float32 (log scale; > 1 is faster)")
    fig.suptitle(textwrap.fill(title, 110), fontsize=10, fontweight="bold")
    ax.set_title(subtitle, fontsize=7, color="#B00000" if "WARNING" in subtitle else "black")
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
    "case", "baseline ms", "fastvfx ms", "speed-up", "spread", "GFLOP/s", "clone ms", "of clone", "memcpy GB/s",
    "of memcpy",
)


def _other_names(results: Sequence[Result]) -> list[str]:
    """The other contenders of any result, in order of first appearance."""
    return list(dict.fromkeys(name for result in results for name in result.others))


def _table_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    def ms(value):
        return "-" if value is None else f"{value:.4g}"

    others = _other_names(results)

    def percent(value):
        return "-" if value is None else f"{100 * value:.0f}%"

    rows = []
    for result in results:
        summary = result.summary()
        bandwidth = summary.get("memcpy_GBps")
        rows.append((
            result.case.label,
            ms(summary["baseline_ms"]),
            ms(summary["fastvfx_ms"]),
            f"{summary['speedup']:.2f}x",
            percent(result.spread) + (" noisy" if result.noisy else ""),
            "-" if "GFLOPs" not in summary else f"{summary['GFLOPs']:.1f}",
            ms(summary.get("clone_ms")),
            percent(summary.get("clone_fraction")),
            "-" if bandwidth is None else f"{bandwidth:.1f}",
            percent(summary.get("memcpy_fraction")),
            *("skipped" if name in result.skipped else ms(summary.get(f"{name}_ms")) for name in others),
        ))
    return rows


def format_table(results: Sequence[Result], markdown: bool = False) -> str:
    """The ratio table, aligned text or Markdown."""
    rows = _table_rows(results)
    columns = (*_COLUMNS, *(f"{name} ms" for name in _other_names(results)))
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(cell) for cell in column) for column in zip(columns, *rows)]
    # The case name left-aligned, numbers right-aligned.
    aligned = [str.ljust] + [str.rjust] * (len(columns) - 1)
    return "\n".join(
        "  ".join(align(cell, width) for align, cell, width in zip(aligned, row, widths)) for row in [columns, *rows]
    )


_NOTES = """\
## How to read the table

- Medians of interleaved rounds (baseline, clone, memcpy, fastvfx, repeated), one process, one run.
  When a case's fastest call is under 0.2 ms, every call of the case runs several times in a row
  within its sample (the same count for all; the sample is their mean).
  speed-up = the median over rounds of baseline time / fastvfx time in the same round; above 1x
  fastvfx is faster.
- Memory: the run makes glibc's malloc keep freed memory (allocations under 32 MiB reuse the heap, which
  is never trimmed; "allocator" under Machine), as jemalloc or tcmalloc would. By default a tensor of a
  few MB may come back as fresh, page-faulting memory, depending on what earlier cases allocated: every
  contender's time then moved with the order of the cases. Tensors of 32 MiB and more (the 64-frame
  clips) are still fresh memory for every contender.
- spread: the interquartile range over the median of the baseline's or fastvfx's times, whichever is
  larger. A case above 10% is measured again (up to the budget's retries) and the quietest measurement
  kept; "noisy" marks one that stayed above 10%: its ratio may move between runs by about that much.
- Baselines are the upstream PyTorch formulations: TSM's shift (`torch.zeros_like` + slice copies),
  TSM's online `torch.cat`, and the shift + `F.conv2d`; for TFC, SqueezeTime's chain of modules
  (pool, 1x1 conv, BatchNorm, ReLU, 1x1 conv, sigmoid, `param * x`, conv) against
  `fastvfx.nn.TemporalFocusConv2d`, both in eval mode under `torch.no_grad()`, C_in = C_out,
  batch = clips of 16 frames squeezed into the channels.
- Names: "shift out-of-place 8x64ch 56²" is N*T = 8 frames of 64 channels at 56x56; "+ conv1x1" is the
  shift fused with the following 1x1 convolution; "online" shifts one frame against the cached one.
- dwconv3d (causal depthwise Conv3D on MoViNet-A0 layers): "40ch 56² k5x3x3" is 40 channels at 56x56
  with a kT x kH x kW kernel, "s2" a spatial stride of 2, "T8" an 8-frame clip.
  step = one streamed frame against the buffer of past frames (baseline: `torch.cat` + `F.conv3d`);
  clip = the whole clip forward (baseline: causal `F.pad` + `F.conv3d`); backward = the gradients of
  input, weight and bias of the clip (baseline: autograd of the same).
- GFLOP/s: the convolution's multiply-adds x 2 per second of fastvfx time (backward: twice the forward's).
- clone ms: `x.clone()` of the input, timed in the same rounds. For the shift ops it is the roofline: a
  shift reads and writes every byte once, as clone does. "of clone" = the op's bandwidth (bytes it reads
  + writes per second) over clone's; the op moves all of x out of place, its 2*fold shifted channels in
  place, and fold channels of frame and cache online. An output of 32 MiB or more is a fresh mapping
  whose pages fault in as they are first written; fastvfx's ops fault them in ahead of the kernel, in
  parallel (`madvise(MADV_POPULATE_WRITE)`; FASTVFX_HUGE_PAGES=1 asks for huge pages instead) and clone
  takes a fault per 4 KiB page, so such cases can pass 100%.
- memcpy GB/s: `dst.copy_(src)` of x's bytes into a preallocated buffer (no page faults), read + write
  bytes per second. "of memcpy" is the op's bandwidth over that. In place the working set is a quarter
  of x's, so caches can lift these above 100%.
- Blocks ("mbv2 block 8x24->144->24 56² s1 + shift": frames x C_in -> hidden -> C_out, plane, stride;
  "+ shift" = TSM's shift in the block; "step" = one frame of online TSM with its cache): the
  fastvfx backend's MobileNetV2-TSM block (one `fastvfx.inverted_residual` call) against the torch
  backend's (the layers as torchvision and TSM write them), same weights, eval mode, without gradients,
  channels_last input (eager PyTorch's faster layout for these layers); torch NCHW ms: the torch block
  on NCHW input. GFLOP/s counts the block's multiply-adds (expansion, 3x3 depthwise, projection) x 2.
- Models (fastvfx.models): the torch backend (plain PyTorch modules, as upstream writes the model) against
  the fastvfx backend, same weights (BatchNorm statistics calibrated on a random input), eval mode under
  `torch.no_grad()`, batch 1; stream / online cases time one step of a running stream.
- onnxruntime ms (models): the torch backend exported with `torch.onnx.export(..., dynamo=True)` and run
  by ONNX Runtime (CPU provider, intra-op threads = the case's torch threads, no spinning between calls
  so that its idle threads do not run into the next contender's timing). Stream cases export the states
  as graph inputs and outputs (`fastvfx.export`). "skipped": the summary says why (onnxruntime, onnx or
  onnxscript not installed, no stream export, or a failed export).
- 16bit: fastvfx on bfloat16 ("bf16") or float16 ("fp16") tensors against the same fastvfx op on
  float32 tensors holding the same values: here the baseline is fastvfx in float32, so speed-up =
  float32 time / 16-bit time, and below 1x the 16-bit path is slower. Its own summary line counts
  these cases apart from the PyTorch comparison. torch16 ms: the pure-PyTorch reference on the 16-bit
  tensors (what upstream's modules run under autocast), timed in the same rounds. Each result is
  checked against float32 to a few 16-bit roundings (the shift: bit-exact). Names as above; dwconv2d
  is the depthwise 3x3 conv of MobileNetV2 (padding 1, fused ReLU6) on 8 frames, "tfc 1x1" the
  functional TFC with its gate at batch 1."""


def write_report(out_dir: str, context: dict, rows: Sequence[tuple[str, Result]]) -> dict:
    """Write report.json (context, summaries and full statistics; its schema is
    fastvfx/bench/report_schema.json), report.md and speedups.png into
    ``out_dir`` from ``(family, result)`` pairs. Returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    results = [result for _, result in rows]
    summary = summary_lines(rows)
    warning = context.get("load_warning")
    files = {
        "json": os.path.join(out_dir, "report.json"),
        "markdown": os.path.join(out_dir, "report.md"),
        "chart": None,
    }
    chart_rows = [(r.case.label + (" (noisy)" if r.noisy else ""), family, r.speedup) for family, r in rows]
    subtitle = f"{context['command']}  ({context['date']}, {context['device']})"
    if warning:
        subtitle += "\nWARNING: " + warning
    files["chart"] = write_chart(os.path.join(out_dir, "speedups.png"), chart_rows, headline(rows), subtitle)
    cases_json = [
        {"id": r.case.id, "label": r.case.label, "family": family, "op": r.case.op, "shape": list(r.case.shape),
         "layout": r.case.layout, "moved_bytes": r.case.moved_bytes, **r.summary(), "stats": r.stats}
        for family, r in rows
    ]
    with open(files["json"], "w") as file:
        json.dump({"schema_version": 2, **context, "cases": cases_json, "summary": summary,
                   "files": {k: v and os.path.basename(v) for k, v in files.items()}}, file, indent=2)

    machine_lines = [f"- {key}: {value}" for key, value in context["machine"].items()]
    machine_lines.append(f"- device: {context['device']}")
    machine_lines.append(f"- torch threads: {context['torch_threads']}")
    machine_lines.append(f"- load average before the run: {context['load_average_before']:.2f}")
    sections = ["# fastvfx benchmark", f"`{context['command']}` ({context['date']})"]
    if warning:
        sections.append(f"> **Warning:** {warning}.")
    if context.get("unsupported"):
        sections.append(f"Not run on {context['device']} (no kernel for it): "
                        + "; ".join(f"{item['label']} ({item['reason']})" for item in context["unsupported"]))
    sections += [
        "## Summary",
        "\n".join(f"- {line}" for line in summary),
        "## Cases",
        format_table(results, markdown=True),
    ]
    if files["chart"]:
        sections.append("![speed-ups](speedups.png)")
    sections += [_NOTES, "## Machine", "\n".join(machine_lines)]
    with open(files["markdown"], "w") as file:
        file.write("\n\n".join(sections) + "\n")
    return files
