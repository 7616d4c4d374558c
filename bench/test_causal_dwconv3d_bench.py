"""Causal depthwise Conv3D at MoViNet-A0 shapes: streaming step against the
upstream concat + F.conv3d step, full clip forward and backward against
F.pad + F.conv3d and its autograd."""

from __future__ import annotations

import pytest

from fastvfx import benchmark as fvb


@pytest.mark.parametrize("case", fvb.dwconv3d_cases(), ids=lambda case: case.id)
def test_causal_dwconv3d(case: fvb.Case, benchmark, bench_budget: fvb.Budget, record_result) -> None:
    result = fvb.run_with_pytest_benchmark(case, benchmark, bench_budget)
    if result is not None:
        record_result(result)
