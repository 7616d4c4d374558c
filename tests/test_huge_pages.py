"""Large fresh outputs may ask for huge pages (csrc/ops/cpu/large_outputs.h):
with the advice switched on, every op that allocates an output of 32 MiB or
more advises its whole 2 MiB pages (MADV_HUGEPAGE, "hg" in the mapping's
VmFlags) before writing them, where the kernel takes that advice (elsewhere
it is refused, harmlessly); the values are unchanged (each op against its
reference), and a small output is left alone. The advice is off by default:
FASTVFX_HUGE_PAGES=1 or fastvfx.set_huge_pages(True) turns it on. By default
the same call faults a large output's pages in ahead of the kernel
(MADV_POPULATE_WRITE; FASTVFX_PREFAULT=0 turns it off), read off mincore."""

import ctypes
import mmap
import os
import subprocess
import sys

import pytest
import torch

import fastvfx
from fastvfx.ops.causal_dwconv3d import causal_dwconv3d_reference
from fastvfx.ops.depthwise_conv2d import depthwise_conv2d_reference
from fastvfx.ops.fused_conv2d import fused_conv2d_reference, pack_weight
from fastvfx.ops.inverted_residual import inverted_residual_reference, pack_weights
from fastvfx.ops.temporal_shift import shift_conv1x1_reference, temporal_shift_reference

HUGE_PAGE = 2 << 20


def _kernel_takes_the_advice():
    """Whether this kernel accepts MADV_HUGEPAGE (transparent huge pages
    built in), tried on a mapping of our own: the ops' advice succeeds or
    fails alike."""
    if not hasattr(mmap, "MADV_HUGEPAGE"):
        return False
    region = mmap.mmap(-1, 2 * HUGE_PAGE)
    try:
        region.madvise(mmap.MADV_HUGEPAGE)
        return True
    except OSError:
        return False
    finally:
        region.close()


THP = _kernel_takes_the_advice()


def _kernel_populates():
    """Whether this kernel has MADV_POPULATE_WRITE (Linux 5.14), tried on a
    mapping of our own, and the environment leaves the prefault on."""
    if not sys.platform.startswith("linux") or os.environ.get("FASTVFX_PREFAULT") == "0":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    region = mmap.mmap(-1, HUGE_PAGE)
    view = ctypes.c_char.from_buffer(region)
    try:
        return libc.madvise(ctypes.addressof(view), HUGE_PAGE, 23) == 0  # MADV_POPULATE_WRITE
    finally:
        del view
        region.close()


POPULATE = _kernel_populates()


def vm_flags(address):
    """The VmFlags of this process's mapping that holds ``address``."""
    flags = None
    with open("/proc/self/smaps") as smaps:
        inside = False
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= address < hi
            elif inside and line.startswith("VmFlags:"):
                flags = line.split()[1:]
    return flags


