"""Autocast rules of the fastvfx ops (``torch.autocast("cpu", ...)``).

The ops follow autocast's own rules for what they compute like:

- the convolutions (``causal_dwconv3d``, ``depthwise_conv2d``,
  ``temporal_focus_conv2d``, ``channel_scaled_conv2d``, ``shift_conv1x1``) are on autocast's
  lower-precision list, as ``conv2d``, ``conv3d`` and ``bmm`` are: their
  floating-point inputs are cast to the autocast dtype (bfloat16 or float16),
  so an fp32 weight meets a 16-bit activation without error;
- a streaming step (``causal_dwconv3d_stream_``, ``causal_dwconv3d_stream_out_``)
  writes its state in place, and a state cannot be cast: the step runs in the
  dtype of its stream buffer, the other inputs are cast to it;
- the temporal shifts move bytes in any floating dtype and have no rule:
  autocast passes them through, as it does ``cat`` or ``view``.

As with torch's own ops, float64 tensors are never cast. The rules are
registered with the dispatcher (and as Python kernels for tracing), so they
hold for eager calls, the nn modules, converted models and ``torch.compile``.
"""

from __future__ import annotations

import torch

_DEVICE = "cpu"
_KEY = torch._C.DispatchKey.AutocastCPU
_LOWER_PRECISION = (
    "causal_dwconv3d", "depthwise_conv2d", "temporal_focus_conv2d", "channel_scaled_conv2d", "shift_conv1x1"
)
# Streaming steps and the argument whose dtype they run in.
_STATE_DTYPE = {"causal_dwconv3d_stream_": "buffer", "causal_dwconv3d_stream_out_": "buffer"}

_lib = torch.library.Library("fastvfx", "IMPL")


def _cast(value, dtype: torch.dtype):
    if (
        isinstance(value, torch.Tensor)
        and value.is_floating_point()
        and value.device.type == _DEVICE
        and value.dtype not in (torch.float64, dtype)
    ):
        return value.to(dtype)
    return value


def _register(name: str) -> None:
    op = getattr(torch.ops.fastvfx, name).default
    arguments = op._schema.arguments
    written = {i for i, a in enumerate(arguments) if a.alias_info is not None and a.alias_info.is_write}
    state = _STATE_DTYPE.get(name)
    state_index = next((i for i, a in enumerate(arguments) if a.name == state), None)

    def run(*args):
        dtype = args[state_index].dtype if state is not None else torch.get_autocast_dtype(_DEVICE)
        cast = tuple(a if i in written else _cast(a, dtype) for i, a in enumerate(args))
        with torch._C._ExcludeDispatchKeyGuard(torch._C.DispatchKeySet(_KEY)):
            return op(*cast)

    if op.has_kernel_for_dispatch_key(_KEY):
        op.py_kernels.pop(_KEY)
    op.py_impl(_KEY)(run)
    _lib.impl(name, lambda _keyset, *args: run(*args), "AutocastCPU", with_keyset=True)


for _name in _LOWER_PRECISION + tuple(_STATE_DTYPE):
    _register(_name)
