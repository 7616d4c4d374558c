# The part shared by the cross toolchain files: compilers from Debian's
# <prefix>-g++ packages, libraries and headers from their sysroot only, and
# qemu user-mode emulation so ctest can run the test binaries here. The
# including file sets CMAKE_SYSTEM_PROCESSOR, FASTVFX_CROSS_PREFIX (default)
# and FASTVFX_QEMU_NAME first.
set(CMAKE_SYSTEM_NAME Linux)

set(CMAKE_C_COMPILER ${FASTVFX_CROSS_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${FASTVFX_CROSS_PREFIX}-g++)

# Target libraries and headers come from the cross sysroot only.
set(FASTVFX_CROSS_SYSROOT /usr/${FASTVFX_CROSS_PREFIX} CACHE PATH "Cross sysroot (for qemu -L)")
set(CMAKE_FIND_ROOT_PATH ${FASTVFX_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Let ctest run the target's binaries here; on a board, run them directly.
find_program(FASTVFX_QEMU ${FASTVFX_QEMU_NAME})
if(FASTVFX_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FASTVFX_QEMU} -L ${FASTVFX_CROSS_SYSROOT})
endif()
