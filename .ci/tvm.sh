#!/usr/bin/env bash
# CI for tvm_schedules (issue 6). Assumes the venv with fastvfx installed is
# active (.ci/run sets it up). Installs the [tvm] extra's pinned packages, runs
# the TVM tests (host numerics of every schedule family, every board's cross
# build, the ARM builds under qemu, the CLIs), a tiny tuning run, a cross build
# for rpi4 and the plain-C driver under qemu-aarch64. Measured: 127 s on the
# 2-core CI machine (tests 78 s, tuning 40 s).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
step() { printf '\n=== tvm: %s (%ds)\n' "$1" $((SECONDS - start)); }

step "install the [tvm] extra (pins from pyproject.toml)"
# The pins only, not `pip install .[tvm]`: fastvfx is already built and installed.
pip install -q "apache-tvm==0.27.0.post1" "apache-tvm-ffi==0.1.14.post1" psutil cloudpickle
python - <<'PY'
import importlib.metadata as m
print("tvm", m.version("apache-tvm"), "tvm-ffi", m.version("apache-tvm-ffi"), "torch", m.version("torch"))
PY

if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-aarch64-linux-gnu qemu-user >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# .ci/run has already run tests/tvm with the rest of `pytest tests`.
if [ "${FASTVFX_TVM_TESTS_DONE:-0}" != 1 ]; then
  step "tests/tvm"
  rc=0
  pytest tests/tvm -q -p no:cacheprovider || rc=$?
  if [ "$rc" -eq 5 ]; then echo "pytest collected no TVM tests"; exit 1; fi
  [ "$rc" -eq 0 ] || exit "$rc"
fi

# tests/tvm/test_tvm_cli.py tunes and builds with the tuned schedule too; the
# tuning run here is for a standalone `.ci/tvm.sh`.
if [ "${FASTVFX_TVM_TESTS_DONE:-0}" != 1 ]; then
  step "tuning: 4 trials on the smallest TFC, host, random cost model"
  python -m tvm_schedules.tune --target host --trials 4 --trials-per-iter 4 --shapes small \
    --kernels tfc_small --cost-model random --db "$work/db"
  test -s "$work/db/database_tuning_record.json"
  python -m tvm_schedules.build --target host --shapes small --db "$work/db" --out "$work/host"
  grep -q '"schedule": "tuned"' "$work/host/fastvfx_tvm_small.json"
fi

step "cross build for rpi4, small shape set"
python -m tvm_schedules.build --target rpi4 --shapes small --out "$work/rpi4"
file "$work/rpi4/libfastvfx_tvm_small.so" | grep -q "ARM aarch64"

# Runs every kernel of the build (the numerical comparison with the fastvfx
# references under qemu is in tests/tvm/test_tvm_cross.py, above).
step "aarch64 kernels under qemu (plain-C driver, no TVM runtime)"
python -m tvm_schedules.qemu_driver --build-dir "$work/rpi4"

step "done"
