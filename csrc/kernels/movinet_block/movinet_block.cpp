// The poolings of MoViNet's fused block step (see movinet_block.h). The
// shortcut's, per output row: the sums of its (up to) three input rows over
// every column, then each output's three column sums times the inverse of its
// window's pixel count.
#include <algorithm>
#include <vector>

#include "fastvfx/causal_dwconv3d.h"  // same_padding
#include "fastvfx/movinet_block.h"
#include "fastvfx/parallel.h"

namespace fastvfx {
namespace {

template <class T>
void pool(const T* x, T* y, int64_t planes, int64_t h, int64_t w, int64_t stride) {
  int64_t oh = 0, ow = 0, pad_top = 0, pad_left = 0;
  same_padding(h, 3, stride, &oh, &pad_top);
  same_padding(w, 3, stride, &ow, &pad_left);
  if (planes <= 0 || oh <= 0 || ow <= 0) return;
  // "Same" pads at most one pixel a side for a 3-wide window: the column sums
  // sit between a zero on each side, so every window reads three of them;
  // its divisor is the product of its rows' and columns' counts in the input.
  std::vector<T> col_scale(static_cast<size_t>(ow));
  for (int64_t c = 0; c < ow; ++c) {
    const int64_t j0 = std::max<int64_t>(0, c * stride - pad_left), j1 = std::min(w, c * stride - pad_left + 3);
    col_scale[c] = T(1) / static_cast<T>(j1 - j0);
  }
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, h * w));
  parallel_for(0, planes, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> padded(static_cast<size_t>(w + 2), T(0));
    T* const sums = padded.data() + 1;
    for (int64_t p = begin; p < end; ++p) {
      const T* xp = x + p * h * w;
      T* yp = y + p * oh * ow;
      for (int64_t r = 0; r < oh; ++r) {
        const int64_t i0 = std::max<int64_t>(0, r * stride - pad_top), i1 = std::min(h, r * stride - pad_top + 3);
        const T* a = xp + i0 * w;
        std::copy(a, a + w, sums);
        for (int64_t i = i0 + 1; i < i1; ++i) {
          const T* b = xp + i * w;
          for (int64_t c = 0; c < w; ++c) sums[c] += b[c];
        }
        const T row_scale = T(1) / static_cast<T>(i1 - i0);
        const T* s0 = sums - pad_left;
        T* yr = yp + r * ow;
        for (int64_t c = 0; c < ow; ++c) {
          const T* q = s0 + c * stride;
          yr[c] = (q[0] + q[1] + q[2]) * row_scale * col_scale[c];
        }
      }
    }
  });
}

template <class T>
void se_pool(const T* features, int64_t n, int64_t e, int64_t pixels, int64_t count, bool both_pools, T* total,
             T* pooled) {
  // Sums in double: a float run over 86² pixels would drift.
  const double inv_pixels = 1.0 / static_cast<double>(std::max<int64_t>(pixels, 1));
  const T inv_count = T(1) / static_cast<T>(count);
  const int64_t width = both_pools ? 2 * e : e;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < e; ++c) {
      const T* f = features + (i * e + c) * pixels;
      // Eight independent chains (one chain waits out each add's latency).
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t p = 0;
      for (; p + 8 <= pixels; p += 8) {
        for (int k = 0; k < 8; ++k) acc[k] += f[p + k];
      }
      for (; p < pixels; ++p) acc[p % 8] += f[p];
      const double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      const T mean = static_cast<T>(sum * inv_pixels);
      T& t = total[i * e + c];
      t += mean;
      pooled[i * width + c] = t * inv_count;
      if (both_pools) pooled[i * width + e + c] = mean;
    }
  }
}

}  // namespace

void movinet_se_pool(const float* features, int64_t n, int64_t e, int64_t pixels, int64_t count, bool both_pools,
                     float* total, float* pooled) {
  se_pool(features, n, e, pixels, count, both_pools, total, pooled);
}

void movinet_se_pool(const double* features, int64_t n, int64_t e, int64_t pixels, int64_t count, bool both_pools,
                     double* total, double* pooled) {
  se_pool(features, n, e, pixels, count, both_pools, total, pooled);
}

void same_avg_pool3x3(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t stride) {
  pool(x, y, planes, h, w, stride);
}

void same_avg_pool3x3(const double* x, double* y, int64_t planes, int64_t h, int64_t w, int64_t stride) {
  pool(x, y, planes, h, w, stride);
}

}  // namespace fastvfx
