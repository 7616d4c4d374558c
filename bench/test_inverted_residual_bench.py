"""MobileNetV2-TSM inverted residual blocks: the fastvfx backend's block (one
fastvfx.inverted_residual call) against the torch backend's, eval mode, an
8-frame clip with TSM's shift and the online step (timing as described in
conftest.py)."""

from __future__ import annotations

import pytest

from fastvfx import bench as fvb


@pytest.mark.parametrize("case", fvb.blocks.cases(), ids=lambda case: case.id)
def test_inverted_residual_block(case: fvb.Case, run_case) -> None:
    run_case(case)
