// The plane kernels compiled for this ISA (see dwconv3d_impl.h), with
// 16-byte vectors (the ISA's register width).
#define FVX_DWCONV3D_SUFFIX scalar
#define FVX_DWCONV3D_VEC_BYTES 16
#define FVX_DWCONV3D_VEC_REGS 16
#include "dwconv3d_impl.h"
