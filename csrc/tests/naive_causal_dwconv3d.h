// Naive per-output formulation of the causal depthwise Conv3D and its
// gradients, shared by the tests of the CPU kernels and of the CUDA kernels
// (run by the host grid emulator).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "fastvfx/causal_dwconv3d.h"

namespace fvx_naive {

using namespace fastvfx;

inline double act_ref(double v, Activation a) {
  switch (a) {
    case Activation::kReLU: return v > 0 ? v : 0;
    case Activation::kReLU6: return std::min(std::max(v, 0.0), 6.0);
    case Activation::kHardswish: return v * std::min(std::max(v + 3, 0.0), 6.0) / 6;
    case Activation::kSwish: return v / (1 + std::exp(-v));
    default: return v;
  }
}

struct Problem {
  DwConv3dShape s;
  int64_t t;
  std::vector<double> x, w, b;
};

// x value at (n, c, t, ih, iw) with causal / spatial zero padding.
inline double at(const Problem& p, int64_t n, int64_t c, int64_t t, int64_t ih, int64_t iw) {
  const auto& s = p.s;
  if (t < 0 || ih < 0 || iw < 0 || ih >= s.in_h || iw >= s.in_w) return 0;
  return p.x[(((n * s.channels + c) * p.t + t) * s.in_h + ih) * s.in_w + iw];
}

inline std::vector<double> reference(const Problem& p, Activation act) {
  const auto& s = p.s;
  std::vector<double> y(s.batch * s.channels * p.t * s.out_h * s.out_w);
  size_t o = 0;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t t = 0; t < p.t; ++t)
        for (int64_t oh = 0; oh < s.out_h; ++oh)
          for (int64_t ow = 0; ow < s.out_w; ++ow) {
            double v = p.b.empty() ? 0 : p.b[c];
            for (int64_t a = 0; a < s.kt; ++a)
              for (int64_t i = 0; i < s.kh; ++i)
                for (int64_t j = 0; j < s.kw; ++j)
                  v += p.w[((c * s.kt + a) * s.kh + i) * s.kw + j] *
                       at(p, n, c, t - (s.kt - 1) + a, oh * s.stride_h + i - s.pad_top,
                          ow * s.stride_w + j - s.pad_left);
            y[o++] = act_ref(v, act);
          }
  return y;
}

// |got - want| <= tol * max(1, max |want|): relative to the output's scale,
// since a 7x7x7 kernel sums 343 terms and single results may cancel.
template <class T>
inline bool close(const std::vector<T>& got, const std::vector<double>& want, double tol) {
  if (got.size() != want.size()) return false;
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::abs(double(got[i]) - want[i]) <= tol * scale)) return false;  // NaN fails
  }
  return true;
}

template <class T>
inline std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

inline Problem make(std::mt19937& rng, int64_t n, int64_t c, int64_t t, int64_t h, int64_t w, int64_t kt,
             int64_t kh, int64_t kw, int64_t stride, int64_t pad /* -1: same */, bool bias) {
  Problem p;
  auto& s = p.s;
  s.batch = n, s.channels = c, s.in_h = h, s.in_w = w, s.kt = kt, s.kh = kh, s.kw = kw;
  s.stride_h = s.stride_w = stride;
  if (pad < 0) {
    same_padding(h, kh, stride, &s.out_h, &s.pad_top);
    same_padding(w, kw, stride, &s.out_w, &s.pad_left);
  } else {
    s.pad_top = s.pad_left = pad;
    s.out_h = symmetric_output(h, kh, stride, pad);
    s.out_w = symmetric_output(w, kw, stride, pad);
  }
  p.t = t;
  std::normal_distribution<double> nd;
  p.x.resize(n * c * t * h * w);
  for (auto& v : p.x) v = nd(rng);
  p.w.resize(c * kt * kh * kw);
  for (auto& v : p.w) v = nd(rng);
  if (bias) {
    p.b.resize(c);
    for (auto& v : p.b) v = nd(rng);
  }
  return p;
}

// Gradients by definition (y is linear in x, w and b) for an output gradient dy.
struct Gradients {
  std::vector<double> dx, dw, db;
};
inline Gradients reference_backward(const Problem& p, const std::vector<double>& dy) {
  const auto& s = p.s;
  const int64_t taps = s.kt * s.kh * s.kw;
  std::vector<double> dx(p.x.size(), 0), dw(p.w.size(), 0), db(s.channels, 0);
  size_t o = 0;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t t = 0; t < p.t; ++t)
        for (int64_t oh = 0; oh < s.out_h; ++oh)
          for (int64_t ow = 0; ow < s.out_w; ++ow, ++o) {
            db[c] += dy[o];
            for (int64_t a = 0; a < s.kt; ++a)
              for (int64_t i = 0; i < s.kh; ++i)
                for (int64_t j = 0; j < s.kw; ++j) {
                  const int64_t tt = t - (s.kt - 1) + a, ih = oh * s.stride_h + i - s.pad_top,
                                iw = ow * s.stride_w + j - s.pad_left;
                  const int64_t k = c * taps + (a * s.kh + i) * s.kw + j;
                  dw[k] += dy[o] * at(p, n, c, tt, ih, iw);
                  if (tt >= 0 && ih >= 0 && iw >= 0 && ih < s.in_h && iw < s.in_w)
                    dx[(((n * s.channels + c) * p.t + tt) * s.in_h + ih) * s.in_w + iw] += dy[o] * p.w[k];
                }
          }
  return {dx, dw, db};
}

}  // namespace fvx_naive
