"""Streaming export: the single-frame step of a stream model as an ONNX graph
whose states are explicit inputs and outputs, and a runner for it.

The graph maps ``(frame, state_1, ..., state_k)`` to ``(logits,
state_1.next, ..., state_k.next)``. Every state is at most 4-D (GPU delegates
reject 5-D tensors) and is named after the layer it belongs to and what it
holds:

- ``features.<i>.shift_cache`` (online MobileNetV2-TSM), (N, C/8, H, W):
  channels [0, C/8) of block ``features.<i>``'s input at the previous frame.
- ``blocks.<b>.deep.<u>.last_<k>_frames`` (MoViNet), (N, C*k, H, W): the
  last k = kT-1 input frames of that causal depthwise conv, channel-major
  (channel c's frames, oldest first, at c*k .. c*k+k-1).
- ``blocks.<b>.se.frame_mean_sum`` and ``head.frame_mean_sum`` (MoViNet),
  (N, C, 1, 1): the sum over past frames of each frame's spatial mean, the
  causal average pooling of that squeeze-excitation / of the head.
- ``frames_seen`` (MoViNet), (1,) int64: frames consumed so far (the divisor of
  those averages).

Zeros are the start of a video. The graph is traced from the torch backend of
the model (both backends share weights and semantics; the fastvfx backend's
in-place ring buffers have no place in a graph with explicit states).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ..models.mobilenet_v2_tsm import InvertedResidualWithShift, MobileNetV2TSM
from ..models.movinet import MoViNet

FRAME = "frame"
LOGITS = "logits"
NEXT = ".next"  # suffix of a state's output name
_NUMPY_TYPES = {"tensor(float)": "float32", "tensor(int64)": "int64"}  # ONNX Runtime input type -> numpy dtype

def _torch_backend_copy(model: nn.Module) -> nn.Module:
    """The same model built with the torch backend, with ``model``'s weights, in
    eval mode (``model`` is left as it is)."""
    twin = type(model)(**model.config, backend="torch")
    twin.load_state_dict(model.state_dict())
    parameter = next(model.parameters())
    return twin.to(dtype=parameter.dtype, device=parameter.device).eval()


class _TsmStep(nn.Module):
    """Online MobileNetV2-TSM: ``(frame, *caches) -> (logits, *new caches)``."""

    def __init__(self, model: MobileNetV2TSM, frame_shape: Sequence[int]) -> None:
        super().__init__()
        self.model = model
        n, _, h, w = frame_shape
        self.initial_states = model.init_states(n, h, w)
        self.state_names = [f"features.{i}.shift_cache" for i, m in enumerate(model.features)
                            if isinstance(m, InvertedResidualWithShift)]

    def forward(self, frame: Tensor, *caches: Tensor) -> tuple[Tensor, ...]:
        logits, caches = self.model.step(frame, list(caches))
        return (logits, *caches)


class _MoViNetStep(nn.Module):
    """Stream MoViNet: ``(frame (N, 3, H, W), frames_seen, *states) ->
    (logits, frames_seen + 1, *new states)``; states as in the module docstring."""

    def __init__(self, model: MoViNet, frame_shape: Sequence[int]) -> None:
        super().__init__()
        self.model = model
        n, _, h, w = frame_shape
        states = model.init_states(n, h, w)
        self.state_names, initial = ["frames_seen"], [states["frames"].reshape(1)]
        for b, (block, (unit_states, se_total)) in enumerate(zip(model.blocks, states["blocks"])):
            causal = [(u, unit) for u, unit in enumerate(block.deep) if unit.kernel[0] > 1]
            for (u, unit), buffer in zip(causal, unit_states):
                self.state_names.append(f"blocks.{b}.deep.{u}.last_{unit.kernel[0] - 1}_frames")
                initial.append(buffer.flatten(1, 2))
            self.state_names.append(f"blocks.{b}.se.frame_mean_sum")
            initial.append(se_total.squeeze(2))
        self.state_names.append("head.frame_mean_sum")
        initial.append(states["pool"].squeeze(2))
        self.initial_states = initial

    def forward(self, frame: Tensor, frames_seen: Tensor, *flat: Tensor) -> tuple[Tensor, ...]:
        flat_states = iter(flat)
        blocks = []
        for block in self.model.blocks:
            units = [next(flat_states).unflatten(1, (-1, unit.kernel[0] - 1))
                     for unit in block.deep if unit.kernel[0] > 1]
            blocks.append((units, next(flat_states).unsqueeze(2)))
        states = {"frames": frames_seen.reshape(()), "blocks": blocks, "pool": next(flat_states).unsqueeze(2)}
        logits, states = self.model.step(frame.unsqueeze(2), states)
        new = []
        for units, se_total in states["blocks"]:
            new += [buffer.flatten(1, 2) for buffer in units]
            new.append(se_total.squeeze(2))
        return (logits, states["frames"].reshape(1), *new, states["pool"].squeeze(2))


def _step_module(model: nn.Module, frame_shape: Sequence[int]) -> Union[_TsmStep, _MoViNetStep]:
    if isinstance(model, MobileNetV2TSM):
        if not model.online:
            raise ValueError("stream_onnx: MobileNetV2-TSM streams only when built with online=True")
        return _TsmStep(_torch_backend_copy(model), frame_shape)
    if isinstance(model, MoViNet):
        if not model.stream:
            raise ValueError("stream_onnx: MoViNet streams only when built with stream=True (the causal model)")
        return _MoViNetStep(_torch_backend_copy(model), frame_shape)
    raise TypeError(f"stream_onnx: expected an online MobileNetV2-TSM or a stream MoViNet, got {type(model).__name__}")


def stream_onnx(model: nn.Module, path: Union[str, os.PathLike], frame_shape: Sequence[int]) -> list[str]:
    """Write the single-frame step of ``model`` to ``path`` as an ONNX graph
    with explicit states (see the module docstring for their names and
    layouts), for frames of ``frame_shape`` = (N, 3, H, W).

    ``model`` is an online ``fastvfx.models.mobilenet_v2_tsm`` or a stream
    ``fastvfx.models.movinet_a0`` (either conv type), in either backend; it is
    not modified. Returns the state names in the graph's input order (after
    ``frame``); :class:`OnnxStream` runs the graph."""
    frame_shape = tuple(int(d) for d in frame_shape)
    if len(frame_shape) != 4 or frame_shape[1] != 3 or min(frame_shape) < 1:
        raise ValueError(f"stream_onnx: frame_shape must be (N, 3, H, W), got {frame_shape}")
    step = _step_module(model, frame_shape)
    frame = torch.zeros(frame_shape, dtype=next(step.model.parameters()).dtype)
    names = step.state_names
    with torch.no_grad():
        torch.onnx.export(
            step, (frame, *step.initial_states), os.fspath(path), dynamo=True, verbose=False,
            input_names=[FRAME, *names], output_names=[LOGITS, *(name + NEXT for name in names)],
        )
    return names


class OnnxStream:
    """Runs a graph written by :func:`stream_onnx` in ONNX Runtime, one frame
    per call, feeding each call's state outputs back as the next call's inputs
    (the arrays ONNX Runtime returned, as they are: a plain ``session.run``
    per frame and nothing else).

    ``stream(frame)`` takes a frame (N, 3, H, W) of the exported shape (numpy
    or a CPU torch tensor, float32) and returns its logits as a numpy array;
    ``reset()`` starts a new video. ``threads`` sets ONNX Runtime's
    intra-op thread count (None: its default); ``session_options`` (an
    ``onnxruntime.SessionOptions``) are the options to start from, e.g. with
    the intra-op pool's spinning turned off (None: ONNX Runtime's defaults)."""

    def __init__(self, path: Union[str, os.PathLike], threads: Optional[int] = None,
                 session_options=None) -> None:
        # numpy and onnxruntime come with ONNX Runtime use, not with `import fastvfx`.
        import numpy as np
        import onnxruntime as ort

        options = ort.SessionOptions() if session_options is None else session_options
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if FRAME not in inputs or LOGITS not in outputs:
            raise ValueError(f"OnnxStream: {path} is not a stream_onnx graph (inputs {list(inputs)})")
        self.state_names = [name for name in inputs if name != FRAME]
        missing = [name for name in self.state_names if name + NEXT not in outputs]
        if missing:
            raise ValueError(f"OnnxStream: {path} has no output for the states {missing}")
        self.frame_shape = tuple(inputs[FRAME].shape)
        self._fetch = [LOGITS, *(name + NEXT for name in self.state_names)]
        self._zeros = {name: np.zeros(inputs[name].shape, dtype=_NUMPY_TYPES[inputs[name].type])
                       for name in self.state_names}
        self._feeds: dict = {}
        self.reset()

    def reset(self) -> None:
        """Start a new video: all states zero."""
        for name, zeros in self._zeros.items():
            self._feeds[name] = zeros.copy()

    def __call__(self, frame) -> "np.ndarray":
        import numpy as np

        if isinstance(frame, Tensor):
            frame = frame.detach().cpu().numpy()
        frame = np.ascontiguousarray(frame, dtype=np.float32)
        if frame.shape != self.frame_shape:
            raise ValueError(f"OnnxStream: the graph takes frames of shape {self.frame_shape}, got {frame.shape}")
        feeds = self._feeds
        feeds[FRAME] = frame
        logits, *states = self.session.run(self._fetch, feeds)
        for name, state in zip(self.state_names, states):
            feeds[name] = state
        return logits
