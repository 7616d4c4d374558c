"""ONNX Runtime as a third contender in the model cases: the torch backend
exported with ``torch.onnx.export(..., dynamo=True)`` and run by ONNX Runtime
with the case's thread count, the comparison a user makes before adopting a
kernel library (issue 12).

Each contender is a zero-argument callable, or a string saying why it was
skipped: onnxruntime / onnx / onnxscript not installed, a stream model
without ``fastvfx.export`` (its states must be explicit graph inputs and
outputs), or an export that failed. An exported file is cached per model
and input shape for the run, so the thread variants of a case export once.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import importlib.util
import io
import logging
import os
import shutil
import tempfile
import warnings
from typing import Callable, Union

import torch

from .case import device as bench_device

NAME = "onnxruntime"
PACKAGES = ("onnxruntime", "onnx", "onnxscript")

Contender = Union[Callable[[], torch.Tensor], str]

_exported: dict[tuple, str] = {}


def missing_packages() -> list[str]:
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def stream_export():
    """``fastvfx.export`` when it provides the stream export (stream_onnx,
    OnnxStream), else None."""
    try:
        export = importlib.import_module("fastvfx.export")
    except ImportError:
        return None
    if not (hasattr(export, "stream_onnx") and hasattr(export, "OnnxStream")):
        return None
    return export


@functools.lru_cache(maxsize=1)
def _export_dir() -> str:
    path = tempfile.mkdtemp(prefix="fastvfx-bench-onnx-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@contextlib.contextmanager
def _quiet():
    """The exporter prints its progress and logs warnings; keep them out of
    the benchmark's progress lines."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _exported_file(key: tuple, export: Callable[[str], None]) -> str:
    """The ONNX file of ``key``, exported by ``export(path)`` on first use."""
    if key not in _exported:
        path = os.path.join(_export_dir(), f"{len(_exported)}.onnx")
        with _quiet():
            export(path)
        _exported[key] = path
    return _exported[key]


def session_options(threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle pool threads would spin on into the next contender's timing in the
    # interleaved rounds; torch's pool sleeps between calls too.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def profiled_session(model: torch.nn.Module, x: torch.Tensor, threads: int):
    """A fresh ONNX Runtime session of ``model`` exported on ``x`` (dynamo),
    with ``threads`` threads and its profiler on: ``session.end_profiling()``
    names the JSON file of per-node kernel times (the diagnostics in bench/
    compare single layers with it)."""
    import onnxruntime

    path = os.path.join(tempfile.mkdtemp(prefix="fastvfx-profile-"), "model.onnx")
    with _quiet():
        torch.onnx.export(model, (x,), path, dynamo=True, verbose=False)
    options = session_options(threads)
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(os.path.dirname(path), "profile")
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


@functools.lru_cache(maxsize=None)
def _session(path: str, threads: int):
    import onnxruntime

    return onnxruntime.InferenceSession(path, session_options(threads), providers=["CPUExecutionProvider"])


def _skip_reason(stream: bool) -> str | None:
    if bench_device().type != "cpu":
        return "skipped: runs on the cpu only"
    missing = missing_packages()
    if missing:
        return f"skipped: {', '.join(missing)} not installed (pip install 'fastvfx[bench]')"
    if stream and stream_export() is None:
        return "skipped: needs fastvfx.export"
    return None


def _failed(error: Exception) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"skipped: export failed ({type(error).__name__}: {first_line[:120]})"


def clip_contender(key: tuple, model: torch.nn.Module, x: torch.Tensor) -> Contender:
    """ONNX Runtime running the exported ``model`` on ``x`` with torch's
    current thread count."""
    reason = _skip_reason(stream=False)
    if reason:
        return reason

    def export(path: str) -> None:
        torch.onnx.export(model, (x,), path, dynamo=True, verbose=False)

    try:
        session = _session(_exported_file(key, export), torch.get_num_threads())
    except Exception as error:  # noqa: BLE001 - any export failure becomes the column's reason
        return _failed(error)
    feeds = {session.get_inputs()[0].name: x.numpy()}
    return lambda: torch.from_numpy(session.run(None, feeds)[0])


def stream_contender(key: tuple, model: torch.nn.Module, frame: torch.Tensor, warm_frames: int) -> Contender:
    """ONNX Runtime stepping the exported stream ``model`` frame by frame
    (``fastvfx.export.OnnxStream`` carries the states; one call a frame), after
    ``warm_frames`` frames like the torch contenders."""
    reason = _skip_reason(stream=True)
    if reason:
        return reason
    export = stream_export()
    # The exported step takes one frame (N, 3, H, W); MoViNet's torch step
    # takes it with a time axis of one.
    frame = frame[:, :, 0] if frame.dim() == 5 else frame
    try:
        path = _exported_file(key, lambda path: export.stream_onnx(model, path, tuple(frame.shape)))
        # The same options as the clip sessions: a spinning intra-op pool ran
        # on into the next contender's timing (docs/models.md, MobileNetV2-TSM).
        threads = torch.get_num_threads()
        stream = export.OnnxStream(path, threads=threads, session_options=session_options(threads))
    except Exception as error:  # noqa: BLE001
        return _failed(error)

    def step() -> torch.Tensor:
        return torch.as_tensor(stream(frame))

    for _ in range(warm_frames):
        step()
    return step
