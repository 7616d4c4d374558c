"""Pieces of the ``fastvfx bench`` report that are not measurement: the
progress display, the PNG chart of the speed-ups and the JSON schema of
report.json."""

from __future__ import annotations

import json
import os
import sys
import time
from importlib import resources
from typing import Optional, Sequence, TextIO


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
    """The JSON schema report.json follows (fastvfx/report_schema.json)."""
    return json.loads(resources.files("fastvfx").joinpath("report_schema.json").read_text())


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
