// The 1x1 conv drivers of the core, channels-first and channels-last, and the
// k x k conv on channels-last frames, under
// every ISA and 1 / 3 threads (channels-first also with the pixels as the
// GEMM's rows), against naive loops in double: output channels
// and pixels around the tile sizes (right edges read no input past its end),
// input channels from up to three sources (one of them zeros), with and
// without bias, every activation, a separate residual and an accumulating one
// (the residual is the output itself), added after the activation or before
// it, or multiplying the activated output; sigmoid among the activations.
// The 3x3 stride-1 channels-last cases also run by Winograd F(2x2, 3x3).
#include <cmath>
#include <cstdint>
#include <random>
#include <algorithm>
#include <vector>

#include "check.h"
#include "naive_pointwise.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "fastvfx/pointwise_conv.h"

using namespace fastvfx;
using fvx_test::close_to;
using fvx_test::random_values;

namespace {

enum class Residual { kNone, kSeparate, kAccumulate, kFirst, kMultiply };

ResidualOp residual_op(Residual r) {
  return r == Residual::kFirst ? ResidualOp::kAddFirst : r == Residual::kMultiply ? ResidualOp::kMultiply
                                                                                  : ResidualOp::kAddAfter;
}

struct Case {
  int64_t cout, cin, pixels;
  bool bias, three_sources;
  Residual residual;
  Activation act;
};

void run_case(const Case& c, std::mt19937& rng) {
  const int64_t wstride = c.cin + 3;
  const auto w = random_values(static_cast<size_t>(c.cout * wstride), rng);
  const auto bias = random_values(static_cast<size_t>(c.cout), rng);
  // Sources: channels [0, k1) from x0, [k1, k2) zeros, [k2, cin) from x1
  // (with three_sources), else all from x0. Inputs exactly as large as read.
  const int64_t k1 = c.three_sources ? c.cin / 3 : c.cin, k2 = c.three_sources ? 2 * c.cin / 3 : c.cin;
  const auto x0 = random_values(static_cast<size_t>(c.cin * c.pixels), rng);
  const auto x1 = random_values(static_cast<size_t>(c.cin * c.pixels), rng);
  const auto res0 = random_values(static_cast<size_t>(c.cout * c.pixels), rng);
  // Input in (channel, pixel) order for the reference.
  auto in = [&](const std::vector<float>& x, int64_t k, int64_t q, bool nchw) {
    return static_cast<double>(x[static_cast<size_t>(nchw ? k * c.pixels + q : q * c.cin + k)]);
  };
  for (bool nchw : {true, false}) {
    std::vector<double> want(static_cast<size_t>(c.cout * c.pixels)), mag(want.size());
    for (int64_t o = 0; o < c.cout; ++o) {
      for (int64_t q = 0; q < c.pixels; ++q) {
        double sum = c.bias ? bias[static_cast<size_t>(o)] : 0.0, m = std::fabs(sum);
        for (int64_t k = 0; k < c.cin; ++k) {
          const double v = k < k1 ? in(x0, k, q, nchw) : k < k2 ? 0.0 : in(x1, k, q, nchw);
          const double term = v * w[static_cast<size_t>(o * wstride + k)];
          sum += term;
          m += std::fabs(term);
        }
        // Residual in the output's layout.
        const size_t at = static_cast<size_t>(nchw ? o * c.pixels + q : q * c.cout + o);
        if (c.residual == Residual::kFirst) {
          sum += res0[at];
          m += std::fabs(res0[at]);
        }
        sum = fvx_test::activate(sum, c.act);
        if (c.residual == Residual::kSeparate || c.residual == Residual::kAccumulate) {
          sum += res0[at];
          m += std::fabs(res0[at]);
        }
        if (c.residual == Residual::kMultiply) {
          sum *= res0[at];
          m *= std::fabs(res0[at]);
        }
        want[at] = sum;
        mag[at] = m;
      }
    }
    // Packed channels-last weights (Cout, Cin) without the row padding.
    std::vector<float> dense(static_cast<size_t>(c.cout * c.cin));
    for (int64_t o = 0; o < c.cout; ++o) {
      for (int64_t k = 0; k < c.cin; ++k) dense[static_cast<size_t>(o * c.cin + k)] = w[static_cast<size_t>(o * wstride + k)];
    }
    std::vector<float> packed(static_cast<size_t>(pointwise_padded(c.cout) * c.cin));
    pack_pointwise_weights(dense.data(), c.cout, c.cin, c.cin, packed.data());
    for (int i = 0; i < kIsaCount; ++i) {
      const Isa isa = static_cast<Isa>(i);
      if (!isa_supported(isa)) continue;
      for (int threads : {1, 3}) {
        set_active_isa(isa);
        set_default_num_threads(threads);
        std::vector<float> y = c.residual == Residual::kAccumulate ? res0 : std::vector<float>(res0.size(), 7.f);
        PointwiseSource sources[3] = {{x0.data(), 0, k1}, {nullptr, k1, k2}, {x1.data(), k2, c.cin}};
        const float* residual = c.residual == Residual::kSeparate || c.residual == Residual::kFirst ||
                                        c.residual == Residual::kMultiply
                                    ? res0.data()
                                : c.residual == Residual::kAccumulate ? y.data()
                                                                      : nullptr;
        if (nchw) {
          PointwiseConvNchw p;
          p.out_channels = c.cout, p.in_channels = c.cin, p.pixels = c.pixels;
          p.weight = w.data(), p.weight_stride = wstride, p.bias = c.bias ? bias.data() : nullptr;
          p.sources = c.three_sources ? 3 : 1;
          for (int s = 0; s < p.sources; ++s) p.source[s] = sources[s];
          p.y = y.data(), p.residual = residual, p.act = c.act;
          p.residual_op = residual_op(c.residual);
          pointwise_conv_nchw(p);
        } else {
          PointwiseConvNhwc p;
          p.out_channels = c.cout, p.in_channels = c.cin, p.pixels = c.pixels;
          p.packed_weight = packed.data(), p.bias = c.bias ? bias.data() : nullptr;
          p.sources = c.three_sources ? 3 : 1;
          for (int s = 0; s < p.sources; ++s) p.source[s] = sources[s];
          p.x_stride = c.cin, p.y = y.data(), p.y_stride = c.cout;
          p.residual = residual, p.residual_stride = c.cout, p.act = c.act;
          p.residual_op = residual_op(c.residual);
          pointwise_conv_nhwc(p);
        }
        const auto check = [&](const std::vector<float>& out, const char* path) {
          int bad = 0;
          for (size_t e = 0; e < out.size(); ++e) {
            const bool ok = close_to(out[e], want[e], mag[e]);
            if (!ok && bad++ < 3) {
              CHECK(ok, "%s %s %d threads cout %lld cin %lld pixels %lld bias %d sources %d residual %d act %d: "
                    "y[%zu] = %.7g, want %.7g", path, isa_name(isa), threads, (long long)c.cout,
                    (long long)c.cin, (long long)c.pixels, c.bias, c.three_sources ? 3 : 1,
                    static_cast<int>(c.residual), static_cast<int>(c.act), e, out[e], want[e]);
            }
          }
        };
        check(y, nchw ? "nchw" : "nhwc");
        if (nchw && !c.three_sources && c.residual == Residual::kNone) {
          // The same conv with the pixels as the GEMM's rows; the output
          // exactly as large as written.
          std::vector<float> yt(res0.size(), 7.f);
          PointwiseConvNchwPacked p;
          p.out_channels = c.cout, p.in_channels = c.cin, p.pixels = c.pixels;
          p.packed_weight = packed.data(), p.bias = c.bias ? bias.data() : nullptr;
          p.x = x0.data(), p.y = yt.data(), p.act = c.act;
          pointwise_conv_nchw_packed(p);
          check(yt, "nchw packed");
          // With a scale (TFC's gate): input channel k divided by scale[k], a
          // power of two (exact both ways), so the tiles the GEMM packs and
          // scales are x0's again.
          std::vector<float> scale(static_cast<size_t>(c.cin)), xd(x0.size());
          for (int64_t k = 0; k < c.cin; ++k) {
            scale[k] = k % 3 == 0 ? 0.5f : k % 3 == 1 ? 2.f : 4.f;
            for (int64_t q = 0; q < c.pixels; ++q) xd[k * c.pixels + q] = x0[k * c.pixels + q] / scale[k];
          }
          std::fill(yt.begin(), yt.end(), 7.f);
          p.x = xd.data(), p.scale = scale.data();
          pointwise_conv_nchw_packed(p);
          check(yt, "nchw packed, scaled");
        }
      }
    }
  }
  set_active_isa(best_isa());
}

struct ConvCase {
  int64_t n, h, w, cin, cout, kh, kw, stride, pad;
  bool nchw_input, bias;
  Residual residual;
  Activation act;
};

// `conv` (conv2d_nhwc or conv2d_winograd_nhwc) of p (geometry, bias,
// activation and residual op set) on x with `packed`, under every ISA, 1 and
// 3 threads, the residual separate and written over (as
// fastvfx.fused_conv2d_residual_ does), against want: within the tolerance
// and nothing written past the output.
void check_conv(const char* what, void (*conv)(const Conv2dNhwc&), const struct ConvCase& c, Conv2dNhwc p,
                const std::vector<float>& x, const std::vector<float>& packed, const std::vector<double>& want,
                const std::vector<double>& mag, const std::vector<float>& res);

// conv2d_winograd_nhwc on a 3x3 stride-1 case of run_conv_case, F(2x2,
// 3x3) and F(4x4, 3x3), against the same naive loops: its weight transformed
// here in double (U = G w G^T) and packed as (Cout, (tile + 2)^2 * Cin); the
// direct conv's tolerance.
void run_winograd_case(const struct ConvCase& c, Conv2dNhwc p, const std::vector<float>& x,
                       const std::vector<float>& w, const std::vector<double>& want, const std::vector<double>& mag,
                       const std::vector<float>& res);
void run_winograd_tile(const struct ConvCase& c, Conv2dNhwc p, const std::vector<float>& x,
                       const std::vector<float>& w, const std::vector<double>& want, const std::vector<double>& mag,
                       const std::vector<float>& res, int64_t tile);

// conv2d_nhwc against naive loops: zero padding, strides, non-square
// kernels, an NCHW input (the stem), the residual ops.
void run_conv_case(const ConvCase& c, std::mt19937& rng) {
  const auto x = random_values(static_cast<size_t>(c.n * c.h * c.w * c.cin), rng);
  const auto w = random_values(static_cast<size_t>(c.cout * c.cin * c.kh * c.kw), rng);  // (Cout, Cin, kh, kw)
  const auto bias = random_values(static_cast<size_t>(c.cout), rng);
  Conv2dNhwc p;
  p.batch = c.n, p.height = c.h, p.width = c.w, p.in_channels = c.cin, p.out_channels = c.cout;
  p.kernel_h = c.kh, p.kernel_w = c.kw, p.stride = c.stride, p.pad_top = p.pad_left = c.pad;
  const int64_t oh = p.out_h(), ow = p.out_w(), kk = c.kh * c.kw * c.cin;
  const auto res = random_values(static_cast<size_t>(c.n * oh * ow * c.cout), rng);
  auto in = [&](int64_t img, int64_t y, int64_t xx, int64_t ch) {
    if (y < 0 || y >= c.h || xx < 0 || xx >= c.w) return 0.0;
    return static_cast<double>(x[static_cast<size_t>(c.nchw_input ? ((img * c.cin + ch) * c.h + y) * c.w + xx
                                                                   : ((img * c.h + y) * c.w + xx) * c.cin + ch)]);
  };
  std::vector<double> want(res.size()), mag(res.size());
  for (int64_t img = 0; img < c.n; ++img) {
    for (int64_t y = 0; y < oh; ++y) {
      for (int64_t xx = 0; xx < ow; ++xx) {
        for (int64_t o = 0; o < c.cout; ++o) {
          double sum = c.bias ? bias[static_cast<size_t>(o)] : 0.0, m = std::fabs(sum);
          for (int64_t ch = 0; ch < c.cin; ++ch) {
            for (int64_t i = 0; i < c.kh; ++i) {
              for (int64_t j = 0; j < c.kw; ++j) {
                const double t = in(img, y * c.stride - c.pad + i, xx * c.stride - c.pad + j, ch) *
                                 w[static_cast<size_t>(((o * c.cin + ch) * c.kh + i) * c.kw + j)];
                sum += t;
                m += std::fabs(t);
              }
            }
          }
          const size_t at = static_cast<size_t>(((img * oh + y) * ow + xx) * c.cout + o);
          if (c.residual == Residual::kFirst) sum += res[at], m += std::fabs(res[at]);
          sum = fvx_test::activate(sum, c.act);
          if (c.residual == Residual::kSeparate) sum += res[at], m += std::fabs(res[at]);
          if (c.residual == Residual::kMultiply) sum *= res[at], m *= std::fabs(res[at]);
          want[at] = sum;
          mag[at] = m;
        }
      }
    }
  }
  // The weight as (Cout, kh, kw, Cin), packed.
  std::vector<float> dense(static_cast<size_t>(c.cout * kk));
  for (int64_t o = 0; o < c.cout; ++o) {
    for (int64_t ch = 0; ch < c.cin; ++ch) {
      for (int64_t i = 0; i < c.kh; ++i) {
        for (int64_t j = 0; j < c.kw; ++j) {
          dense[static_cast<size_t>(o * kk + (i * c.kw + j) * c.cin + ch)] =
              w[static_cast<size_t>(((o * c.cin + ch) * c.kh + i) * c.kw + j)];
        }
      }
    }
  }
  std::vector<float> packed(static_cast<size_t>(pointwise_padded(c.cout) * kk));
  pack_pointwise_weights(dense.data(), c.cout, kk, kk, packed.data());
  p.nchw_input = c.nchw_input, p.bias = c.bias ? bias.data() : nullptr;
  p.residual_op = residual_op(c.residual), p.act = c.act;
  check_conv("conv", conv2d_nhwc, c, p, x, packed, want, mag, res);
  if (c.kh == 3 && c.kw == 3 && c.stride == 1 && !c.nchw_input) run_winograd_case(c, p, x, w, want, mag, res);
}


void run_winograd_case(const ConvCase& c, Conv2dNhwc p, const std::vector<float>& x, const std::vector<float>& w,
                       const std::vector<double>& want, const std::vector<double>& mag, const std::vector<float>& res) {
  for (int64_t tile : {2, 4}) run_winograd_tile(c, p, x, w, want, mag, res, tile);
}

void run_winograd_tile(const ConvCase& c, Conv2dNhwc p, const std::vector<float>& x, const std::vector<float>& w,
                       const std::vector<double>& want, const std::vector<double>& mag, const std::vector<float>& res,
                       int64_t tile) {
  // G of F(2x2, 3x3) on the points 0, 1, -1, and of F(4x4, 3x3) on 0, 1, -1,
  // 1/2, -2: row i is (1, p_i, p_i^2) / prod_{j != i} (p_i - p_j), the last
  // row (0, 0, 1) (the point at infinity).
  static const double g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  double g4[6][3];
  const double points[5] = {0, 1, -1, 0.5, -2};
  for (int i = 0; i < 5; ++i) {
    double f = 1;
    for (int j = 0; j < 5; ++j) f *= j == i ? 1 : points[i] - points[j];
    for (int k = 0; k < 3; ++k) g4[i][k] = std::pow(points[i], k) / f;
  }
  g4[5][0] = g4[5][1] = 0, g4[5][2] = 1;
  const int alpha = static_cast<int>(tile) + 2;
  const int64_t kk = alpha * alpha * c.cin;
  std::vector<float> u(static_cast<size_t>(c.cout * kk));
  for (int64_t o = 0; o < c.cout; ++o) {
    for (int64_t ch = 0; ch < c.cin; ++ch) {
      const float* k = &w[static_cast<size_t>((o * c.cin + ch) * 9)];
      for (int r = 0; r < alpha; ++r) {
        for (int q = 0; q < alpha; ++q) {
          double sum = 0;
          for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
              sum += (tile == 4 ? g4[r][i] * g4[q][j] : g2[r][i] * g2[q][j]) * static_cast<double>(k[i * 3 + j]);
            }
          }
          u[static_cast<size_t>(o * kk + (r * alpha + q) * c.cin + ch)] = static_cast<float>(sum);
        }
      }
    }
  }
  // The core's transform (winograd_weight_3x3) gives the same U.
  std::vector<float> core_u(u.size());
  winograd_weight_3x3(w.data(), c.cout, c.cin, core_u.data(), tile);
  for (size_t e = 0; e < u.size(); ++e) {
    CHECK(std::fabs(core_u[e] - u[e]) <= 1e-6f * (1.f + std::fabs(u[e])), "winograd_weight_3x3 tile %lld: u[%zu] = %.8g, want %.8g",
          (long long)tile, e, core_u[e], u[e]);
  }
  std::vector<float> packed(static_cast<size_t>(pointwise_padded(c.cout) * kk));
  pack_pointwise_weights(u.data(), c.cout, kk, kk, packed.data());
  p.winograd_tile = tile;
  check_conv(tile == 4 ? "winograd F(4x4)" : "winograd F(2x2)", conv2d_winograd_nhwc, c, p, x, packed, want, mag,
             res);
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    set_active_isa(isa);
    set_default_num_threads(3);
    {
      int bad = 0;
      // A per-image channel scale (conv2d(x * scale), the TFC's) equals the
      // conv of the scaled input.
      std::mt19937 rng(5);
      p.packed_weight = packed.data(), p.x = x.data();
      const auto scale = random_values(static_cast<size_t>(c.n * c.cin), rng);
      std::vector<float> xs(x);
      for (size_t e = 0; e < xs.size(); ++e) xs[e] *= scale[e / static_cast<size_t>(c.h * c.w * c.cin) * c.cin +
                                                           e % static_cast<size_t>(c.cin)];
      std::vector<float> y_scaled(res.size()), y_prescaled(res.size());
      p.residual = c.residual == Residual::kNone ? nullptr : res.data();
      p.channel_scale = scale.data(), p.y = y_scaled.data();
      conv2d_winograd_nhwc(p);
      p.channel_scale = nullptr, p.x = xs.data(), p.y = y_prescaled.data();
      conv2d_winograd_nhwc(p);
      float top = 0;
      for (float v : y_prescaled) top = std::max(top, std::fabs(v));
      for (size_t e = 0; e < res.size(); ++e) {
        const bool ok = std::fabs(y_scaled[e] - y_prescaled[e]) <= 2e-5f * top;
        if (!ok && bad++ < 3) {
          CHECK(ok, "winograd F(%lldx%lld) %s channel scale: y[%zu] = %.7g, the scaled input's %.7g", (long long)tile,
                (long long)tile, isa_name(isa), e, y_scaled[e],
                y_prescaled[e]);
        }
      }
    }
  }
  set_active_isa(best_isa());
}

