"""Helpers shared by the TVM tests (imported after conftest.py has made
tvm_schedules importable)."""

from __future__ import annotations

from tvm_schedules import targets

# Every schedule family, applied to the kernels and compiled for this
# machine: the tiling / vector / unroll choices of the ARM schedules are
# checked here numerically; their ARM code generation under qemu
# (test_cross.py).
SCHEDULE_FAMILIES = {
    "host": "host",
    "avx2": None,
    "neon-a53": "rpi3",
    "neon-a72": "rpi4",
    "neon-a32": "rpi4-armv7",
}


def schedule_config_for(family: str) -> targets.ScheduleConfig:
    board = SCHEDULE_FAMILIES[family]
    if board is None:
        return targets.ScheduleConfig("avx2", 8, 4, 2, 4, 2)
    return targets.schedule_config(board)
