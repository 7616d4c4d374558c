"""The models' plan check (``fastvfx.nn._batchnorm._TreeStamp``: is every
parameter, buffer, submodule, flag and tensor version of the tree as the plan
saw it?) as one C++ pass (``fastvfx._C._TreeStamp``) against the three
Python ``map`` passes it replaced. Run on a quiet machine, from outside the
source tree:

    python bench/tree_stamp.py            # 1 and 2 threads, 100 rounds
    python bench/tree_stamp.py 200        # more rounds

The check runs once a model call, after the call's other work, so it is
timed as it runs there: each round first runs the torch backend's step of
MobileNetV2-TSM (the online model: 777 entries, 314 tensors), which pushes
the fastvfx model's objects out of the caches.

1. The check alone: one of the two stamps of the same model, alternating.
2. The online step in the bench's conditions (``fastvfx bench --only
   models``): each round runs the torch backend's step and ONNX Runtime's
   (when onnxruntime and onnxscript are installed), then one of two fastvfx
   models with the same weights, alternating: one whose plan is checked by
   the C++ pass, one by the Python passes. Medians per contender.
"""

import statistics
import time
from operator import attrgetter, getitem, is_

import torch
from torch import Tensor

import _step_ab
from fastvfx.bench.models import TSM_SIZE
from fastvfx.nn import _batchnorm

_version = attrgetter("_version")


class PythonStamp:
    """The check as it was: the same entries and tensors, three map passes."""

    def __init__(self, module) -> None:
        self.holders, self.keys = [], []
        for m in module.modules():
            for holder in (m._parameters, m._buffers, m._modules):
                self.holders += [holder] * len(holder)
                self.keys += list(holder)
            for name in ("eps", "training"):
                if name in m.__dict__:
                    self.holders.append(m.__dict__)
                    self.keys.append(name)
        self.values = list(map(getitem, self.holders, self.keys))
        self.tensors = [v for v in self.values if isinstance(v, Tensor)]
        self.versions = list(map(_version, self.tensors))
        self.pointers = list(map(Tensor.data_ptr, self.tensors))

    def fresh(self) -> bool:
        values = list(map(getitem, self.holders, self.keys))
        return (all(map(is_, values, self.values)) and list(map(_version, self.tensors)) == self.versions
                and list(map(Tensor.data_ptr, self.tensors)) == self.pointers)


def check_alone(rounds):
    reference, model = _step_ab.pair()
    frame = torch.randn(1, 3, TSM_SIZE, TSM_SIZE)
    states = [reference.init_states(1, TSM_SIZE, TSM_SIZE)]
    stamps = {"C++ pass": _batchnorm._TreeStamp(model), "Python passes": PythonStamp(model)}
    assert all(stamp.fresh() for stamp in stamps.values())
    times = {k: [] for k in stamps}
    for r in range(rounds):
        _, states[0] = reference.step(frame, states[0])
        name = list(stamps)[r % 2]
        t0 = time.perf_counter()
        stamps[name].fresh()
        times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1e6 for k, v in times.items()}


def step_ab(rounds):
    reference, cpp = _step_ab.pair()
    _, python = _step_ab.pair()
    frame = torch.randn(1, 3, TSM_SIZE, TSM_SIZE)
    cpp.step(frame, cpp.init_states(1, TSM_SIZE, TSM_SIZE))
    stamp = _batchnorm._TreeStamp
    _batchnorm._TreeStamp = PythonStamp  # the second model's plan is stamped the old way
    try:
        python.step(frame, python.init_states(1, TSM_SIZE, TSM_SIZE))
    finally:
        _batchnorm._TreeStamp = stamp
    assert isinstance(python._fastvfx_cache["plan"][0], PythonStamp)
    return _step_ab.online_step_ab(reference, {"C++ check": cpp, "Python check": python}, rounds)


if __name__ == "__main__":
    _step_ab.main([("check alone", "us", check_alone), ("online step", "ms", step_ab)])
