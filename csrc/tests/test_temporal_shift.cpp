// Each compiled ISA variant of the temporal-shift drivers against a naive
// per-element formulation of TSM's shift, over odd shapes, both layouts
// (rows/inner), both modes, both directions and 1/2/4/8-byte elements.
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "fastvfx/temporal_shift.h"
#include "naive_temporal_shift.h"

using namespace fastvfx;

namespace {

using namespace fvx_naive;

template <class E>
void run_case(const Case& k, std::mt19937& rng) {
  const int64_t total = k.n * k.t * k.rows * k.c * k.inner;
  std::vector<E> x(total);
  for (auto& v : x) v = static_cast<E>(rng() | 1u);  // never 0: zeros must come from the shift
  const ShiftShape s = shape_of(k, sizeof(E));
  const auto want = reference(k, x);
  const char* isa = isa_name(active_isa());

  std::vector<E> y(total, E(0x5a));
  temporal_shift(x.data(), y.data(), s, k.mode, k.reverse);
  CHECK(y == want, "%s out-of-place n=%ld t=%ld rows=%ld c=%ld inner=%ld div=%ld mode=%d rev=%d es=%zu",
        isa, (long)k.n, (long)k.t, (long)k.rows, (long)k.c, (long)k.inner, (long)k.fold_div,
        (int)k.mode, (int)k.reverse, sizeof(E));

  std::vector<E> z = x;
  temporal_shift_inplace(z.data(), s, k.mode, k.reverse);
  CHECK(z == want, "%s in-place n=%ld t=%ld rows=%ld c=%ld inner=%ld div=%ld mode=%d rev=%d es=%zu",
        isa, (long)k.n, (long)k.t, (long)k.rows, (long)k.c, (long)k.inner, (long)k.fold_div,
        (int)k.mode, (int)k.reverse, sizeof(E));

  // One tile of one frame, gathered into a compact buffer.
  const int64_t f = static_cast<int64_t>(rng() % (k.n * k.t));
  const int64_t r0 = rng() % k.rows, r1 = r0 + 1 + rng() % (k.rows - r0);
  const int64_t i0 = rng() % k.inner, i1 = i0 + 1 + rng() % (k.inner - i0);
  const int64_t tr = r1 - r0, ti = i1 - i0;
  std::vector<E> tile(tr * k.c * ti, E(0x33));
  temporal_shift_gather_tile(x.data(), s, make_shift_plan(s, k.mode, k.reverse), f, r0, r1, i0, i1,
                             tile.data(), k.c * ti * sizeof(E), ti * sizeof(E));
  bool ok = true;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t ch = 0; ch < k.c; ++ch)
      for (int64_t i = i0; i < i1; ++i)
        ok &= tile[((r - r0) * k.c + ch) * ti + (i - i0)] ==
              want[((f * k.rows + r) * k.c + ch) * k.inner + i];
  CHECK(ok, "%s gather tile f=%ld rows [%ld,%ld) inner [%ld,%ld)", isa, (long)f, (long)r0, (long)r1,
        (long)i0, (long)i1);
}

template <class E>
void run_online_swap(int64_t n, int64_t rows, int64_t c, int64_t inner, int64_t fold,
                     std::mt19937& rng) {
  std::vector<E> x(n * rows * c * inner), cache(n * rows * fold * inner);
  for (auto& v : x) v = static_cast<E>(rng());
  for (auto& v : cache) v = static_cast<E>(rng());
  const auto x0 = x, cache0 = cache;
  ShiftShape s;
  s.n_batch = n;
  s.rows = rows;
  s.channels = c;
  s.inner = inner;
  s.fold = fold;
  s.elem_size = sizeof(E);
  temporal_shift_online_swap(x.data(), cache.data(), s);
  bool ok = true;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t xi = ((b * rows + r) * c + ch) * inner + i;
          if (ch < fold) {
            const int64_t ci = ((b * rows + r) * fold + ch) * inner + i;
            ok &= x[xi] == cache0[ci] && cache[ci] == x0[xi];
          } else {
            ok &= x[xi] == x0[xi];
          }
        }
  CHECK(ok, "%s online swap n=%ld rows=%ld c=%ld inner=%ld fold=%ld", isa_name(active_isa()),
        (long)n, (long)rows, (long)c, (long)inner, (long)fold);
}

}  // namespace

int main() {
  set_default_num_threads(3);  // exercise the splitter with an uneven count
  std::mt19937 rng(1234);
  std::vector<Case> cases;
  const int64_t shapes[][5] = {
      // n, t, h*w, c, (unused)
      {1, 8, 7 * 7, 16, 0}, {2, 3, 5 * 3, 13, 0}, {1, 1, 4, 8, 0},  {3, 4, 1, 64, 0},
      {1, 5, 57 * 3, 24, 0}, {2, 8, 33, 7, 0},    {1, 2, 2500, 40, 0}, {1, 8, 9, 130, 0},
  };
  for (const auto& sh : shapes) {
    for (int layout = 0; layout < 2; ++layout) {
      for (int64_t div : {1, 2, 3, 4, 8}) {
        for (ShiftMode mode : {ShiftMode::kBidirectional, ShiftMode::kPast}) {
          for (bool rev : {false, true}) {
            Case k{sh[0], sh[1], layout ? sh[2] : 1, sh[3], layout ? 1 : sh[2], div, mode, rev};
            cases.push_back(k);
          }
        }
      }
    }
  }
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    set_active_isa(isa);
    std::printf("testing %s over %zu cases\n", isa_name(isa), cases.size());
    for (const Case& k : cases) {
      run_case<uint8_t>(k, rng);
      run_case<uint16_t>(k, rng);
      run_case<uint32_t>(k, rng);
      run_case<uint64_t>(k, rng);
    }
    for (int64_t fold : {1, 3, 8}) {
      run_online_swap<uint32_t>(2, 1, 16, 7 * 7, fold, rng);   // NCHW
      run_online_swap<uint32_t>(2, 7 * 7, 16, 1, fold, rng);   // NHWC
      run_online_swap<uint16_t>(1, 1, 64, 3000, fold, rng);    // NCHW, several tiles
      run_online_swap<uint64_t>(3, 130, 24, 1, fold, rng);
    }
  }
  return TEST_MAIN_RESULT("temporal_shift");
}
