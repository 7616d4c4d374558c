# Cross-compiling the fastvfx core for 32-bit ARM boards (Raspberry Pi 2/3/4 on a 32-bit OS,
# Cortex-A7/A15/A53/A72 in 32-bit mode, armhf; NEON + VFPv4 checked at run time) with Debian's cross toolchain:
#   apt-get install -y g++-arm-linux-gnueabihf qemu-user
#   cmake -S . -B build-armv7 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/armv7-linux-gnueabihf.cmake \
#     -DFASTVFX_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-armv7 && ctest --test-dir build-armv7
# ctest runs the test binaries under qemu-arm (user-mode emulation).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7)

set(FASTVFX_CROSS_PREFIX arm-linux-gnueabihf CACHE STRING "Cross toolchain prefix")
set(CMAKE_C_COMPILER ${FASTVFX_CROSS_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${FASTVFX_CROSS_PREFIX}-g++)

# Target libraries and headers come from the cross sysroot only.
set(FASTVFX_CROSS_SYSROOT /usr/${FASTVFX_CROSS_PREFIX} CACHE PATH "Cross sysroot (for qemu -L)")
set(CMAKE_FIND_ROOT_PATH ${FASTVFX_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Let ctest run armv7 binaries here; on a board, run them directly.
find_program(FASTVFX_QEMU_ARM qemu-arm)
if(FASTVFX_QEMU_ARM)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FASTVFX_QEMU_ARM} -L ${FASTVFX_CROSS_SYSROOT})
endif()
