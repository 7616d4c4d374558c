"""The three fastvfx operators in TensorIR / TE, with hand-written schedules
for x86 and ARM CPUs, a MetaSchedule tuning pipeline and a cross-compiling
build (``python -m tvm_schedules.build`` / ``python -m tvm_schedules.tune``).

Optional: ``pip install 'fastvfx[tvm]'``. Nothing here imports the compiled
fastvfx core; the modules that define kernels import ``tvm`` on first use.
"""

from __future__ import annotations

TVM_PINS = ("apache-tvm==0.27.0.post1", "apache-tvm-ffi==0.1.14.post1", "psutil", "cloudpickle")


def require_tvm():
    """Import tvm, or raise an ImportError that says how to install it."""
    try:
        import tvm  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tvm_schedules needs Apache TVM 0.27: pip install 'fastvfx[tvm]' "
            f"(or pip install {' '.join(TVM_PINS)})"
        ) from err
    return tvm
