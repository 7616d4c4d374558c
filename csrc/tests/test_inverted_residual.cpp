// The inverted residual block of the core (expansion, depthwise, projection,
// residual, temporal shift on read) under every ISA and 1 / 3 threads,
// against naive loops in double: odd planes, rows of one pixel, channel counts
// around the vector and panel widths, kernels 3, 5 and 7, strides 1 and 2,
// every activation, with and without expansion and residual, each shift kind
// at clip edges, and the online cache's update.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.h"
#include "naive_pointwise.h"
#include "fastvfx/inverted_residual.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"

using namespace fastvfx;
using fvx_test::close_to;
using fvx_test::random_values;

namespace {

struct Case {
  int64_t batch, h, w, cin, hidden, cout, k, stride;
  bool expand, residual;
  ShiftOnRead shift;
  int64_t n_segment, fold;
  Activation expand_act, dw_act;
};

// Channel c of frame n's pixel q as the block reads it (TSM's shift).
double shifted(const Case& c, const std::vector<float>& x, const std::vector<float>& cache, int64_t n, int64_t q,
               int64_t ch) {
  const int64_t plane = c.h * c.w;
  const int64_t t = n % c.n_segment;
  auto at = [&](int64_t f) { return static_cast<double>(x[static_cast<size_t>((f * plane + q) * c.cin + ch)]); };
  switch (c.shift) {
    case ShiftOnRead::kBidirectional:
      if (ch < c.fold) return t + 1 < c.n_segment ? at(n + 1) : 0.0;
      if (ch < 2 * c.fold) return t > 0 ? at(n - 1) : 0.0;
      return at(n);
    case ShiftOnRead::kPast:
      if (ch < c.fold) return t > 0 ? at(n - 1) : 0.0;
      return at(n);
    case ShiftOnRead::kCache:
      if (ch < c.fold) return cache[static_cast<size_t>((n * plane + q) * c.fold + ch)];
      return at(n);
    default: return at(n);
  }
}

void run_case(const Case& c, std::mt19937& rng) {
  InvertedResidualShape s;
  s.batch = c.batch, s.height = c.h, s.width = c.w;
  s.in_channels = c.cin, s.hidden = c.expand ? c.hidden : c.cin, s.out_channels = c.cout;
  s.kernel = c.k, s.stride = c.stride, s.expand = c.expand, s.residual = c.residual;
  s.shift = c.shift, s.n_segment = c.n_segment, s.fold = c.fold;
  const int64_t hidden = s.hidden, hp = pointwise_padded(hidden), cp = pointwise_padded(c.cout);
  const int64_t oh = s.out_h(), ow = s.out_w(), plane = c.h * c.w;
  const auto x = random_values(static_cast<size_t>(c.batch * plane * c.cin), rng, -2.f, 2.f);
  const auto cache0 = random_values(static_cast<size_t>(c.batch * plane * std::max<int64_t>(c.fold, 1)), rng);
  const auto we = random_values(static_cast<size_t>(hidden * c.cin), rng, -0.5f, 0.5f);
  const auto wd = random_values(static_cast<size_t>(hidden * c.k * c.k), rng, -0.5f, 0.5f);  // (hidden, k, k)
  const auto wp = random_values(static_cast<size_t>(c.cout * hidden), rng, -0.5f, 0.5f);
  const auto be = random_values(static_cast<size_t>(hidden), rng);
  const auto bd = random_values(static_cast<size_t>(hidden), rng);
  const auto bp = random_values(static_cast<size_t>(c.cout), rng);

  // The core's layouts.
  std::vector<float> pe(static_cast<size_t>(hp * c.cin)), pp(static_cast<size_t>(cp * hp));
  pack_pointwise_weights(we.data(), hidden, c.cin, c.cin, pe.data());
  pack_pointwise_weights(wp.data(), c.cout, hidden, hp, pp.data());
  std::vector<float> pwd(static_cast<size_t>(c.k * c.k * hp), 0.f), pbe(static_cast<size_t>(hp), 0.f),
      pbd(static_cast<size_t>(hp), 0.f), pbp(static_cast<size_t>(cp), 0.f);
  for (int64_t ch = 0; ch < hidden; ++ch) {
    for (int64_t t = 0; t < c.k * c.k; ++t) pwd[static_cast<size_t>(t * hp + ch)] = wd[static_cast<size_t>(ch * c.k * c.k + t)];
    pbe[static_cast<size_t>(ch)] = be[static_cast<size_t>(ch)];
    pbd[static_cast<size_t>(ch)] = bd[static_cast<size_t>(ch)];
  }
  for (int64_t o = 0; o < c.cout; ++o) pbp[static_cast<size_t>(o)] = bp[static_cast<size_t>(o)];
  InvertedResidualWeights w;
  w.expand_weight = c.expand ? pe.data() : nullptr;
  w.expand_bias = c.expand ? pbe.data() : nullptr;
  w.dw_weight = pwd.data(), w.dw_bias = pbd.data();
  w.project_weight = pp.data(), w.project_bias = pbp.data();
  w.expand_act = c.expand_act, w.dw_act = c.dw_act;

  // Reference in double, with the magnitude of every sum for the tolerance.
  const size_t hsize = static_cast<size_t>(c.batch * plane * hidden);
  std::vector<double> h(hsize), hmag(hsize);
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int64_t q = 0; q < plane; ++q) {
      for (int64_t j = 0; j < hidden; ++j) {
        const size_t at = static_cast<size_t>((n * plane + q) * hidden + j);
        if (!c.expand) {
          h[at] = shifted(c, x, cache0, n, q, j);
          hmag[at] = std::fabs(h[at]);
          continue;
        }
        double sum = be[static_cast<size_t>(j)], mag = std::fabs(sum);
        for (int64_t k = 0; k < c.cin; ++k) {
          const double term = shifted(c, x, cache0, n, q, k) * we[static_cast<size_t>(j * c.cin + k)];
          sum += term;
          mag += std::fabs(term);
        }
        h[at] = fvx_test::activate(sum, c.expand_act);
        hmag[at] = mag;
      }
    }
  }
  const int64_t pad = c.k / 2;
  const size_t ysize = static_cast<size_t>(c.batch * oh * ow * c.cout);
  std::vector<double> want(ysize), mag(ysize);
  std::vector<double> d(static_cast<size_t>(hidden)), dmag(static_cast<size_t>(hidden));
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int64_t r = 0; r < oh; ++r) {
      for (int64_t col = 0; col < ow; ++col) {
        for (int64_t j = 0; j < hidden; ++j) {
          double sum = bd[static_cast<size_t>(j)], m = std::fabs(sum);
          for (int64_t i = 0; i < c.k; ++i) {
            for (int64_t l = 0; l < c.k; ++l) {
              const int64_t ih = r * c.stride - pad + i, iw = col * c.stride - pad + l;
              if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
              const size_t at = static_cast<size_t>((n * plane + ih * c.w + iw) * hidden + j);
              const double wt = wd[static_cast<size_t>(j * c.k * c.k + i * c.k + l)];
              sum += h[at] * wt;
              m += hmag[at] * std::fabs(wt);
            }
          }
          d[static_cast<size_t>(j)] = fvx_test::activate(sum, c.dw_act);
          dmag[static_cast<size_t>(j)] = m;
        }
        for (int64_t o = 0; o < c.cout; ++o) {
          double sum = bp[static_cast<size_t>(o)], m = std::fabs(sum);
          for (int64_t j = 0; j < hidden; ++j) {
            const double wt = wp[static_cast<size_t>(o * hidden + j)];
            sum += d[static_cast<size_t>(j)] * wt;
            m += dmag[static_cast<size_t>(j)] * std::fabs(wt);
          }
          if (c.residual) {
            const double res = x[static_cast<size_t>((n * plane + r * c.w + col) * c.cin + o)];
            sum += res;
            m += std::fabs(res);
          }
          const size_t at = static_cast<size_t>(((n * oh + r) * ow + col) * c.cout + o);
          want[at] = sum;
          mag[at] = m;
        }
      }
    }
  }

  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    for (int threads : {1, 3}) {
      set_active_isa(isa);
      set_default_num_threads(threads);
      std::vector<float> cache(cache0);
      std::vector<float> y(ysize + 7, 12345.f);  // past the end must stay
      inverted_residual_forward(x.data(), cache.data(), y.data(), s, w);
      int bad = 0;
      for (size_t e = 0; e < ysize; ++e) {
        const bool ok = close_to(y[e], want[e], mag[e]);
        if (!ok && bad++ < 3) {
          CHECK(ok, "%s %d threads, case b%lld %lldx%lld cin %lld hidden %lld cout %lld k%lld s%lld exp %d res %d "
                "shift %d: y[%zu] = %.7g, want %.7g", isa_name(isa), threads, (long long)c.batch, (long long)c.h,
                (long long)c.w, (long long)c.cin, (long long)hidden, (long long)c.cout, (long long)c.k,
                (long long)c.stride, c.expand, c.residual, static_cast<int>(c.shift), e, y[e], want[e]);
        }
      }
      for (size_t e = ysize; e < y.size(); ++e) CHECK(y[e] == 12345.f, "%s: wrote past the output", isa_name(isa));
      if (c.shift == ShiftOnRead::kCache) {
        for (int64_t q = 0; q < c.batch * plane; ++q) {
          for (int64_t ch = 0; ch < c.fold; ++ch) {
            CHECK(cache[static_cast<size_t>(q * c.fold + ch)] == x[static_cast<size_t>(q * c.cin + ch)],
                  "%s: the cache does not hold this frame's channels", isa_name(isa));
          }
        }
      }
    }
  }
  set_active_isa(best_isa());
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  const auto none = ShiftOnRead::kNone;
  const auto r6 = Activation::kReLU6;
  const std::vector<Case> cases = {
      // batch, h, w, cin, hidden, cout, k, stride, expand, residual, shift, T, fold, acts
      {1, 9, 11, 8, 48, 8, 3, 1, true, true, none, 1, 0, r6, r6},
      {2, 8, 8, 16, 96, 24, 3, 2, true, false, none, 1, 0, r6, r6},
      {1, 7, 7, 24, 144, 24, 3, 1, true, true, none, 1, 0, r6, r6},
      {1, 1, 1, 5, 37, 5, 3, 1, true, true, none, 1, 0, r6, r6},
      {1, 1, 9, 3, 20, 7, 3, 2, true, false, none, 1, 0, Activation::kReLU, Activation::kNone},
      {3, 5, 1, 6, 33, 70, 5, 1, true, false, none, 1, 0, Activation::kHardswish, Activation::kSwish},
      {1, 40, 3, 4, 17, 4, 3, 1, true, true, none, 1, 0, Activation::kSwish, Activation::kHardswish},
      {2, 6, 10, 12, 40, 12, 7, 2, true, false, none, 1, 0, r6, Activation::kReLU},
      {1, 12, 13, 32, 32, 16, 3, 1, false, false, none, 1, 0, r6, r6},
      {2, 10, 9, 19, 19, 33, 5, 2, false, false, none, 1, 0, r6, Activation::kHardswish},
      {4, 6, 5, 16, 96, 16, 3, 1, true, true, ShiftOnRead::kBidirectional, 2, 2, r6, r6},
      {6, 7, 6, 24, 72, 24, 3, 1, true, true, ShiftOnRead::kBidirectional, 3, 3, r6, r6},
      {3, 5, 5, 9, 30, 9, 3, 1, true, true, ShiftOnRead::kPast, 3, 1, r6, r6},
      {2, 4, 7, 16, 16, 40, 3, 2, false, false, ShiftOnRead::kBidirectional, 2, 2, r6, r6},
      {2, 6, 6, 24, 144, 24, 3, 1, true, true, ShiftOnRead::kCache, 1, 3, r6, r6},
      {1, 14, 14, 64, 384, 64, 3, 1, true, true, ShiftOnRead::kCache, 1, 8, r6, r6},
      // Weights beyond L1: each column panel taken for all tiles in turn.
      {2, 7, 7, 160, 960, 160, 3, 1, true, true, ShiftOnRead::kBidirectional, 2, 20, r6, r6},
      {1, 9, 5, 40, 240, 48, 5, 2, true, false, ShiftOnRead::kPast, 1, 5, r6, r6},
      {1, 3, 3, 8, 8, 8, 3, 1, false, true, ShiftOnRead::kCache, 1, 1, r6, r6},
  };
  for (const Case& c : cases) run_case(c, rng);
  return TEST_MAIN_RESULT("inverted_residual");
}
