"""Temporal-shift family: fastvfx against the upstream PyTorch formulations
(timing as described in conftest.py)."""

from __future__ import annotations

import pytest

from fastvfx import bench as fvb


@pytest.mark.parametrize("case", fvb.shift.cases(), ids=lambda case: case.id)
def test_temporal_shift(case: fvb.Case, run_case) -> None:
    run_case(case)
