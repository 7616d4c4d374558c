// The inverted-residual microkernels for this ISA (see pointwise_impl.h):
// 16-byte vectors, tiles of 8 rows x 8 columns on AArch64 (16 of its 32
// AdvSIMD registers accumulate; 24 in gemm_t's 12-row tiles), 4 rows on 32-bit ARM (16 registers).
#define FVX_POINTWISE_SUFFIX neon
#define FVX_POINTWISE_VEC_BYTES 16
#if defined(__aarch64__)
#define FVX_POINTWISE_MR 8
#define FVX_POINTWISE_MR_T 12
#else
#define FVX_POINTWISE_MR 4
#endif
#include "pointwise_impl.h"
