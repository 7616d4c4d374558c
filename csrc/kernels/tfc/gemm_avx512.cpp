// The GEMM microkernel for this ISA (see gemm_impl.h): 64-byte vectors,
// 8 rows (32 zmm registers: 16 accumulators).
#define FVX_GEMM_SUFFIX avx512
#define FVX_GEMM_VEC_BYTES 64
#define FVX_GEMM_MR 8
#include "gemm_impl.h"
