// Internal interface between the inverted-residual driver
// (inverted_residual.cpp: bands, ring of expanded rows, threads) and the
// per-ISA microkernels (pointwise_impl.h compiled once per ISA).
//
// gemm: an mr x nr tile of a 1x1 conv on channels-last rows,
//   c[i][j] = act(bias[j] + sum_s sum_{k in [k_begin[s], k_end[s])} a[s][i][k] * b[k * 32 + j])
//             (+ residual[i][j])
// for i < m, j < n (m <= mr, n <= nr). Every row has its own pointer (a row
// of a segment s is a pixel of some frame, indexed by channel k: the
// temporal shift reads channel ranges from other frames); rows i >= m repeat
// the last row (computed, not stored). b points into a packed panel
// (kPointwisePanel columns per k); bias holds nr values.
//
// depthwise_row: one output row of a k x k depthwise conv on padded
// channels-last rows, out[x][c] = act(bias[c] + sum_{i,j} w[i * k + j][c] *
// rows[i][(x * stride + j) * channels + c]), channels a multiple of the panel.
#pragma once

#include <cstdint>

#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/isa.h"

namespace fastvfx::inverted_residual {

constexpr int kMaxSegments = 3;
constexpr int kMaxMr = 16;

struct GemmTile {
  int segments = 1;
  const float* const* a = nullptr;  // segments * mr row pointers
  int64_t k_begin[kMaxSegments] = {};
  int64_t k_end[kMaxSegments] = {};
  const float* b = nullptr;
  const float* bias = nullptr;
  float* const* c = nullptr;                // mr row pointers (first m used)
  const float* const* residual = nullptr;   // mr row pointers or null
  int64_t m = 0, n = 0;
};

struct PointwiseKernel {
  int64_t mr;
  int64_t nr;
  void (*gemm)(const GemmTile& tile, Activation act);
  void (*depthwise_row)(const float* const* rows, int64_t k, int64_t stride, const float* w, const float* bias,
                        int64_t channels, int64_t out_w, float* out, Activation act);
};

#define FVX_POINTWISE_VARIANT(isa_enum, suffix) extern const PointwiseKernel pointwise__##suffix;
#include "pointwise_variants.inc"
#undef FVX_POINTWISE_VARIANT

const PointwiseKernel& pointwise_kernel_for(Isa isa);

}  // namespace fastvfx::inverted_residual
