// The plane kernels compiled for this ISA (see dwconv3d_impl.h).
#define FVX_DWCONV3D_SUFFIX avx2
#include "dwconv3d_impl.h"
