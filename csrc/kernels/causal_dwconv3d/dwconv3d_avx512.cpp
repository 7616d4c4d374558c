// The plane kernels compiled for this ISA (see dwconv3d_impl.h).
#define FVX_DWCONV3D_SUFFIX avx512
#include "dwconv3d_impl.h"
