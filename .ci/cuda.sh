#!/usr/bin/env bash
# CUDA checks that need no GPU.
#   .ci/cuda.sh compile    nvcc only: every .cu for every default architecture
#                          with -Xptxas -v; fails when a kernel spills registers
#                          or when the shift's copy kernel lost its 128-bit loads.
#   .ci/cuda.sh extension  the whole extension with FASTVFX_CUDA=ON against the
#                          CUDA torch (requirements/cuda.txt, in .venv-cuda), then
#                          imports it: `fastvfx info` reports the CUDA kernels and
#                          every op has a CUDA kernel registered.
#   .ci/cuda.sh            both (the default; .ci/run calls this).
# The kernels' results are checked on the host by ctest (cuda_emulated); on a
# GPU machine, bench/gpu_check.sh runs the tests and the benchmark on CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
part="${1:-all}"
start=$SECONDS
nvcc="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
arch_list="${TORCH_CUDA_ARCH_LIST:-7.5;8.0;8.6;8.9;9.0+PTX}"

compile_check() {
  local gencode=() a num out rc=0
  for a in ${arch_list//;/ }; do
    num="${a%+PTX}"; num="${num/./}"
    gencode+=("-gencode=arch=compute_${num},code=sm_${num}")
    [[ "$a" == *+PTX ]] && gencode+=("-gencode=arch=compute_${num},code=compute_${num}")
  done
  out="$(mktemp -d)"
  local pids=() f
  for f in csrc/kernels/cuda/*.cu; do
    "$nvcc" -std=c++17 -O3 "${gencode[@]}" -Xptxas -v -Icsrc/kernels/include -c "$f" -o "$out/$(basename "$f").o" \
      > "$out/$(basename "$f").log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  if [ "$rc" -ne 0 ]; then cat "$out"/*.log; echo "nvcc failed"; return 1; fi
  python3 - "$out"/*.log <<'PY'
# ptxas -v: "Function properties for <kernel>" then "... N bytes spill stores,
# M bytes spill loads" per kernel and architecture. Every kernel here is hot.
import re, sys
spills, kernels, regs = [], set(), 0
for path in sys.argv[1:]:
    name = None
    for line in open(path):
        m = re.search(r"Function properties for (\S+)", line)
        if m:
            name = m.group(1)
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and name:
            kernels.add(name)
            if int(m.group(1)) or int(m.group(2)):
                spills.append(f"{name}: {line.strip()}")
        m = re.search(r"Used (\d+) registers", line)
        if m:
            regs = max(regs, int(m.group(1)))
if not kernels:
    sys.exit("no ptxas -v report found")
print(f"{len(kernels)} kernels x architectures compiled; most registers used: {regs}")
if spills:
    print("register spills:\n  " + "\n  ".join(spills))
    sys.exit(1)
print("no kernel spills registers")
PY
  # The 16-byte path of the shift is one 128-bit load and store per thread.
  "$nvcc" -std=c++17 -O3 -arch=sm_80 -ptx -Icsrc/kernels/include \
    csrc/kernels/cuda/temporal_shift.cu -o "$out/shift.ptx"
  grep -Eq "ld\.global(\.nc)?\.v4\.u32" "$out/shift.ptx" && grep -Eq "st\.global\.v4\.u32" "$out/shift.ptx" \
    || { echo "the shift kernels have no 128-bit global loads/stores"; return 1; }
  echo "128-bit loads and stores present in the shift kernels"
  rm -rf "$out"
}

extension_check() {
  if [ ! -x .venv-cuda/bin/python ]; then
    python3 -m venv .venv-cuda
    .venv-cuda/bin/pip install -q -r requirements/cuda.txt
  fi
  # FASTVFX_CUDA=ON: fail loudly instead of quietly building CPU-only.
  PATH="$PWD/.venv-cuda/bin:$PATH" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    .venv-cuda/bin/pip install -q --no-build-isolation --no-deps -C build-dir=build/cuda \
    -C cmake.define.FASTVFX_CUDA=ON .
  .venv-cuda/bin/python -P - <<'PY'  # -P: the installed fastvfx, not ./fastvfx
import torch
import fastvfx
info = fastvfx.info()
for key in ("torch (running)", "CUDA kernels compiled", "CUDA architectures", "CUDA device"):
    print(f"{key}: {info[key]}")
assert torch.version.cuda, "the CUDA check needs a CUDA build of torch"
assert info["CUDA kernels compiled"] is True, "fastvfx info: no CUDA kernels"
archs = info["CUDA architectures"].split()
assert archs and all(a.startswith("sm_") or a.startswith("compute_") for a in archs), archs
ops = sorted(n.split("::")[1] for n in torch._C._dispatch_get_all_op_names() if n.startswith("fastvfx::"))
# movinet_block_step, inverted_residual(_step) and fused_conv2d(_residual_)
# are the CPU models' fused blocks and inference convs: on a GPU the models
# run their ops one by one (each with its CUDA kernel, or cuDNN's).
cpu_only = {"movinet_block_step", "inverted_residual", "inverted_residual_step", "fused_conv2d",
            "fused_conv2d_residual_"}
missing = [op for op in ops if not torch._C._dispatch_has_kernel_for_dispatch_key(f"fastvfx::{op}", "CUDA")]
assert ops and set(missing) == cpu_only, f"ops without a CUDA kernel: {missing} (expected only {sorted(cpu_only)})"
print(f"CUDA kernels registered for all {len(ops) - len(cpu_only)} ops but the CPU-only {sorted(cpu_only)}: "
      + ", ".join(op for op in ops if op not in cpu_only))
PY
}

case "$part" in
  compile) compile_check ;;
  extension) extension_check ;;
  all) compile_check; extension_check ;;
  *) echo "usage: $0 [compile|extension|all]"; exit 2 ;;
esac
echo "cuda checks passed in $((SECONDS - start)) s"
