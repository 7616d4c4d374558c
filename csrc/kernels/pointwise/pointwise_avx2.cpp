// The inverted-residual microkernels for this ISA (see pointwise_impl.h):
// 32-byte vectors, tiles of 6 rows x 16 columns (12 of the 16 ymm registers
// accumulate).
#define FVX_POINTWISE_SUFFIX avx2
#define FVX_POINTWISE_VEC_BYTES 32
#define FVX_POINTWISE_MR 6
#include "pointwise_impl.h"
