"""BatchNorm folding, the one helper and the one cache of every fastvfx
module and model."""

from __future__ import annotations

from operator import getitem
from typing import Callable, Optional

import torch
from torch import Tensor, nn

from .. import _C


def fold_bn(weight: Tensor, bias: Optional[Tensor], bn: nn.modules.batchnorm._BatchNorm) -> tuple[Tensor, Tensor]:
    """(weight, bias) of a conv followed by an eval-mode BatchNorm, as one conv."""
    gain = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        gain = bn.weight * gain
    shift = -bn.running_mean * gain
    if bn.bias is not None:
        shift = shift + bn.bias
    if bias is not None:
        shift = shift + bias * gain
    return weight * gain.view(-1, *([1] * (weight.dim() - 1))), shift


def _store(module: nn.Module) -> dict:
    """The cache entries kept on ``module`` (by :func:`cached` and
    :func:`cached_tree`), created on first use."""
    store = module.__dict__.get("_fastvfx_cache")
    if store is None:
        store = module.__dict__["_fastvfx_cache"] = {}
    return store


def cached(module: nn.Module, slot: str, sources: tuple, compute: Callable[[], object]):
    """``compute()``, remembered on ``module`` until one of ``sources`` (tensors,
    or None / plain values, compared by equality) changes. With gradients enabled nothing is cached:
    the computation is part of the graph.

    A tensor changed in place moves its version; one converted by the
    module's ``.to()`` / ``.double()`` keeps its object but gets new memory
    (another data pointer); one replaced by assignment is another object,
    detected by identity (the cache holds the old ones, so their ids cannot
    be reused meanwhile). This check runs on every call of a streaming model,
    hence the plain loop."""
    if torch.is_grad_enabled() or torch.compiler.is_compiling():
        return compute()
    store = _store(module)
    entry = store.get(slot)
    if entry is not None:
        old_sources, stamps, value = entry
        fresh = True
        for old, new, stamp in zip(old_sources, sources, stamps):
            if stamp is None:  # None or a plain value: equal is fresh
                fresh = old is new or (not isinstance(new, Tensor) and old == new)
            else:
                fresh = old is new and (new._version, new.data_ptr()) == stamp
            if not fresh:
                break
        if fresh:
            return value
    value = compute()
    stamps = tuple((s._version, s.data_ptr()) if isinstance(s, Tensor) else None for s in sources)
    store[slot] = (sources, stamps, value)
    return value


def bn_sources(bn: nn.modules.batchnorm._BatchNorm) -> tuple:
    """What a fold reads from ``bn`` (the cache's keys). A training-mode
    forward writes the running statistics inside the kernel without moving
    their versions; it moves ``num_batches_tracked``'s, hence that key."""
    params, buffers = bn._parameters, bn._buffers
    return (params.get("weight"), params.get("bias"), buffers["running_mean"], buffers["running_var"],
            buffers.get("num_batches_tracked"), bn.eps)


def folded_conv_bn(module: nn.Module, slot: str, conv: nn.Module, bn: nn.Module,
                   finish: Optional[Callable[[Tensor, Tensor], object]] = None):
    """Cached :func:`fold_bn` of ``conv`` (anything with ``weight`` / ``bias``)
    and ``bn``, passed through ``finish(weight, bias)`` when given (a reshape,
    a prepacked layout: cached with the fold)."""
    params = conv._parameters
    sources = (params["weight"], params.get("bias")) + bn_sources(bn)

    def compute():
        weight, bias = fold_bn(params["weight"], params.get("bias"), bn)
        return (weight, bias) if finish is None else finish(weight, bias)

    return cached(module, slot, sources, compute)


class _TreeStamp:
    """What a module tree's folds read, remembered to tell whether it has
    changed: the contents of every module's parameter, buffer and submodule
    dict (each key and value, by identity and in order: a parameter replaced,
    added or deleted), every ``eps`` and every module's ``training`` flag (a
    plan is built for eval mode), and each tensor's version and data pointer
    (see :func:`cached`). The check is one C++ pass
    (``fastvfx._C._TreeStamp``): it runs once a model call, after the call's
    other work has pushed the tree out of the caches, where the same check as
    Python ``map`` passes took 365 us for MobileNetV2-TSM (777 entries, 314
    tensors; 70 us warm) and the C++ pass 80-95 (python bench/tree_stamp.py,
    one thread)."""

    __slots__ = ("_stamp", "_objects")

    def __init__(self, module: nn.Module) -> None:
        dicts, holders, keys = [], [], []
        for m in module.modules():
            dicts += [d for d in (m._parameters, m._buffers, m._modules) if d]
            for name in ("eps", "training"):
                if name in m.__dict__:
                    holders.append(m.__dict__)
                    keys.append(name)
        items = [item for d in dicts for item in d.items()]
        values = list(map(getitem, holders, keys))
        tensors = [v for _, v in items if isinstance(v, Tensor)]
        self._stamp = _C._TreeStamp(dicts, holders, keys, tensors)
        # The C++ pass holds no reference: every object it compares by
        # identity lives here (the collector sees these lists, and with them
        # the cycle through the module's __dict__ that holds this stamp).
        self._objects = (dicts, holders, keys, items, values, tensors)

    def fresh(self) -> bool:
        return self._stamp.fresh()


def cached_tree(module: nn.Module, slot: str, compute: Callable[[], object]):
    """``compute()``, remembered on ``module`` until anything a fold of its
    tree reads changes: a parameter, buffer or submodule of it or of any
    submodule replaced, a tensor among them changed in place or moved (as
    :func:`cached` tells), a BatchNorm's ``eps`` reassigned, or a module
    switched between training and eval mode. One check for
    the whole tree instead of one per fold: an inference plan built from
    many folds (a SqueezeTime block: 14) is validated once a call. With
    gradients enabled, or while compiling, nothing is cached."""
    if torch.is_grad_enabled() or torch.compiler.is_compiling():
        return compute()
    store = _store(module)
    entry = store.get(slot)
    if entry is not None and entry[0].fresh():
        return entry[1]
    stamp = _TreeStamp(module)
    value = compute()
    store[slot] = (stamp, value)
    return value
