# Cross-compiling the fastvfx core for 64-bit ARM boards (Raspberry Pi 4/5,
# Jetson CPUs, ...) with Debian's cross toolchain:
#   apt-get install -y g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build-aarch64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#     -DFASTVFX_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-aarch64 && ctest --test-dir build-aarch64
# ctest runs the test binaries under qemu-aarch64 (user-mode emulation).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(FASTVFX_CROSS_PREFIX aarch64-linux-gnu CACHE STRING "Cross toolchain prefix")
set(CMAKE_C_COMPILER ${FASTVFX_CROSS_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${FASTVFX_CROSS_PREFIX}-g++)

# Target libraries and headers come from the cross sysroot only.
set(FASTVFX_CROSS_SYSROOT /usr/${FASTVFX_CROSS_PREFIX} CACHE PATH "Cross sysroot (for qemu -L)")
set(CMAKE_FIND_ROOT_PATH ${FASTVFX_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Let ctest run aarch64 binaries here; on a board, run them directly.
find_program(FASTVFX_QEMU_AARCH64 qemu-aarch64)
if(FASTVFX_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FASTVFX_QEMU_AARCH64} -L ${FASTVFX_CROSS_SYSROOT})
endif()
