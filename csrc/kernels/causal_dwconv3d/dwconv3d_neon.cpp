// The plane kernels compiled for this ISA (see dwconv3d_impl.h): on AArch64
// the 64-byte vector types become four 128-bit AdvSIMD registers.
#define FVX_DWCONV3D_SUFFIX neon
#include "dwconv3d_impl.h"
