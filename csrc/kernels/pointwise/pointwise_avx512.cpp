// The inverted-residual microkernels for this ISA (see pointwise_impl.h):
// 64-byte vectors, tiles of 8 rows x 32 columns (16 of the 32 zmm registers
// accumulate); channels-first tiles of pixel rows (gemm_t) 14 rows (28).
#define FVX_POINTWISE_SUFFIX avx512
#define FVX_POINTWISE_VEC_BYTES 64
#define FVX_POINTWISE_MR 8
#define FVX_POINTWISE_MR_T 14
#define FVX_POINTWISE_MR_DIRECT 14
#define FVX_POINTWISE_MR_S 6
#define FVX_POINTWISE_NV_S 4
#include "pointwise_impl.h"
