"""pytest-benchmark setup for fastvfx: the measuring budget and a ratio table.

``FASTVFX_BENCH_QUICK=1`` (set by CI) selects the quick budget. The table
printed at the end sets every fastvfx time against its baseline and, for the
shift ops, against memcpy, all measured in this process.
"""

from __future__ import annotations

import os

import pytest

from fastvfx import benchmark as fvb

_RESULTS = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS] = []


@pytest.fixture(scope="session")
def bench_budget() -> fvb.Budget:
    return fvb.QUICK if os.environ.get("FASTVFX_BENCH_QUICK") == "1" else fvb.DEFAULT


@pytest.fixture
def record_result(request: pytest.FixtureRequest):
    """Append a fastvfx.benchmark.Result to the end-of-run table."""
    return request.config.stash[_RESULTS].append


# trylast: print after pytest-benchmark's own tables, as the run's last word.
@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, [])
    terminalreporter.section("fastvfx vs baseline (medians, this run)")
    if not results:
        # --benchmark-disable runs each candidate once, untimed: nothing to compare.
        terminalreporter.write_line("no timings recorded (benchmarks disabled or none ran)")
        return
    for line in fvb.format_table(results).splitlines():
        terminalreporter.write_line(line)
