// Each compiled ISA variant of the depthwise 2-D convolution, in both
// layouts, and of the channel-lane causal depthwise Conv3D, against a naive
// per-output formulation.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/depthwise_conv2d.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "naive_causal_dwconv3d.h"

using namespace fastvfx;
using fvx_naive::Problem;

namespace {

// (N, C, T, H, W) -> (N, T, H, W, C), the channel-lane kernels' layout.
template <class T>
std::vector<T> to_channels_last(const std::vector<T>& v, int64_t n, int64_t c, int64_t t, int64_t h, int64_t w) {
  std::vector<T> out(v.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < t * h * w; ++i) out[(b * t * h * w + i) * c + k] = v[(b * c + k) * t * h * w + i];
  return out;
}

template <class T>
void check(const Problem& p, Activation act, double tol) {
  const auto& s = p.s;
  const auto ref = fvx_naive::reference(p, act);  // (N, C, T, OH, OW)
  const auto want = to_channels_last(ref, s.batch, s.channels, p.t, s.out_h, s.out_w);
  const auto x = to_channels_last(fvx_naive::cast<T>(p.x), s.batch, s.channels, p.t, s.in_h, s.in_w);
  const auto w = fvx_naive::cast<T>(p.w), b = fvx_naive::cast<T>(p.b);
  const T* bias = b.empty() ? nullptr : b.data();
  std::vector<T> y(want.size());
  causal_dwconv3d_channels_last_forward(x.data(), p.t, w.data(), bias, y.data(), s, act);
  CHECK(fvx_naive::close(y, want, tol), "%s channels-last c=%ld t=%ld k=(%ld,%ld) s=%ld pad=%ld hw=%ldx%ld act=%d",
        isa_name(active_isa()), (long)s.channels, (long)p.t, (long)s.kt, (long)s.kh, (long)s.stride_h,
        (long)s.pad_top, (long)s.in_h, (long)s.in_w, (int)act);
  if (s.kt != 1 || p.t != 1) return;
  // The 2-D entry points, both layouts (one frame: (N, C, 1, H, W) is NCHW).
  std::fill(y.begin(), y.end(), T(-1));
  depthwise_conv2d_channels_last_forward(x.data(), w.data(), bias, y.data(), s, act);
  CHECK(fvx_naive::close(y, want, tol), "%s depthwise_conv2d channels-last", isa_name(active_isa()));
  const auto x_nchw = fvx_naive::cast<T>(p.x);
  std::vector<T> y_nchw(want.size());
  depthwise_conv2d_forward(x_nchw.data(), w.data(), bias, y_nchw.data(), s, act);
  CHECK(fvx_naive::close(y_nchw, ref, tol), "%s depthwise_conv2d NCHW c=%ld k=%ld s=%ld",
        isa_name(active_isa()), (long)s.channels, (long)s.kh, (long)s.stride_h);
}

}  // namespace

int main() {
  set_default_num_threads(3);
  std::mt19937 rng(11);
  const Activation acts[] = {Activation::kNone, Activation::kReLU, Activation::kReLU6,
                             Activation::kHardswish, Activation::kSwish};
  // Channels: below, at and past whole vectors of every ISA (4, 8, 16 lanes
  // of float); sizes: shorter and longer than the column block, odd and even.
  const int64_t channels[] = {1, 3, 8, 16, 21, 35};
  // (N, C, H, W) data: outputs up to 8 wide take the channel-lane engine,
  // wider the plane one.
  const int64_t sizes[][2] = {{1, 1}, {2, 3}, {7, 7}, {6, 9}, {14, 13}, {3, 21}};
  const int64_t kernels[][2] = {{1, 3}, {1, 5}, {1, 1}, {3, 3}, {5, 3}};  // (kT, k)
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    set_active_isa(isa);
    std::printf("testing %s\n", isa_name(isa));
    int count = 0;
    for (const auto& k : kernels)
      for (const auto& hw : sizes)
        for (int64_t c : channels)
          for (int64_t stride : {1, 2})
            for (int64_t pad : {int64_t{-1}, int64_t{0}, k[1] / 2}) {
              if (hw[0] + 2 * std::max<int64_t>(pad, 0) < k[1] || hw[1] + 2 * std::max<int64_t>(pad, 0) < k[1])
                continue;
              const Activation act = acts[count % 5];
              const int64_t n = 1 + count % 2;
              const int64_t t = k[0] == 1 && count % 3 != 0 ? 1 : 4;
              const Problem p = fvx_naive::make(rng, n, c, t, hw[0], hw[1], k[0], k[1], k[1], stride, pad, count % 3 != 0);
              check<float>(p, act, 1e-5);
              check<double>(p, act, 1e-12);
              ++count;
            }
    std::printf("  %d shapes\n", count);
  }
  return TEST_MAIN_RESULT("depthwise_conv2d");
}
