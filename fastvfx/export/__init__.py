"""Export of fastvfx models: ONNX translations of the ops, and streaming export.

- ``torch.onnx.export(model, args, path, dynamo=True)`` works on models that
  use fastvfx ops, with no extra argument: the translations in ``_onnx`` are
  registered with the exporter (see docs/export.md).
- :func:`stream_onnx` writes the single-frame step of a stream model as an
  ONNX graph whose states are explicit inputs and outputs;
  :class:`OnnxStream` runs such a graph frame by frame in ONNX Runtime.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

from ._stream import OnnxStream, stream_onnx

# The registry torch.onnx's exporter reads at every export. Importing
# onnxscript costs seconds, so fastvfx does not import it: the translations
# are registered when the exporter (or anyone) loads this registry.
_TORCHLIB_REGISTRY = "onnxscript.function_libs.torch_lib.registration"


def _register_translations() -> None:
    from . import _onnx  # noqa: F401  (registers on import)


class _RegisterAfterTorchlibImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs the torchlib registry's own loader, then registers the translations."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _TORCHLIB_REGISTRY:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        _register_translations()


def _install() -> None:
    if _TORCHLIB_REGISTRY in sys.modules:
        _register_translations()
    elif importlib.util.find_spec("onnxscript") is not None:
        sys.meta_path.insert(0, _RegisterAfterTorchlibImport())


_install()

__all__ = ["OnnxStream", "stream_onnx"]
