"""The models' plan check (fastvfx.nn._batchnorm.cached_tree, one C++ pass
over the module tree): a cached value is reused while nothing a fold reads
changes, and recomputed after each kind of change."""

import pytest
import torch
from torch import nn

from fastvfx.nn._batchnorm import cached_tree


def _tree():
    return nn.Sequential(nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.Sequential(nn.ReLU(), nn.Conv2d(8, 2, 1))).eval()


EDITS = {
    "weight in place": lambda m: m[0].weight.mul_(2.0),
    "buffer in place": lambda m: m[1].running_var.add_(1.0),
    "weight to new memory": lambda m: setattr(m[0].weight, "data", m[0].weight.data.clone()),
    "parameter replaced": lambda m: setattr(m[2][1], "bias", nn.Parameter(m[2][1].bias.clone())),
    "parameter removed": lambda m: m[2][1].register_parameter("bias", None),
    "parameter added": lambda m: m[1].register_parameter("extra", nn.Parameter(torch.zeros(1))),
    "submodule replaced": lambda m: m[2].__setitem__(0, nn.ReLU6()),
    "eps reassigned": lambda m: setattr(m[1], "eps", 0.5),
    "training mode": lambda m: m[2].train(),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_cached_tree_follows_changes(edit):
    model = _tree()
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    with torch.no_grad():
        assert cached_tree(model, "value", compute) == 1
        torch.randn(1 << 20).sum()  # other work between calls
        assert cached_tree(model, "value", compute) == 1  # nothing changed: reused
        EDITS[edit](model)
        assert cached_tree(model, "value", compute) == 2
        assert cached_tree(model, "value", compute) == 2


def test_cached_tree_not_kept_with_gradients():
    model, calls = _tree(), []
    for _ in range(2):
        cached_tree(model, "value", lambda: calls.append(1))
    assert len(calls) == 2  # grad mode: computed every time


def test_model_with_a_plan_is_freed():
    """The plan's stamp lives in a module's __dict__ and checks that dict: a
    cycle the garbage collector must see, or the model's weights leak once a
    plan was built."""
    import gc
    import weakref

    from fastvfx.models import mobilenet_v2_tsm

    model = mobilenet_v2_tsm(5, 2, backend="fastvfx").eval()
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    assert model._fastvfx_cache["plan"][1] is not None  # a plan was built and stamped
    weight = weakref.ref(next(model.parameters()))
    del model
    gc.collect()
    assert weight() is None
