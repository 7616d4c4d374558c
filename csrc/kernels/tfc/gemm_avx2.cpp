// The GEMM microkernel for this ISA (see gemm_impl.h): 32-byte vectors,
// 6 rows (16 ymm registers: 12 accumulators).
#define FVX_GEMM_SUFFIX avx2
#define FVX_GEMM_VEC_BYTES 32
#define FVX_GEMM_MR 6
#include "gemm_impl.h"