void check_conv(const char* what, void (*conv)(const Conv2dNhwc&), const ConvCase& c, Conv2dNhwc p,
                const std::vector<float>& x, const std::vector<float>& packed, const std::vector<double>& want,
                const std::vector<double>& mag, const std::vector<float>& res) {
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    for (int threads : {1, 3}) for (bool in_place : {false, true}) {
      if (in_place && c.residual == Residual::kNone) continue;
      set_active_isa(isa);
      set_default_num_threads(threads);
      std::vector<float> y(res.size() + 5, 3.f);
      if (in_place) std::copy(res.begin(), res.end(), y.begin());
      p.x = x.data(), p.packed_weight = packed.data(), p.y = y.data();
      p.residual = c.residual == Residual::kNone ? nullptr : in_place ? y.data() : res.data();
      conv(p);
      int bad = 0;
      for (size_t e = 0; e < want.size(); ++e) {
        const bool ok = close_to(y[e], want[e], mag[e]);
        if (!ok && bad++ < 3) {
          CHECK(ok, "%s %s %d threads in place %d %lldx%lldx%lld cin %lld cout %lld k%lldx%lld s%lld p%lld nchw %d: "
                "y[%zu] = %.7g, want %.7g", what, isa_name(isa), threads, in_place, (long long)c.n, (long long)c.h,
                (long long)c.w, (long long)c.cin, (long long)c.cout, (long long)c.kh, (long long)c.kw,
                (long long)c.stride, (long long)c.pad, c.nchw_input, e, y[e], want[e]);
        }
      }
      for (size_t e = want.size(); e < y.size(); ++e) CHECK(y[e] == 3.f, "%s %s: wrote past the output", what, isa_name(isa));
    }
  }
  set_active_isa(best_isa());
}

}  // namespace

