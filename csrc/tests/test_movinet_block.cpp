// The MoViNet block step's poolings against their definitions, written out:
// the shortcut's TF-"same" 3x3 average (the padding placed by the formula,
// each window's in-input pixels counted one by one) and the SE's running
// mean, every size from 1 to 24 and strides 1 to 3.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/movinet_block.h"

namespace {

void naive_pool(const std::vector<double>& x, std::vector<double>& y, int64_t planes, int64_t h, int64_t w,
                int64_t stride, int64_t oh, int64_t ow) {
  const int64_t pad_h = std::max<int64_t>((oh - 1) * stride + 3 - h, 0), pad_w = std::max<int64_t>((ow - 1) * stride + 3 - w, 0);
  const int64_t top = pad_h / 2, left = pad_w / 2;  // TF: the odd pixel at the bottom / right
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t c = 0; c < ow; ++c) {
        double sum = 0;
        int count = 0;
        for (int64_t i = r * stride - top; i < r * stride - top + 3; ++i)
          for (int64_t j = c * stride - left; j < c * stride - left + 3; ++j)
            if (i >= 0 && i < h && j >= 0 && j < w) sum += x[(p * h + i) * w + j], ++count;
        y[(p * oh + r) * ow + c] = sum / count;
      }
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (int64_t stride = 1; stride <= 3; ++stride) {
    for (int64_t h = 1; h <= 24; ++h) {
      for (int64_t w : {h, h + 1, int64_t{5}}) {
        const int64_t planes = 3, oh = (h + stride - 1) / stride, ow = (w + stride - 1) / stride;
        std::vector<double> x(planes * h * w), want(planes * oh * ow), got(want.size(), NAN);
        for (double& v : x) v = dist(rng);
        naive_pool(x, want, planes, h, w, stride, oh, ow);
        fastvfx::same_avg_pool3x3(x.data(), got.data(), planes, h, w, stride);
        std::vector<float> xf(x.begin(), x.end()), gotf(want.size(), NAN);
        fastvfx::same_avg_pool3x3(xf.data(), gotf.data(), planes, h, w, stride);
        for (size_t i = 0; i < want.size(); ++i) {
          CHECK(std::fabs(got[i] - want[i]) <= 1e-12, "pool f64 s%lld %lldx%lld [%zu]: %g vs %g", (long long)stride,
                (long long)h, (long long)w, i, got[i], want[i]);
          CHECK(std::fabs(gotf[i] - want[i]) <= 1e-6, "pool f32 s%lld %lldx%lld [%zu]: %g vs %g", (long long)stride,
                (long long)h, (long long)w, i, (double)gotf[i], want[i]);
        }
      }
    }
  }
  // SE pooling: two frames into a running sum, both_pools on and off.
  for (int both = 0; both <= 1; ++both) {
    for (int64_t pixels : {1, 7, 121, 1849}) {
      const int64_t n = 2, e = 5, width = both ? 2 * e : e;
      std::vector<double> total(n * e, 0.0), want_total(n * e, 0.0);
      for (int64_t frame = 1; frame <= 2; ++frame) {
        std::vector<double> f(n * e * pixels), pooled(n * width, NAN);
        for (double& v : f) v = dist(rng);
        fastvfx::movinet_se_pool(f.data(), n, e, pixels, frame, both != 0, total.data(), pooled.data());
        for (int64_t i = 0; i < n; ++i)
          for (int64_t c = 0; c < e; ++c) {
            double sum = 0;
            for (int64_t p = 0; p < pixels; ++p) sum += f[(i * e + c) * pixels + p];
            const double mean = sum / pixels;
            want_total[i * e + c] += mean;
            CHECK(std::fabs(total[i * e + c] - want_total[i * e + c]) <= 1e-12, "se total");
            CHECK(std::fabs(pooled[i * width + c] - want_total[i * e + c] / frame) <= 1e-12, "se running mean");
            if (both) CHECK(std::fabs(pooled[i * width + e + c] - mean) <= 1e-12, "se frame mean");
          }
      }
    }
  }
  return TEST_MAIN_RESULT("movinet_block");
}