def advised(y):
    """Whether the first whole 2 MiB page inside y's memory is advised."""
    return "hg" in vm_flags((y.data_ptr() + HUGE_PAGE - 1) // HUGE_PAGE * HUGE_PAGE)


def _cl(*shape):
    return torch.randn(shape).contiguous(memory_format=torch.channels_last)


# op name -> (op on an input of about 51 MB, its reference); outputs >= 32 MiB.
def _cases():
    w3 = torch.randn(64, 1, 3, 3, 3) * 0.2
    w2 = torch.randn(32, 1, 3, 3) * 0.3
    w1 = torch.randn(128, 64, 1, 1) * 0.1
    packed = pack_weight(w1)
    ws = torch.randn(64, 64, 1, 1) * 0.1
    block = dict(expand_weight=torch.randn(96, 16) * 0.2, expand_bias=torch.randn(96), dw_weight=torch.randn(96, 1, 3, 3),
                 dw_bias=torch.randn(96), project_weight=torch.randn(32, 96) * 0.1, project_bias=torch.randn(32))
    packed_block = pack_weights(**block)
    return {
        "temporal_shift": (lambda: torch.randn(64, 64, 56, 56), lambda x: fastvfx.temporal_shift(x, 8, 8),
                           lambda x: temporal_shift_reference(x, 8, 8)),
        "causal_dwconv3d": (lambda: torch.randn(1, 64, 16, 112, 112),
                            lambda x: fastvfx.causal_dwconv3d(x, w3, None, padding=(1, 1, 1)),
                            lambda x: causal_dwconv3d_reference(x, w3, None, padding=(1, 1, 1))),
        "depthwise_conv2d": (lambda: _cl(8, 32, 224, 224), lambda x: fastvfx.depthwise_conv2d(x, w2, None, 1, 1),
                             lambda x: depthwise_conv2d_reference(x, w2, None, 1, 1)),
        "fused_conv2d": (lambda: _cl(8, 64, 112, 112), lambda x: fastvfx.fused_conv2d(x, packed),
                         lambda x: fused_conv2d_reference(x, w1)),
        "shift_conv1x1": (lambda: torch.randn(64, 64, 56, 56), lambda x: fastvfx.shift_conv1x1(x, ws, None, 8),
                          lambda x: shift_conv1x1_reference(x, ws, None, 8)),
        "inverted_residual": (lambda: _cl(8, 16, 224, 224),
                              lambda x: fastvfx.inverted_residual(x, packed_block),
                              lambda x: inverted_residual_reference(x, **block)),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_large_output_asks_for_huge_pages(name):
    make, op, reference = _cases()[name]
    x = make()
    with torch.no_grad(), fastvfx.huge_pages():
        y = op(x)
        assert y.numel() * y.element_size() >= 32 << 20
        assert advised(y) == THP
        torch.testing.assert_close(y, reference(x), rtol=1e-5, atol=1e-5)
        small = op(x[:, :, :2] if x.dim() == 5 else x[: x.size(0) // 8])  # an eighth or less
        assert small.numel() * small.element_size() < 8 << 20
        assert "hg" not in vm_flags(small.data_ptr())
    with torch.no_grad(), fastvfx.huge_pages(False):  # the default: pages faulted in ahead
        # (Not "not advised": glibc may hand back a heap chunk advised before.)
        torch.testing.assert_close(op(x), reference(x), rtol=1e-5, atol=1e-5)


def resident_pages(t):
    """How many of the whole 4 KiB pages inside t's memory are resident."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    first = (t.data_ptr() + 4095) // 4096 * 4096
    pages = (t.data_ptr() + t.numel() * t.element_size() - first) // 4096
    flags = (ctypes.c_ubyte * pages)()
    assert libc.mincore(first, pages * 4096, flags) == 0, ctypes.get_errno()
    return sum(f & 1 for f in flags), pages


def fresh_tensor(numel):
    """A float32 tensor over a fresh anonymous mapping, no page touched yet
    (torch.empty may take reused heap memory: glibc serves even a 51 MB
    request from a free chunk when it has one), and the mapping."""
    region = mmap.mmap(-1, numel * 4)
    return torch.frombuffer(region, dtype=torch.float32, count=numel), region


def test_large_output_is_faulted_in_ahead():
    """By default the ops fault a fresh large output's pages in before their
    kernel writes them (MADV_POPULATE_WRITE per 2 MiB chunk, over torch's
    threads, instead of a trap per 4 KiB page); a small one is left alone.
    Whether each op calls this is what the huge-page test shows: the advice
    comes from the same call."""
    with fastvfx.huge_pages(False):
        fresh, region = fresh_tensor(64 * 64 * 56 * 56)  # 51 MB
        assert resident_pages(fresh)[0] == 0
        fastvfx._C._prepare_large_output(fresh)
        resident, pages = resident_pages(fresh)
        assert resident == (pages if POPULATE else 0), (resident, pages)
        assert not advised(fresh)
        assert not fresh.any()  # values untouched (zeros)
        small, small_region = fresh_tensor(64 * 64 * 56 * 56 // 2)  # 25.7 MB, under the 32 MiB line
        fastvfx._C._prepare_large_output(small)
        assert resident_pages(small)[0] == 0
    with fastvfx.huge_pages(True):
        fresh, region = fresh_tensor(64 * 64 * 56 * 56)
        fastvfx._C._prepare_large_output(fresh)
        assert advised(fresh) == THP
        assert resident_pages(fresh)[0] == 0  # advice only: the writes fault them in


_FAULTS_SCRIPT = """
import sys, torch, fastvfx
sys.path.insert(0, {tests!r})
from test_huge_pages import fresh_tensor, resident_pages
fresh, region = fresh_tensor(64 * 64 * 56 * 56)
fastvfx._C._prepare_large_output(fresh)
print(resident_pages(fresh)[0])
"""


def test_environment_turns_the_prefault_off(tmp_path):
    script = _FAULTS_SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k not in ("FASTVFX_HUGE_PAGES", "FASTVFX_PREFAULT")}
    out = subprocess.run([sys.executable, "-c", script], env=dict(env, FASTVFX_PREFAULT="0"), capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    assert int(out.stdout.split()[-1]) == 0


def test_switch():
    initial = fastvfx.huge_pages_enabled()
    assert initial == (os.environ.get("FASTVFX_HUGE_PAGES", "0") not in ("", "0"))  # off unless asked for
    try:
        fastvfx.set_huge_pages(True)
        assert fastvfx.huge_pages_enabled()
        assert fastvfx.info()["large outputs"] == "32 MiB and up: huge pages asked for (FASTVFX_HUGE_PAGES=1)"
        with fastvfx.huge_pages(False):
            assert not fastvfx.huge_pages_enabled()
        assert fastvfx.huge_pages_enabled()
        fastvfx.set_huge_pages(False)
        assert fastvfx.info()["large outputs"] == (
            "32 MiB and up: pages faulted in ahead of the kernel" if POPULATE
            else "32 MiB and up: pages faulted in by the kernel's writes")
    finally:
        fastvfx.set_huge_pages(initial)


_SCRIPT = """
import sys, torch, fastvfx
sys.path.insert(0, {tests!r})
from test_huge_pages import advised
print(advised(fastvfx.temporal_shift(torch.ones(64, 64, 56, 56), 8, 8)))
"""


def test_environment_turns_the_advice_on(tmp_path):
    script = _SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__)))
    for setting, expected in (("1", str(THP)), ("0", "False"), ("", "False"), (None, "False")):
        env = dict(os.environ, FASTVFX_HUGE_PAGES=setting or "")
        if setting is None:
            del env["FASTVFX_HUGE_PAGES"]
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
                             cwd=tmp_path)
        assert out.stdout.split()[-1] == expected, out.stderr