int main() {
  std::mt19937 rng(11);
  const std::vector<Case> cases = {
      {8, 16, 64, true, false, Residual::kNone, Activation::kNone},
      {1, 1, 1, false, false, Residual::kNone, Activation::kReLU},
      {5, 3, 7, true, false, Residual::kSeparate, Activation::kReLU6},
      {17, 40, 33, true, true, Residual::kNone, Activation::kSwish},
      {33, 9, 31, false, true, Residual::kAccumulate, Activation::kNone},
      {70, 24, 100, true, false, Residual::kAccumulate, Activation::kHardswish},
      {64, 64, 49, true, false, Residual::kSeparate, Activation::kReLU6},
      {24, 144, 300, true, true, Residual::kSeparate, Activation::kNone},
      {130, 20, 1, true, false, Residual::kNone, Activation::kSwish},
      {40, 33, 45, true, false, Residual::kFirst, Activation::kReLU},
      {7, 12, 70, false, true, Residual::kFirst, Activation::kHardswish},
      {36, 16, 50, true, false, Residual::kMultiply, Activation::kSigmoid},
      {9, 5, 33, true, true, Residual::kNone, Activation::kSigmoid},
      // The channels-first packed path's tiles: 49 and 196 pixels (7x7 and
      // 14x14 maps), row tiles of 12 and 14 pixels and their edges, output
      // channels past a panel and short of one.
      {96, 32, 49, false, false, Residual::kNone, Activation::kNone},
      {45, 20, 196, true, false, Residual::kNone, Activation::kReLU},
      {33, 17, 29, true, false, Residual::kNone, Activation::kHardswish},
      {20, 12, 15, true, false, Residual::kNone, Activation::kSwish},
      {40, 7, 13, true, false, Residual::kNone, Activation::kSigmoid},
      // The channels-last tiles of equally spaced rows (gemm_s): columns over
      // several panels with a partial last vector, rows past a task's block.
      {200, 70, 61, true, true, Residual::kFirst, Activation::kReLU},
      {112, 256, 14, true, false, Residual::kMultiply, Activation::kSigmoid},
      {81, 19, 140, false, false, Residual::kAccumulate, Activation::kNone},
  };
  for (const Case& c : cases) run_case(c, rng);
  const std::vector<ConvCase> conv_cases = {
      // n, h, w, cin, cout, kh, kw, stride, pad, nchw input, bias, residual, act
      {1, 9, 8, 16, 24, 3, 3, 1, 1, false, true, Residual::kNone, Activation::kReLU},
      {2, 11, 13, 6, 40, 5, 5, 2, 2, true, true, Residual::kNone, Activation::kReLU},
      {1, 7, 7, 3, 33, 7, 7, 1, 3, false, false, Residual::kFirst, Activation::kReLU6},
      {2, 5, 6, 20, 17, 3, 3, 1, 1, false, true, Residual::kMultiply, Activation::kNone},
      {1, 6, 9, 8, 9, 3, 3, 1, 1, false, true, Residual::kNone, Activation::kSigmoid},
      {3, 8, 8, 4, 12, 2, 2, 2, 0, false, true, Residual::kSeparate, Activation::kSwish},
      {1, 1, 1, 5, 7, 3, 3, 1, 1, true, true, Residual::kNone, Activation::kHardswish},
      {1, 10, 3, 7, 5, 3, 1, 2, 1, true, false, Residual::kNone, Activation::kNone},
      // NCHW input of at most 4 channels, stride 1 or 2: the direct path
      // (MobileNetV2's stem; partial pixel tiles and column panels, one-vector
      // panels, a 1-wide kernel, padding wider than the image).
      {2, 15, 17, 3, 32, 3, 3, 2, 1, true, true, Residual::kNone, Activation::kReLU6},
      {1, 9, 31, 1, 16, 5, 5, 1, 2, true, false, Residual::kFirst, Activation::kHardswish},
      {2, 6, 40, 4, 70, 7, 7, 2, 3, true, true, Residual::kMultiply, Activation::kNone},
      {1, 5, 29, 2, 8, 3, 1, 1, 1, true, true, Residual::kSeparate, Activation::kSwish},
      {1, 4, 4, 3, 5, 3, 3, 2, 5, true, true, Residual::kNone, Activation::kSigmoid},
      // 3x3 stride 1 on channels-last input (also by Winograd, run_winograd_case):
      // odd output sizes (half tiles), channels past a vector and a panel,
      // padding 0 and 2, one pixel, several images.
      {2, 7, 9, 37, 70, 3, 3, 1, 1, false, true, Residual::kFirst, Activation::kReLU},
      {1, 14, 14, 64, 48, 3, 3, 1, 1, false, true, Residual::kMultiply, Activation::kNone},
      {3, 6, 5, 5, 3, 3, 3, 1, 0, false, false, Residual::kSeparate, Activation::kHardswish},
      {1, 4, 6, 16, 33, 3, 3, 1, 2, false, true, Residual::kNone, Activation::kSwish},
      // several tile blocks per call (F(4x4): 64 tiles in blocks for a
      // transformed weight larger than a block, F(2x2): 225 in small blocks)
      {1, 30, 30, 96, 100, 3, 3, 1, 1, false, true, Residual::kSeparate, Activation::kReLU6},
  };
  for (const ConvCase& c : conv_cases) run_conv_case(c, rng);
  return TEST_MAIN_RESULT("pointwise_conv");
}
