"""Build/runtime information and the ISA override."""

import os
import subprocess
import sys

import pytest
import torch

import fastvfx


def _python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, cwd="/"
    )


def test_info_reports_the_build():
    info = fastvfx.info()
    assert info["fastvfx"] == fastvfx.__version__
    assert "scalar" in info["compiled ISAs"].split(", ")
    assert info["active ISA"] in info["supported ISAs"].split(", ")
    # CUDA kernels come with a CUDA torch only, and then name their architectures.
    if torch.version.cuda is None:
        assert info["CUDA kernels compiled"] is False and info["CUDA architectures"] == "none"
    if info["CUDA kernels compiled"]:
        assert info["CUDA architectures"].startswith("sm_")


@pytest.mark.parametrize("isa", fastvfx.supported_isas())
def test_env_var_selects_the_isa(isa):
    run = _python("import fastvfx; print(fastvfx.active_isa())", FASTVFX_ISA=isa)
    assert run.returncode == 0 and run.stdout.strip() == isa


def test_unknown_env_isa_warns_and_falls_back_to_the_best():
    run = _python("import fastvfx; print(fastvfx.active_isa(), fastvfx.supported_isas()[-1])", FASTVFX_ISA="sse9")
    assert run.returncode == 0
    active, best = run.stdout.split()
    assert active == best and "FASTVFX_ISA=sse9" in run.stderr


def test_set_isa_rejects_what_cannot_run():
    with pytest.raises(ValueError, match="unknown ISA"):
        fastvfx.set_isa("sse9")
    missing = [i for i in ("scalar", "avx2", "avx512", "neon") if i not in fastvfx.supported_isas()]
    for name in missing:
        with pytest.raises(ValueError, match="not"):
            fastvfx.set_isa(name)
    before = fastvfx.active_isa()
    with fastvfx.isa("scalar"):
        assert fastvfx.active_isa() == "scalar"
    assert fastvfx.active_isa() == before


def test_cli_info():
    run = subprocess.run([sys.executable, "-m", "fastvfx", "info"], capture_output=True, text=True, cwd="/")
    assert run.returncode == 0, run.stderr
    assert f"active ISA: {fastvfx.active_isa()}" in run.stdout
