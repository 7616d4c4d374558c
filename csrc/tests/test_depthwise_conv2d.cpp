// Each compiled ISA variant of the depthwise 2-D convolution, in both
// layouts, and of the channel-lane causal depthwise Conv3D, against a naive
// per-output formulation.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/depthwise_conv2d.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"

using namespace fastvfx;

namespace {

double act_ref(double v, Activation a) {
  switch (a) {
    case Activation::kReLU: return v > 0 ? v : 0;
    case Activation::kReLU6: return std::min(std::max(v, 0.0), 6.0);
    case Activation::kHardswish: return v * std::min(std::max(v + 3, 0.0), 6.0) / 6;
    case Activation::kSwish: return v / (1 + std::exp(-v));
    default: return v;
  }
}

// A causal depthwise conv on channels-last data, x (N, T, H, W, C), output
// (N, T, OH, OW, C); kT = 1 and T = 1 is the 2-D conv.
struct Problem {
  DwConv3dShape s;
  int64_t t = 1;
  std::vector<double> x, w, b;  // w: (C, kT, kH, kW)
};

std::vector<double> reference(const Problem& p, Activation act) {
  const auto& s = p.s;
  std::vector<double> y(s.batch * p.t * s.out_h * s.out_w * s.channels);
  size_t o = 0;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t t = 0; t < p.t; ++t)
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow)
          for (int64_t c = 0; c < s.channels; ++c) {
            double v = p.b.empty() ? 0 : p.b[c];
            for (int64_t a = 0; a < s.kt; ++a)
              for (int64_t i = 0; i < s.kh; ++i)
                for (int64_t j = 0; j < s.kw; ++j) {
                  const int64_t tt = t - (s.kt - 1) + a, ih = oh * s.stride_h + i - s.pad_top,
                                iw = ow * s.stride_w + j - s.pad_left;
                  if (tt < 0 || ih < 0 || iw < 0 || ih >= s.in_h || iw >= s.in_w) continue;
                  v += p.w[((c * s.kt + a) * s.kh + i) * s.kw + j] *
                       p.x[(((n * p.t + tt) * s.in_h + ih) * s.in_w + iw) * s.channels + c];
                }
            y[o++] = act_ref(v, act);
          }
  return y;
}

template <class T>
bool close(const std::vector<T>& got, const std::vector<double>& want, double tol) {
  if (got.size() != want.size()) return false;
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::abs(double(got[i]) - want[i]) <= tol * scale)) return false;
  }
  return true;
}

// (N, H, W, C) <-> (N, C, H, W) for one frame per sample.
template <class T>
std::vector<T> to_nchw(const std::vector<T>& v, int64_t n, int64_t h, int64_t w, int64_t c) {
  std::vector<T> out(v.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < h * w; ++i)
      for (int64_t k = 0; k < c; ++k) out[(b * c + k) * h * w + i] = v[(b * h * w + i) * c + k];
  return out;
}

Problem make(std::mt19937& rng, int64_t n, int64_t c, int64_t t, int64_t h, int64_t w, int64_t kt,
             int64_t k, int64_t stride, int64_t pad /* -1: same */, bool bias) {
  Problem p;
  auto& s = p.s;
  s.batch = n, s.channels = c, s.in_h = h, s.in_w = w, s.kt = kt, s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride;
  if (pad < 0) {
    same_padding(h, k, stride, &s.out_h, &s.pad_top);
    same_padding(w, k, stride, &s.out_w, &s.pad_left);
  } else {
    s.pad_top = s.pad_left = pad;
    s.out_h = symmetric_output(h, k, stride, pad);
    s.out_w = symmetric_output(w, k, stride, pad);
  }
  p.t = t;
  std::normal_distribution<double> nd;
  p.x.resize(n * t * h * w * c);
  for (auto& v : p.x) v = nd(rng);
  p.w.resize(c * kt * k * k);
  for (auto& v : p.w) v = nd(rng);
  if (bias) {
    p.b.resize(c);
    for (auto& v : p.b) v = nd(rng);
  }
  return p;
}

template <class T>
void check(const Problem& p, Activation act, double tol) {
  const auto& s = p.s;
  const auto want = reference(p, act);
  const std::vector<T> x(p.x.begin(), p.x.end()), w(p.w.begin(), p.w.end()), b(p.b.begin(), p.b.end());
  const T* bias = b.empty() ? nullptr : b.data();
  std::vector<T> y(want.size());
  causal_dwconv3d_channels_last_forward(x.data(), p.t, w.data(), bias, y.data(), s, act);
  CHECK(close(y, want, tol), "%s channels-last c=%ld t=%ld k=(%ld,%ld) s=%ld pad=%ld hw=%ldx%ld act=%d",
        isa_name(active_isa()), (long)s.channels, (long)p.t, (long)s.kt, (long)s.kh, (long)s.stride_h,
        (long)s.pad_top, (long)s.in_h, (long)s.in_w, (int)act);
  if (s.kt != 1 || p.t != 1) return;
  // The 2-D entry points, both layouts.
  std::fill(y.begin(), y.end(), T(-1));
  depthwise_conv2d_channels_last_forward(x.data(), w.data(), bias, y.data(), s, act);
  CHECK(close(y, want, tol), "%s depthwise_conv2d channels-last", isa_name(active_isa()));
  const auto x_nchw = to_nchw(x, s.batch, s.in_h, s.in_w, s.channels);
  std::vector<T> y_nchw(want.size());
  depthwise_conv2d_forward(x_nchw.data(), w.data(), bias, y_nchw.data(), s, act);
  CHECK(close(y_nchw, to_nchw(want, s.batch, s.out_h, s.out_w, s.channels), tol),
        "%s depthwise_conv2d NCHW c=%ld k=%ld s=%ld", isa_name(active_isa()), (long)s.channels,
        (long)s.kh, (long)s.stride_h);
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
              const Problem p = make(rng, n, c, t, hw[0], hw[1], k[0], k[1], stride, pad, count % 3 != 0);
              check<float>(p, act, 1e-5);
              check<double>(p, act, 1e-12);
              ++count;
            }
    std::printf("  %d shapes\n", count);
  }
  return TEST_MAIN_RESULT("depthwise_conv2d");
}
