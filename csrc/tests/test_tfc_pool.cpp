// The TFC pooling: every compiled reduction microkernel, and the global
// pooling driver under every ISA, against naive loops. Odd run lengths around
// the vector widths, both reduction axes, both layouts, both kinds, float and
// double, all-negative data (max must not start at 0) and NaNs (max is NaN,
// as in torch).
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/isa.h"
#include "fastvfx/tfc.h"
#include "tfc/pool_ukernels.h"

using namespace fastvfx;

namespace {

template <class T>
const char* type_name() {
  return sizeof(T) == 4 ? "f32" : "f64";
}

template <class T>
double tolerance() {
  return sizeof(T) == 4 ? 2e-6 : 1e-14;
}

// |got - want| within tolerance of the magnitude summed; NaN only where expected.
template <class T>
bool close(T got, long double want, long double magnitude) {
  if (std::isnan(static_cast<double>(want))) return std::isnan(got);
  if (std::isnan(got)) return false;
  return std::fabs(static_cast<long double>(got) - want) <= tolerance<T>() * (magnitude + 1e-30L);
}

template <class T>
std::vector<T> random_values(size_t size, std::mt19937& rng, bool negative) {
  std::uniform_real_distribution<double> dist(negative ? -9.0 : -1.0, negative ? -1.0 : 1.0);
  std::vector<T> v(size);
  for (auto& e : v) e = static_cast<T>(dist(rng));
  return v;
}

// Reduces element (i, j) of a rows x n block for i over `outer` outputs.
struct Naive {
  long double sum = 0, magnitude = 0, max = -std::numeric_limits<long double>::infinity();
  bool nan = false;
  template <class T>
  void add(T v) {
    if (std::isnan(v)) {
      nan = true;
      return;
    }
    sum += v;
    magnitude += std::fabs(static_cast<long double>(v));
    if (v > max) max = v;
  }
  long double max_value() const { return nan ? std::numeric_limits<long double>::quiet_NaN() : max; }
  long double sum_value() const { return nan ? std::numeric_limits<long double>::quiet_NaN() : sum; }
};

template <class T>
void test_ukernels(Isa isa, std::mt19937& rng) {
  const PoolUkernels<T>& uk = pool_ukernels<T>(isa);
  const char* name = isa_name(isa);
  for (size_t n = 1; n <= 150; n += (n < 70 ? 1 : 13)) {
    for (size_t rows : {1, 2, 5}) {
      for (int variant = 0; variant < 3; ++variant) {  // 0 mixed, 1 all negative, 2 with a NaN
        const size_t stride = n + 3;
        auto x = random_values<T>(rows * stride + 8, rng, variant == 1);
        if (variant == 2) x[(rows - 1) * stride + n / 2] = std::numeric_limits<T>::quiet_NaN();
        // Padding between runs must never be read into a result.
        for (size_t r = 0; r < rows; ++r)
          for (size_t j = n; j < stride; ++j) x[r * stride + j] = variant == 1 ? T(1e6) : -T(1e6);

        std::vector<T> out(rows + 1, T(7));
        for (int kind = 0; kind < 2; ++kind) {
          (kind == 0 ? uk.sum_rows : uk.max_rows)(x.data(), stride, rows, n, out.data());
          for (size_t r = 0; r < rows; ++r) {
            Naive ref;
            for (size_t j = 0; j < n; ++j) ref.add(x[r * stride + j]);
            const bool ok = kind == 0 ? close(out[r], ref.sum_value(), ref.magnitude)
                                      : close(out[r], ref.max_value(), 0);
            CHECK(ok, "%s %s %s_rows n=%zu rows=%zu variant=%d r=%zu: got %g", name, type_name<T>(),
                  kind == 0 ? "sum" : "max", n, rows, variant, r, static_cast<double>(out[r]));
          }
          CHECK(out[rows] == T(7), "%s %s rows kernel wrote past its outputs", name, type_name<T>());
        }

        std::vector<T> cols(n + 1, T(7));
        for (int kind = 0; kind < 2; ++kind) {
          (kind == 0 ? uk.sum_cols : uk.max_cols)(x.data(), stride, rows, n, cols.data());
          for (size_t j = 0; j < n; ++j) {
            Naive ref;
            for (size_t r = 0; r < rows; ++r) ref.add(x[r * stride + j]);
            const bool ok = kind == 0 ? close(cols[j], ref.sum_value(), ref.magnitude)
                                      : close(cols[j], ref.max_value(), 0);
            CHECK(ok, "%s %s %s_cols n=%zu rows=%zu variant=%d j=%zu: got %g", name, type_name<T>(),
                  kind == 0 ? "sum" : "max", n, rows, variant, j, static_cast<double>(cols[j]));
          }
          CHECK(cols[n] == T(7), "%s %s cols kernel wrote past its outputs", name, type_name<T>());
        }
      }
    }
  }
}

template <class T>
void test_global_pool(std::mt19937& rng) {
  const char* name = isa_name(active_isa());
  for (int64_t n_batch : {1, 3}) {
    for (int64_t channels : {1, 5, 17, 64, 70}) {
      for (int64_t hw : {1, 7, 49, 50, 784, 3136}) {
        for (bool channels_last : {false, true}) {
          const PoolShape shape{n_batch, channels, hw, channels_last};
          auto x = random_values<T>(n_batch * channels * hw, rng, hw == 49);
          const auto at = [&](int64_t n, int64_t c, int64_t p) {
            return channels_last ? (n * hw + p) * channels + c : (n * channels + c) * hw + p;
          };
          if (channels > 4) x[at(n_batch - 1, 3, hw - 1)] = std::numeric_limits<T>::quiet_NaN();
          for (PoolKind kind : {PoolKind::kAvg, PoolKind::kMax}) {
            std::vector<T> out(n_batch * channels, T(7));
            global_pool2d(x.data(), out.data(), shape, kind);
            int bad = 0;
            for (int64_t n = 0; n < n_batch; ++n)
              for (int64_t c = 0; c < channels; ++c) {
                Naive ref;
                for (int64_t p = 0; p < hw; ++p) ref.add(x[at(n, c, p)]);
                const T got = out[n * channels + c];
                const bool ok = kind == PoolKind::kAvg ? close(got, ref.sum_value() / hw, ref.magnitude / hw)
                                                       : close(got, ref.max_value(), 0);
                bad += !ok;
              }
            CHECK(bad == 0, "%s %s global_pool2d %s n=%ld c=%ld hw=%ld %s: %d wrong outputs", name,
                  type_name<T>(), kind == PoolKind::kAvg ? "avg" : "max", (long)n_batch, (long)channels,
                  (long)hw, channels_last ? "NHWC" : "NCHW", bad);
          }
        }
      }
    }
  }
}

}  // namespace

int main() {
  std::mt19937 rng(42);
  const Isa initial = active_isa();
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    std::printf("testing %s\n", isa_name(isa));
    test_ukernels<float>(isa, rng);
    test_ukernels<double>(isa, rng);
    set_active_isa(isa);
    test_global_pool<float>(rng);
    test_global_pool<double>(rng);
  }
  set_active_isa(initial);
  return TEST_MAIN_RESULT("tfc_pool");
}
