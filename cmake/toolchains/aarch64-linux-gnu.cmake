# Cross-compiling the fastvfx core for 64-bit ARM boards (Raspberry Pi 4/5,
# Jetson CPUs, ...) with Debian's cross toolchain:
#   apt-get install -y g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build-aarch64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#     -DFASTVFX_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-aarch64 && ctest --test-dir build-aarch64
# ctest runs the test binaries under qemu-aarch64 (user-mode emulation).
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(FASTVFX_CROSS_PREFIX aarch64-linux-gnu CACHE STRING "Cross toolchain prefix")
set(FASTVFX_QEMU_NAME qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross-common.cmake)
