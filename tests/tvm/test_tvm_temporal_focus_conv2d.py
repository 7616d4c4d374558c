"""TVM Temporal Focus Convolution against SqueezeTime's reference."""

from __future__ import annotations

import pytest
import torch

from fastvfx.ops.temporal_focus_conv2d import temporal_focus_conv2d_reference
from tvm_schedules import temporal_focus_conv2d as tfc

from tvm_test_support import SCHEDULE_FAMILIES

pytest.importorskip("tvm", reason="Apache TVM is not installed: pip install 'fastvfx[tvm]' (CI: .ci/tvm.sh)")

TOL = dict(rtol=1e-5, atol=1e-5)

# (N, C_in, H, W, C_out, hidden, kernel, stride, padding, pool, bias, fc1_bias, fc2_bias)
CASES = [
    (1, 16, 8, 8, 16, 4, 1, 1, 0, "avg", False, True, False),  # scale folded into the weights
    (2, 32, 4, 4, 32, 8, 1, 1, 0, "avg", False, True, False),  # scale applied to the input (C_out > H*W)
    (1, 16, 9, 9, 8, 4, 3, 2, 1, "max", True, True, True),
    (2, 12, 7, 6, 20, 3, 3, 1, 1, "avg", True, False, True),  # input-scaled kxk
    (1, 64, 56, 56, 64, 16, 1, 1, 0, "avg", False, True, False),  # SqueezeTime stage 1
    (1, 512, 7, 7, 512, 128, 1, 1, 0, "max", False, True, False),  # SqueezeTime stage 4
    (1, 64, 7, 7, 32, 16, 1, 1, 0, "avg", True, True, True),  # whole-plane pixel tile, with bias
]


def _tensors(case, seed=0):
    n, cin, h, w, cout, hidden, k, _, _, _, bias, fc1_bias, fc2_bias = case
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    return dict(
        x=r(n, cin, h, w), weight=r(cout, cin, k, k, scale=cin**-0.5), fc1_weight=r(hidden, cin, scale=cin**-0.5),
        fc1_bias=r(hidden) if fc1_bias else None, fc2_weight=r(cin, hidden, scale=hidden**-0.5),
        fc2_bias=r(cin) if fc2_bias else None, bias=r(cout) if bias else None,
    )


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_tfc(compile_kernel, case, family):
    n, cin, h, w, cout, hidden, k, stride, padding, pool, bias, fc1_bias, fc2_bias = case
    kernel = tfc.temporal_focus_conv2d(n, cin, h, w, cout, hidden, k, stride, padding, pool, bias, fc1_bias, fc2_bias)
    fn = compile_kernel(kernel, family)
    t = _tensors(case)
    y_ref, scale_ref = temporal_focus_conv2d_reference(
        t["x"], t["weight"], t["fc1_weight"], t["fc1_bias"], t["fc2_weight"], t["fc2_bias"], t["bias"],
        stride, padding, pool)
    inputs = [t[a.name] for a in kernel.args if a.role == "in"]
    y = torch.full(y_ref.shape, float("nan"))
    scale = torch.full(scale_ref.shape, float("nan"))
    fn(*inputs, y, scale)
    torch.testing.assert_close(scale, scale_ref, **TOL)
    torch.testing.assert_close(y, y_ref, **TOL)


def test_bad_arguments():
    with pytest.raises(ValueError, match="pool"):
        tfc.temporal_focus_conv2d(1, 8, 4, 4, 8, 2, pool="median")
