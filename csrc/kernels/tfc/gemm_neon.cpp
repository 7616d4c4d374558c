// The GEMM microkernel for this ISA (see gemm_impl.h): 16-byte vectors,
// 8 rows (32 AdvSIMD registers: 16 accumulators).
#define FVX_GEMM_SUFFIX neon
#define FVX_GEMM_VEC_BYTES 16
#define FVX_GEMM_MR 8
#include "gemm_impl.h"
