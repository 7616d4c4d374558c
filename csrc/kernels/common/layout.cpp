#include "fastvfx/layout.h"

#include <algorithm>
#include <vector>

#include "../causal_dwconv3d/dwconv3d_kernels.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"

namespace fastvfx {

void nchw_to_nhwc_f32(const float* src, float* dst, int64_t n, int64_t c, int64_t hw) {
  if (n <= 0 || c <= 0 || hw <= 0) return;
  const auto transpose = dwconv3d::kernels_for(active_isa()).transpose_f32;
  // Chunks of pixels (columns of the (C, HW) source) of about 64 KiB each.
  constexpr int64_t kChunkFloats = 64 * 1024 / sizeof(float);
  const int64_t cols = std::clamp<int64_t>(kChunkFloats / c / 16 * 16, 16, hw);
  const int64_t chunks = (hw + cols - 1) / cols;
  parallel_for(0, n * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t img = item / chunks, j0 = (item % chunks) * cols, len = std::min(cols, hw - j0);
      transpose(src + img * c * hw + j0, hw, dst + (img * hw + j0) * c, c, c, len);
    }
  });
}

void nhwc_row_sum_f32(const float* src, float* dst, int64_t n, int64_t hw, int64_t c, float scale) {
  for (int64_t img = 0; img < n; ++img) {
    float* out = dst + img * c;
    std::fill(out, out + c, 0.f);
    const float* row = src + img * hw * c;
    for (int64_t p = 0; p < hw; ++p, row += c) {
      for (int64_t j = 0; j < c; ++j) out[j] += row[j];
    }
    for (int64_t j = 0; j < c; ++j) out[j] *= scale;
  }
}

void nchw_space_to_depth2_nhwc_f32(const float* src, float* dst, int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t h2 = h / 2, w2 = w / 2;
  if (n <= 0 || c <= 0 || h2 <= 0 || w2 <= 0 || w % 2 != 0) return;
  // A pixel pair (q = 0, 1) of a row is one 64-bit element, and lands as
  // one: input row 2a + p of every channel, (C, W/2) pairs, transposed into
  // output row a at channel 2pC (the pairs 2C floats apart).
  const auto transpose = dwconv3d::kernels_for(active_isa()).transpose_f64;
  parallel_for(0, n * h2, std::max<int64_t>(1, 16384 / (4 * c * w2)), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t img = item / h2, a = item % h2;
      for (int64_t p = 0; p < 2; ++p) {
        const float* in = src + (img * c * h + 2 * a + p) * w;
        float* out = dst + item * w2 * 4 * c + 2 * p * c;
        transpose(reinterpret_cast<const double*>(in), h * w / 2, reinterpret_cast<double*>(out), 2 * c, c, w2);
      }
    }
  });
}

}  // namespace fastvfx
