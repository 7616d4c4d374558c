"""Temporal-shift family: fastvfx against the upstream PyTorch formulations.

Each case first checks the candidate against the baseline's output; no test
asserts on time (fastvfx.benchmark.run_with_pytest_benchmark does the timing).
"""

from __future__ import annotations

import pytest

from fastvfx import benchmark as fvb


@pytest.mark.parametrize("case", fvb.shift_cases(), ids=lambda case: case.id)
def test_temporal_shift(case: fvb.Case, benchmark, bench_budget: fvb.Budget, record_result) -> None:
    result = fvb.run_with_pytest_benchmark(case, benchmark, bench_budget)
    if result is not None:
        record_result(result)
