"""Build and runtime information, and the choice of kernel ISA."""

from __future__ import annotations

import contextlib
import platform
from typing import Iterator

import torch

from . import _C


def info() -> dict:
    """What was built and what runs here: version, ISAs, threads, torch."""
    return {
        "fastvfx": _C.__version__,
        "torch (built against)": _C.torch_version,
        "torch (running)": torch.__version__,
        "build type": _C.build_type,
        "compiled ISAs": ", ".join(_C.compiled_isas()),
        "supported ISAs": ", ".join(_C.supported_isas()),
        "active ISA": _C.active_isa(),
        "threads": _C.num_threads(),
        "large outputs": _large_outputs(),
        "CUDA kernels compiled": _C.cuda_compiled,
        "CUDA architectures": _C.cuda_architectures or "none",
        "CUDA device": _cuda_device(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }


def _large_outputs() -> str:
    """What the CPU ops do to a fresh output of 32 MiB or more (README, "Memory")."""
    if _C.huge_pages():
        return "32 MiB and up: huge pages asked for (FASTVFX_HUGE_PAGES=1)"
    if _C._prefault():
        return "32 MiB and up: pages faulted in ahead of the kernel"
    return "32 MiB and up: pages faulted in by the kernel's writes"


def _cuda_device() -> str:
    """The GPU the CUDA kernels would run on, or why there is none."""
    if not torch.cuda.is_available():
        return "none (torch.cuda.is_available() is False)"
    index = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(index)
    return f"{torch.cuda.get_device_name(index)} (sm_{major}{minor})"


def supported_isas() -> list[str]:
    """ISA variants of the kernels this CPU can run (``scalar`` always)."""
    return list(_C.supported_isas())


def active_isa() -> str:
    """The ISA variant the kernels use now."""
    return _C.active_isa()


def set_isa(name: str) -> None:
    """Select the kernels' ISA variant (``scalar``, ``avx2``, ``avx512``, ``neon``).

    The default is the best the CPU runs, or the ``FASTVFX_ISA`` environment
    variable. Raises ValueError for an ISA that cannot run here.
    """
    _C.set_isa(name)


@contextlib.contextmanager
def isa(name: str) -> Iterator[None]:
    """Context manager: run the kernels with one ISA variant, then restore."""
    previous = _C.active_isa()
    _C.set_isa(name)
    try:
        yield
    finally:
        _C.set_isa(previous)


def huge_pages_enabled() -> bool:
    """Whether CPU outputs of 32 MiB or more ask Linux for transparent huge pages."""
    return _C.huge_pages()


def set_huge_pages(enabled: bool) -> None:
    """Ask Linux for transparent huge pages on CPU outputs of 32 MiB or more.

    Off by default; ``FASTVFX_HUGE_PAGES=1`` in the environment turns it on at
    import. Such an output is a fresh mapping whose pages the kernel faults in
    4 KiB at a time; with huge pages (THP in ``madvise`` or ``always`` mode) a
    51 MB shifted clip took 2.5-3x less time at the median. The price is a
    tail on some hosts: in a VM whose balloon hands free memory back to the
    host, huge-page faults on two threads came in slow bursts (see
    docs/temporal_shift.md, "Large outputs"). Without them the ops fault a
    large output's pages in ahead of their kernel (``FASTVFX_PREFAULT=0``
    turns that off). Values never change.
    """
    _C.set_huge_pages(bool(enabled))


@contextlib.contextmanager
def huge_pages(enabled: bool = True) -> Iterator[None]:
    """Context manager: switch the huge-page advice on (or off), then restore."""
    previous = _C.huge_pages()
    _C.set_huge_pages(bool(enabled))
    try:
        yield
    finally:
        _C.set_huge_pages(previous)
