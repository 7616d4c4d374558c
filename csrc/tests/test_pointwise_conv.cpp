// The 1x1 conv drivers of the core, channels-first and channels-last, under
// every ISA and 1 / 3 threads, against naive loops in double: output channels
// and pixels around the tile sizes (right edges read no input past its end),
// input channels from up to three sources (one of them zeros), with and
// without bias, every activation, a separate residual and an accumulating one
// (the residual is the output itself), added after the activation or before it.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "fastvfx/pointwise_conv.h"

using namespace fastvfx;

namespace {

std::vector<float> random_values(size_t size, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(size);
  for (auto& e : v) e = dist(rng);
  return v;
}

double act(double v, Activation a) {
  switch (a) {
    case Activation::kReLU: return v > 0 ? v : 0;
    case Activation::kReLU6: return std::min(std::max(v, 0.0), 6.0);
    case Activation::kHardswish: return v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0;
    case Activation::kSwish: return v / (1.0 + std::exp(-v));
    default: return v;
  }
}

enum class Residual { kNone, kSeparate, kAccumulate, kFirst };

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
        sum = act(sum, c.act);
        if (c.residual == Residual::kSeparate || c.residual == Residual::kAccumulate) {
          sum += res0[at];
          m += std::fabs(res0[at]);
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
        const float* residual = c.residual == Residual::kSeparate || c.residual == Residual::kFirst ? res0.data()
                                : c.residual == Residual::kAccumulate ? y.data()
                                                                      : nullptr;
        if (nchw) {
          PointwiseConvNchw p;
          p.out_channels = c.cout, p.in_channels = c.cin, p.pixels = c.pixels;
          p.weight = w.data(), p.weight_stride = wstride, p.bias = c.bias ? bias.data() : nullptr;
          p.sources = c.three_sources ? 3 : 1;
          for (int s = 0; s < p.sources; ++s) p.source[s] = sources[s];
          p.y = y.data(), p.residual = residual, p.act = c.act;
          p.residual_first = c.residual == Residual::kFirst;
          pointwise_conv_nchw(p);
        } else {
          PointwiseConvNhwc p;
          p.out_channels = c.cout, p.in_channels = c.cin, p.pixels = c.pixels;
          p.packed_weight = packed.data(), p.bias = c.bias ? bias.data() : nullptr;
          p.sources = c.three_sources ? 3 : 1;
          for (int s = 0; s < p.sources; ++s) p.source[s] = sources[s];
          p.x_stride = c.cin, p.y = y.data(), p.y_stride = c.cout;
          p.residual = residual, p.residual_stride = c.cout, p.act = c.act;
          p.residual_first = c.residual == Residual::kFirst;
          pointwise_conv_nhwc(p);
        }
        int bad = 0;
        for (size_t e = 0; e < y.size(); ++e) {
          const bool ok = std::fabs(y[e] - want[e]) <= 2e-5 * mag[e] + 1e-30;
          if (!ok && bad++ < 3) {
            CHECK(ok, "%s %s %d threads cout %lld cin %lld pixels %lld bias %d sources %d residual %d act %d: "
                  "y[%zu] = %.7g, want %.7g", nchw ? "nchw" : "nhwc", isa_name(isa), threads, (long long)c.cout,
                  (long long)c.cin, (long long)c.pixels, c.bias, c.three_sources ? 3 : 1,
                  static_cast<int>(c.residual), static_cast<int>(c.act), e, y[e], want[e]);
          }
        }
      }
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
  };
  for (const Case& c : cases) run_case(c, rng);
  return TEST_MAIN_RESULT("pointwise_conv");
}
