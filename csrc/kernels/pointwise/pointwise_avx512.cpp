// The inverted-residual microkernels for this ISA (see pointwise_impl.h):
// 64-byte vectors, tiles of 8 rows x 32 columns (16 of the 32 zmm registers
// accumulate).
#define FVX_POINTWISE_SUFFIX avx512
#define FVX_POINTWISE_VEC_BYTES 64
#define FVX_POINTWISE_MR 8
#include "pointwise_impl.h"
