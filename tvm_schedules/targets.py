"""Boards as TVM target dicts, and the schedule parameters of each CPU family.

Target dicts, not strings: TVM 0.27 rejects CLI-style target strings with
options. ``num-cores`` is required by MetaSchedule.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

_AARCH64 = "aarch64-linux-gnu"
_ARMV7 = "armv7l-linux-gnueabihf"

# name -> (target dict, cross compiler for shared libraries, description)
BOARDS: dict[str, tuple[dict, Optional[str], str]] = {
    "rpi3": (
        {"kind": "llvm", "mtriple": _AARCH64, "mcpu": "cortex-a53", "mattr": ["+neon"], "num-cores": 4},
        "aarch64-linux-gnu-g++",
        "Raspberry Pi 3 (4x Cortex-A53, 64-bit OS)",
    ),
    "jetson-nano-cpu": (
        {"kind": "llvm", "mtriple": _AARCH64, "mcpu": "cortex-a57", "mattr": ["+neon"], "num-cores": 4},
        "aarch64-linux-gnu-g++",
        "Jetson Nano CPU (4x Cortex-A57)",
    ),
    "rpi4": (
        {"kind": "llvm", "mtriple": _AARCH64, "mcpu": "cortex-a72", "mattr": ["+neon"], "num-cores": 4},
        "aarch64-linux-gnu-g++",
        "Raspberry Pi 4 (4x Cortex-A72, 64-bit OS)",
    ),
    "rpi5": (
        {"kind": "llvm", "mtriple": _AARCH64, "mcpu": "cortex-a76", "mattr": ["+neon"], "num-cores": 4},
        "aarch64-linux-gnu-g++",
        "Raspberry Pi 5 (4x Cortex-A76)",
    ),
    "rpi4-armv7": (
        {"kind": "llvm", "mtriple": _ARMV7, "mcpu": "cortex-a72", "mattr": ["+neon", "+vfp4"],
         "mfloat-abi": "hard", "num-cores": 4},
        "arm-linux-gnueabihf-g++",
        "Raspberry Pi 4 on a 32-bit (armv7 hard-float) OS",
    ),
}


def _host_mcpu() -> str:
    """An LLVM CPU name for this x86 machine, from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        flags = []
    if "avx512f" in flags:
        return "skylake-avx512"
    if "avx2" in flags:
        return "haswell"
    return "x86-64"


def _host_cores() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def target_names() -> list[str]:
    return ["host", *BOARDS]


def target_dict(name: str) -> dict:
    """The TVM target dict of a board (or of this machine, ``"host"``)."""
    if name == "host":
        return {"kind": "llvm", "mcpu": _host_mcpu(), "num-cores": _host_cores()}
    if name not in BOARDS:
        raise ValueError(f"unknown target {name!r}; known targets: {', '.join(target_names())}")
    return dict(BOARDS[name][0])


def make_target(name: str):
    import tvm

    return tvm.target.Target(target_dict(name))


def cross_compiler(name: str) -> Optional[str]:
    """The C++ compiler that links shared libraries for a board (None: host)."""
    if name == "host":
        return None
    target_dict(name)
    return BOARDS[name][1]


def is_cross(name: str) -> bool:
    return name != "host"


def arch(name: str) -> str:
    """"x86_64", "aarch64" or "armv7"."""
    triple = target_dict(name).get("mtriple", "")
    if triple.startswith("aarch64"):
        return "aarch64"
    if triple.startswith("arm"):
        return "armv7"
    return "x86_64"


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """What the hand schedules need to know about a CPU family.

    lanes: fp32 lanes of one vector register (AVX-512 16, AVX2 8, NEON 4).
    gemm_rows x gemm_vectors: register tile of the TFC GEMM (output channels
        x vectors of pixels). The accumulators take 12 of 32 zmm (AVX-512),
        8 of 16 ymm (AVX2), 12 of 32 q (aarch64), 8 of 16 q (armv7); the rest
        hold the x vectors and broadcast weights. Cortex-A53 (in order, 2-wide,
        small shared L2 on a Pi 3) gets the narrower 4 x 2 tile: its one NEON
        pipe is kept busy by 8 independent FMA chains, and a narrower pixel
        block keeps the streamed x panel smaller.
    """

    family: str
    lanes: int
    gemm_rows: int
    gemm_vectors: int


def schedule_config(name: str) -> ScheduleConfig:
    t = target_dict(name)
    a = arch(name)
    if a == "x86_64":
        if t["mcpu"] == "skylake-avx512":
            return ScheduleConfig("avx512", 16, 6, 2)
        if t["mcpu"] == "haswell":
            return ScheduleConfig("avx2", 8, 4, 2)
        return ScheduleConfig("sse", 4, 4, 2)
    if a == "aarch64":
        if t["mcpu"] == "cortex-a53":
            return ScheduleConfig("neon-a53", 4, 4, 2)
        return ScheduleConfig("neon-a64", 4, 4, 3)  # Cortex-A57 / A72 / A76
    return ScheduleConfig("neon-a32", 4, 4, 2)
