# Cross-compiling the fastvfx core for 32-bit ARM boards (Raspberry Pi 2/3/4 on a 32-bit OS,
# Cortex-A7/A15/A53/A72 in 32-bit mode, armhf; NEON + VFPv4 checked at run time) with Debian's cross toolchain:
#   apt-get install -y g++-arm-linux-gnueabihf qemu-user
#   cmake -S . -B build-armv7 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/armv7-linux-gnueabihf.cmake \
#     -DFASTVFX_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-armv7 && ctest --test-dir build-armv7
# ctest runs the test binaries under qemu-arm (user-mode emulation).
set(CMAKE_SYSTEM_PROCESSOR armv7)
set(FASTVFX_CROSS_PREFIX arm-linux-gnueabihf CACHE STRING "Cross toolchain prefix")
set(FASTVFX_QEMU_NAME qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross-common.cmake)
