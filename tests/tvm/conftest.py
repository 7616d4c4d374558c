"""Shared fixtures of the TVM tests: skip cleanly when Apache TVM is not
installed (CI installs it: .ci/tvm.sh), compile kernels for this machine."""

from __future__ import annotations

import pytest

# Each test module skips itself when Apache TVM is missing (see
# TVM_REASON); nothing here imports tvm at collection time.


def _import_source_tree() -> None:
    """Test the tvm_schedules of this checkout, also when an older copy is
    installed. The repository root is not put on sys.path: its fastvfx/
    (without the compiled _C) would shadow the installed fastvfx."""
    import importlib.util
    import pathlib
    import sys

    root = pathlib.Path(__file__).resolve().parents[2] / "tvm_schedules"
    if "tvm_schedules" in sys.modules or not root.is_dir():
        return
    spec = importlib.util.spec_from_file_location("tvm_schedules", root / "__init__.py",
                                                  submodule_search_locations=[str(root)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["tvm_schedules"] = module
    spec.loader.exec_module(module)


_import_source_tree()

from tvm_schedules import targets  # noqa: E402

from tvm_test_support import schedule_config_for  # noqa: E402


@pytest.fixture(scope="session")
def host_target():
    return targets.make_target("host")


@pytest.fixture(scope="session")
def compile_kernel(host_target):
    """compile_kernel(kernel, family="host") -> the packed function, taking
    torch tensors in the order of kernel.args."""

    def compile_(kernel, family: str = "host"):
        import tvm

        ex = tvm.compile(kernel.scheduled(schedule_config_for(family)), host_target)
        return ex[kernel.name]

    return compile_
