// The plane kernels compiled for this ISA (see dwconv3d_impl.h), with
// 64-byte vectors (the ISA's register width).
#define FVX_DWCONV3D_SUFFIX avx512
#define FVX_DWCONV3D_VEC_BYTES 64
#define FVX_DWCONV3D_VEC_REGS 32
#include "dwconv3d_impl.h"
