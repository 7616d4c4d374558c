"""Cross-compilation for every named board, and the ARM builds run under
qemu through the plain-C driver, checked against the fastvfx references."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import torch

from tvm_schedules import build, qemu_driver, shapes, targets
from tvm_test_support import assert_arguments_match, expected_arguments, make_arguments

pytest.importorskip("tvm", reason="Apache TVM is not installed: pip install 'fastvfx[tvm]' (CI: .ci/tvm.sh)")

BOARDS = [name for name in targets.target_names() if name != "host"]
_ELF_MACHINE = {"aarch64": 183, "armv7": 40}
_OBJDUMP = {"aarch64": "aarch64-linux-gnu-objdump", "armv7": "arm-linux-gnueabihf-objdump"}
# A vector FMA / multiply-add on 4 x fp32 NEON registers.
_NEON = {"aarch64": ("fmla\tv", ".4s"), "armv7": ("vfma.f32\tq", "vmla.f32\tq")}


@pytest.fixture(scope="module")
def board_builds(tmp_path_factory):
    """The small shape set built for every board (shared library too where
    its cross compiler is installed)."""
    out = {}
    for board in BOARDS:
        directory = tmp_path_factory.mktemp(board)
        shared = shutil.which(targets.cross_compiler(board)) is not None
        out[board] = (build.build_artifacts(board, "small", str(directory), shared=shared, log=lambda *_: None),
                      str(directory))
    return out


def _elf_machine(path: str) -> int:
    with open(path, "rb") as f:
        header = f.read(20)
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


@pytest.mark.parametrize("board", BOARDS)
def test_board_builds_arm_code(board_builds, board):
    paths, _ = board_builds[board]
    arch = targets.arch(board)
    for key in ("object", "shared"):
        if key in paths:
            assert _elf_machine(paths[key]) == _ELF_MACHINE[arch], f"{key} of {board} is not {arch} code"
    header = open(paths["header"]).read()
    for kernel in shapes.small():
        assert f"__tvm_ffi_{kernel.name}(" in header
    objdump = shutil.which(_OBJDUMP[arch])
    if objdump is None:
        pytest.skip(f"{_OBJDUMP[arch]} not installed: NEON instructions not inspected")
    disassembly = subprocess.run([objdump, "-d", paths["object"]], capture_output=True, text=True, check=True).stdout
    assert any(pattern in disassembly for pattern in _NEON[arch]), f"no NEON vector FMA in the {board} build"


def _qemu_ready(arch: str) -> bool:
    compiler, qemu, _ = qemu_driver.ARCHES[arch]
    return shutil.which(compiler) is not None and shutil.which(qemu) is not None


@pytest.mark.parametrize("board", ["rpi4", "rpi3", "rpi4-armv7"])
def test_kernels_under_qemu(board_builds, board):
    arch = targets.arch(board)
    if not _qemu_ready(arch):
        if arch == "aarch64":
            pytest.fail("aarch64 cross gcc and qemu-aarch64 are required (apt-get install gcc-aarch64-linux-gnu "
                        "qemu-user)")
        pytest.skip(f"{qemu_driver.ARCHES[arch][0]} or {qemu_driver.ARCHES[arch][1]} not installed (optional)")
    _, directory = board_builds[board]
    exe = qemu_driver.build_driver(directory, arch)
    manifest = {k["name"]: k for k in qemu_driver.load_manifest(directory)["kernels"]}
    for seed, kernel in enumerate(shapes.small()):
        values = make_arguments(kernel, seed)
        expected = expected_arguments(kernel, values)
        got = qemu_driver.run_kernel(exe, arch, manifest[kernel.name], [v.numpy() for v in values], directory)
        assert_arguments_match(kernel, [torch.from_numpy(g) for g in got], expected)
