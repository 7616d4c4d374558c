// The plane kernels compiled for this ISA (see dwconv3d_impl.h), with
// 16-byte vectors (the ISA's register width).
#define FVX_DWCONV3D_SUFFIX neon
#define FVX_DWCONV3D_VEC_BYTES 16
#if defined(__aarch64__)
#define FVX_DWCONV3D_VEC_REGS 32
#else
#define FVX_DWCONV3D_VEC_REGS 16
#endif
#include "dwconv3d_impl.h"
