"""Causal depthwise Conv3D at MoViNet-A0 shapes: streaming step against the
upstream concat + F.conv3d step, full clip forward and backward against
F.pad + F.conv3d and its autograd."""

from __future__ import annotations

import pytest

from fastvfx import bench as fvb


@pytest.mark.parametrize("case", fvb.dwconv3d.cases(), ids=lambda case: case.id)
def test_causal_dwconv3d(case: fvb.Case, run_case) -> None:
    run_case(case)
