"""16-bit (bfloat16, float16) kernels against float32: the cases of
``fastvfx bench``'s 16bit family (fastvfx/bench/mixed_precision.py), timed as
conftest.py describes. The baseline is the same fastvfx op on float32 tensors
holding the same values, so the speed-up is float32 time / 16-bit time; the
pure-PyTorch reference on the 16-bit tensors (``torch16``) runs in the same
rounds. Nothing asserts on time. Run:
``pytest bench/test_mixed_precision_bench.py -s``.
"""

from __future__ import annotations

import pytest

from fastvfx import bench as fvb


@pytest.mark.parametrize("case", fvb.mixed_precision.cases(), ids=lambda case: case.id)
def test_16bit_against_fp32(case: fvb.Case, run_case) -> None:
    run_case(case)
