#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, nvcc and a CUDA torch: build fastvfx with its
# CUDA kernels, run the device-parametrised tests on CUDA (correctness, 16-bit
# dtypes, gradcheck, opcheck, torch.compile, stream = clip, a CUDA-graph-captured
# stream), then the GPU benchmark. Under 8 minutes on an H100/H200 class GPU.
#   bash bench/gpu_check.sh            # builds into the active Python environment
#   FASTVFX_SKIP_BUILD=1 bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
step() { printf '\n=== %s (%ds)\n' "$1" $((SECONDS - start)); }
python -c "import torch; assert torch.cuda.is_available(), 'no GPU here'; print(torch.__version__, torch.cuda.get_device_name())"

if [ -z "${FASTVFX_SKIP_BUILD:-}" ]; then
  step "build with CUDA kernels for this GPU only"
  arch="$(python -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")"
  TORCH_CUDA_ARCH_LIST="$arch" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    pip install -q --no-build-isolation --no-deps -C build-dir=build/gpu -C cmake.define.FASTVFX_CUDA=ON .
fi
python -P -m fastvfx info

step "tests on CUDA"
# -P: the installed fastvfx; tests/ import it like a user.
python -P -m pytest tests/test_devices.py tests/test_info.py -q -p no:cacheprovider

step "GPU benchmark (interleaved, ratios in one process)"
python -P bench/gpu_bench.py --rounds 11
python -P bench/gpu_bench.py --rounds 7 --dtype float16
if fastvfx bench --help 2>/dev/null | grep -q -- "--device"; then
  fastvfx bench --device cuda --quick --out "${FASTVFX_GPU_REPORT:-fastvfx-report-gpu}"
fi
step "done"
