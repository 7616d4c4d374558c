// The GEMM microkernel for this ISA (see gemm_impl.h): 16-byte vectors,
// 4 rows (the target's baseline vectors: SSE2 has 16 registers).
#define FVX_GEMM_SUFFIX scalar
#define FVX_GEMM_VEC_BYTES 16
#define FVX_GEMM_MR 4
#include "gemm_impl.h"
