// Internal interface between the scaled-conv driver (scaled_conv.cpp: tiling,
// packing, threading) and the per-ISA GEMM microkernels (gemm_impl.h compiled
// once per ISA).
//
// A microkernel computes an mr x nr block of C from packed panels:
//   C[i, j] (+)= sum_k a[k * mr + i] * b[k * nr + j],   0 <= k < kc,
// writing only the m x n corner (m <= mr, n <= nr) into C with row stride
// ldc; accumulate = false overwrites C, true adds to it.
//
// dot_rows computes out[s * ldo + r] = sum_j w[r * k + j] * v[s * k + j] for
// r < rows, s < n: a GEMM with few columns (the gate's, one per sample) on
// unpacked row-major operands.
#pragma once

#include <cstdint>

#include "fastvfx/isa.h"

namespace fastvfx::tfc {

struct GemmKernel {
  int64_t mr;
  int64_t nr;
  void (*run)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t m, int64_t n,
              bool accumulate);
  void (*dot_rows)(int64_t k, const float* w, int64_t rows, const float* v, int64_t n, float* out, int64_t ldo);
};

#define FVX_GEMM_VARIANT(isa_enum, suffix) extern const GemmKernel gemm__##suffix;
#include "gemm_variants.inc"
#undef FVX_GEMM_VARIANT

// The variant for an ISA; scalar for one not compiled in.
const GemmKernel& gemm_kernel_for(Isa isa);

}  // namespace fastvfx::tfc
