// The TFC gate and the channel-scaled conv of the core: every compiled GEMM
// microkernel on its own (all m x n corners, accumulate or not), and the
// scaled conv under every ISA against naive loops. Output channels around
// each variant's row block, columns around its vector widths, K across the
// packing depth, 1x1 and 3x3 kernels, strides 1 and 2, padding, odd sizes,
// null scale and bias, batch > 1.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "fastvfx/tfc.h"
#include "tfc/gemm_ukernels.h"

using namespace fastvfx;

namespace {

std::vector<float> random_values(size_t size, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size);
  for (auto& e : v) e = dist(rng);
  return v;
}

// |got - want| <= 1e-5 of the sum of |terms| (plus a floor for all-zero sums).
bool close(float got, double want, double magnitude) {
  return std::fabs(static_cast<double>(got) - want) <= 1e-5 * magnitude + 1e-30;
}

void test_microkernels(std::mt19937& rng) {
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    const tfc::GemmKernel& g = tfc::gemm_kernel_for(isa);
    for (int64_t kc : {1, 2, 7, 64}) {
      const auto a = random_values(static_cast<size_t>(kc * g.mr), rng);
      const auto b = random_values(static_cast<size_t>(kc * g.nr), rng);
      for (int64_t m = 1; m <= g.mr; ++m) {
        for (int64_t n = 1; n <= g.nr; ++n) {
          for (bool accumulate : {false, true}) {
            const int64_t ldc = g.nr + 3;
            std::vector<float> c(static_cast<size_t>(g.mr * ldc), 0.5f);
            g.run(kc, a.data(), b.data(), c.data(), ldc, m, n, accumulate);
            for (int64_t r = 0; r < g.mr; ++r) {
              for (int64_t j = 0; j < ldc; ++j) {
                const float got = c[static_cast<size_t>(r * ldc + j)];
                if (r >= m || j >= n) {
                  CHECK(got == 0.5f, "%s: wrote outside the %lldx%lld corner at (%lld, %lld)", isa_name(isa),
                        (long long)m, (long long)n, (long long)r, (long long)j);
                  continue;
                }
                double want = accumulate ? 0.5 : 0.0, mag = accumulate ? 0.5 : 0.0;
                for (int64_t k = 0; k < kc; ++k) {
                  const double t = static_cast<double>(a[static_cast<size_t>(k * g.mr + r)]) * b[static_cast<size_t>(k * g.nr + j)];
                  want += t;
                  mag += std::fabs(t);
                }
                CHECK(close(got, want, mag), "%s kc=%lld m=%lld n=%lld acc=%d (%lld,%lld): %g vs %g", isa_name(isa),
                      (long long)kc, (long long)m, (long long)n, accumulate, (long long)r, (long long)j, got, want);
              }
            }
          }
        }
      }
    }
  }
}

struct Case {
  int64_t n, cin, cout, h, w, k, stride, pad;
  bool with_scale, with_bias;
};

void test_scaled_conv(const Case& c, std::mt19937& rng) {
  ScaledConvShape s;
  s.n_batch = c.n;
  s.in_channels = c.cin;
  s.out_channels = c.cout;
  s.in_h = c.h;
  s.in_w = c.w;
  s.kh = s.kw = c.k;
  s.stride_h = s.stride_w = c.stride;
  s.pad_h = s.pad_w = c.pad;
  const int64_t oh = s.out_h(), ow = s.out_w();
  const auto x = random_values(static_cast<size_t>(c.n * c.cin * c.h * c.w), rng);
  const auto weight = random_values(static_cast<size_t>(c.cout * c.cin * c.k * c.k), rng);
  const auto scale = random_values(static_cast<size_t>(c.n * c.cin), rng, 0.f, 1.f);
  const auto bias = random_values(static_cast<size_t>(c.cout), rng);
  std::vector<double> want(static_cast<size_t>(c.n * c.cout * oh * ow)), mag(want.size());
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t o = 0; o < c.cout; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xo = 0; xo < ow; ++xo) {
          double acc = c.with_bias ? bias[static_cast<size_t>(o)] : 0.0, m = std::fabs(acc);
          for (int64_t i = 0; i < c.cin; ++i)
            for (int64_t dy = 0; dy < c.k; ++dy)
              for (int64_t dx = 0; dx < c.k; ++dx) {
                const int64_t ih = y * c.stride - c.pad + dy, iw = xo * c.stride - c.pad + dx;
                if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
                double t = static_cast<double>(weight[static_cast<size_t>(((o * c.cin + i) * c.k + dy) * c.k + dx)]) *
                           x[static_cast<size_t>(((n * c.cin + i) * c.h + ih) * c.w + iw)];
                if (c.with_scale) t *= scale[static_cast<size_t>(n * c.cin + i)];
                acc += t;
                m += std::fabs(t);
              }
          const size_t idx = static_cast<size_t>(((n * c.cout + o) * oh + y) * ow + xo);
          want[idx] = acc;
          mag[idx] = m;
        }
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    set_active_isa(isa);
    std::vector<float> y(want.size(), NAN);
    scaled_conv2d(x.data(), c.with_scale ? scale.data() : nullptr, weight.data(), c.with_bias ? bias.data() : nullptr,
                  y.data(), s);
    int bad = 0;
    for (size_t j = 0; j < y.size(); ++j) {
      if (!close(y[j], want[j], mag[j]) && bad++ < 3) {
        CHECK(false, "%s n=%lld cin=%lld cout=%lld %lldx%lld k=%lld s=%lld p=%lld scale=%d bias=%d at %zu: %g vs %g",
              isa_name(isa), (long long)c.n, (long long)c.cin, (long long)c.cout, (long long)c.h, (long long)c.w,
              (long long)c.k, (long long)c.stride, (long long)c.pad, c.with_scale, c.with_bias, j, y[j], want[j]);
      }
    }
  }
}

