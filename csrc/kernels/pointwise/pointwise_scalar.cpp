// The inverted-residual microkernels of the portable build (see
// pointwise_impl.h): 16-byte vectors (the target's baseline: SSE2 on x86-64,
// 16 registers), tiles of 4 rows x 8 columns.
#define FVX_POINTWISE_SUFFIX scalar
#define FVX_POINTWISE_VEC_BYTES 16
#define FVX_POINTWISE_MR 4
#include "pointwise_impl.h"
