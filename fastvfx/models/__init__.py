"""Reference video models, each with a ``backend="torch"`` (plain PyTorch
modules, written as the upstream projects write them: the baseline) and a
``backend="fastvfx"`` form. The two share one state dict layout (weights load
into either) and give the same outputs.

- :func:`mobilenet_v2_tsm`: TSM on MobileNetV2, offline (clips of
  ``n_segment`` frames) or online (one frame at a time, shift caches).
- :func:`movinet_a0`: MoViNet-A0, causal stream model, 3D or (2+1)D convs.
- :func:`squeezetime`: SqueezeTime, the Kinetics-400 configuration.
"""

BACKENDS = ("torch", "fastvfx")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


from .movinet import movinet_a0  # noqa: E402


from .mobilenet_v2_tsm import mobilenet_v2_tsm  # noqa: E402
from .squeezetime import squeezetime  # noqa: E402
from ._common import calibrate_batchnorm  # noqa: E402

__all__ = ["BACKENDS", "calibrate_batchnorm", "mobilenet_v2_tsm", "movinet_a0", "squeezetime"]