// Every ISA's row-dot kernel through the gate: batches for each block shape
// (1, 2, 3-4, >= 5 samples, and partial blocks of them), channels and hidden
// widths around the vector widths and the row blocks, and a 300 x 260 gate
// whose GEMMs split between threads.
void test_gate(Isa isa, std::mt19937& rng) {
  struct Dims {
    int64_t channels, hidden;
  };
  const Dims dims[] = {{1, 1}, {5, 3}, {48, 16}, {64, 1}, {17, 9}, {33, 40}, {300, 260}};
  for (const Dims& d : dims) {
    const int64_t channels = d.channels, hidden = d.hidden;
    for (int64_t n : {1, 2, 3, 4, 5, 9}) {
      const auto pooled = random_values(static_cast<size_t>(n * channels), rng);
      // Weights shrink with the fan-in, so that the sigmoid's input stays
      // O(1) and the relative check on its output stays meaningful.
      const float r1 = 2.f / std::sqrt(static_cast<float>(channels)), r2 = 6.f / std::sqrt(static_cast<float>(hidden));
      const auto w1 = random_values(static_cast<size_t>(hidden * channels), rng, -r1, r1);
      const auto b1 = random_values(static_cast<size_t>(hidden), rng);
      const auto w2 = random_values(static_cast<size_t>(channels * hidden), rng, -r2, r2);
      const auto b2 = random_values(static_cast<size_t>(channels), rng);
      for (bool biases : {false, true}) {
        TfcGateWeights g;
        g.channels = channels;
        g.hidden = hidden;
        g.w1 = w1.data();
        g.w2 = w2.data();
        g.b1 = biases ? b1.data() : nullptr;
        g.b2 = biases ? b2.data() : nullptr;
        std::vector<float> scale(static_cast<size_t>(n * channels));
        tfc_gate(pooled.data(), n, g, scale.data());
        for (int64_t s = 0; s < n; ++s) {
          std::vector<double> h(static_cast<size_t>(hidden));
          for (int64_t r = 0; r < hidden; ++r) {
            double acc = biases ? b1[static_cast<size_t>(r)] : 0.0;
            for (int64_t c = 0; c < channels; ++c)
              acc += static_cast<double>(w1[static_cast<size_t>(r * channels + c)]) * pooled[static_cast<size_t>(s * channels + c)];
            h[static_cast<size_t>(r)] = acc > 0 ? acc : 0;
          }
          for (int64_t c = 0; c < channels; ++c) {
            double acc = biases ? b2[static_cast<size_t>(c)] : 0.0;
            for (int64_t r = 0; r < hidden; ++r) acc += w2[static_cast<size_t>(c * hidden + r)] * h[static_cast<size_t>(r)];
            const double want = 1.0 / (1.0 + std::exp(-acc));
            const float got = scale[static_cast<size_t>(s * channels + c)];
            CHECK(std::fabs(got - want) <= 1e-5 * want, "%s gate C=%lld hidden=%lld n=%lld biases=%d (%lld,%lld): %g vs %g",
                  isa_name(isa), (long long)channels, (long long)hidden, (long long)n, biases, (long long)s,
                  (long long)c, got, want);
          }
        }
      }
    }
  }
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  const Isa initial = active_isa();
  test_microkernels(rng);
  for (int threads : {1, 3}) {
    set_default_num_threads(threads);
    for (int i = 0; i < kIsaCount; ++i) {
      if (set_active_isa(static_cast<Isa>(i))) test_gate(static_cast<Isa>(i), rng);
    }
  }
  const Case cases[] = {
      // 1x1 stride 1 (the released models' TFC), rows around every mr, columns around every nr.
      {1, 16, 1, 5, 7, 1, 1, 0, true, false},   {1, 16, 3, 4, 4, 1, 1, 0, true, true},
      {1, 8, 5, 3, 11, 1, 1, 0, true, true},    {2, 16, 7, 7, 7, 1, 1, 0, true, true},
      {1, 12, 8, 8, 4, 1, 1, 0, false, false},  {1, 9, 9, 1, 33, 1, 1, 0, true, false},
      {1, 24, 13, 17, 3, 1, 1, 0, true, true},  {3, 5, 17, 6, 6, 1, 1, 0, true, true},
      {1, 33, 33, 9, 9, 1, 1, 0, true, true},   {1, 48, 64, 16, 17, 1, 1, 0, true, true},
      // K across the packing depth (256), and more than one row task (128) and column task (256).
      {1, 300, 20, 5, 5, 1, 1, 0, true, true},  {2, 260, 140, 19, 15, 1, 1, 0, true, true},
      {1, 512, 9, 7, 7, 1, 1, 0, true, false},
      // Kernel 3 / stride 2 / padding (must work too), odd sizes.
      {1, 4, 6, 9, 7, 3, 1, 1, true, true},     {2, 7, 5, 11, 13, 3, 2, 1, true, true},
      {1, 40, 12, 6, 10, 3, 2, 0, true, false}, {1, 6, 9, 10, 10, 1, 2, 0, true, true},
      {1, 30, 19, 5, 6, 3, 1, 2, false, true},
  };
  for (int threads : {1, 3}) {
    set_default_num_threads(threads);
    for (const Case& c : cases) test_scaled_conv(c, rng);
  }
  set_active_isa(initial);
  return TEST_MAIN_RESULT("tfc_gemm");
}
