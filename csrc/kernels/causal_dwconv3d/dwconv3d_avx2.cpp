// The plane kernels compiled for this ISA (see dwconv3d_impl.h), with
// 32-byte vectors (the ISA's register width).
#define FVX_DWCONV3D_SUFFIX avx2
#define FVX_DWCONV3D_VEC_BYTES 32
#define FVX_DWCONV3D_VEC_REGS 16
#include "dwconv3d_impl.h"
