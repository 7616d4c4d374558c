"""Temporal Focus Convolution: fastvfx.nn.TemporalFocusConv2d against
SqueezeTime's chain of modules, eval mode, at the SqueezeTime-K400 stages
(timing as described in conftest.py)."""

from __future__ import annotations

import pytest

from fastvfx import bench as fvb


@pytest.mark.parametrize("case", fvb.tfc.cases(), ids=lambda case: case.id)
def test_temporal_focus_conv2d(case: fvb.Case, run_case) -> None:
    run_case(case)
