// nchw_to_nhwc_f32 against an index loop: every ISA, odd channel counts and
// pixel counts (register blocks, blocks of 8 and scalar edges), several
// images, one and three threads; the bytes around the output stay untouched.
#include <cstdint>
#include <vector>

#include "check.h"
#include "fastvfx/isa.h"
#include "fastvfx/layout.h"
#include "fastvfx/parallel.h"

using namespace fastvfx;

int main() {
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa) || !set_active_isa(isa)) continue;
    for (int threads : {1, 3}) {
      set_default_num_threads(threads);
      for (int64_t n : {1, 3}) {
        for (int64_t c : {1, 3, 8, 17, 48, 64}) {
          for (int64_t hw : {1, 7, 16, 49, 1000, 5000}) {
            std::vector<float> src(static_cast<size_t>(n * c * hw));
            for (size_t k = 0; k < src.size(); ++k) src[k] = static_cast<float>(k) * 0.5f + 1.f;
            std::vector<float> dst(src.size() + 32, -7.f);
            nchw_to_nhwc_f32(src.data(), dst.data() + 16, n, c, hw);
            int wrong = 0;
            for (int64_t img = 0; img < n; ++img) {
              for (int64_t ch = 0; ch < c; ++ch) {
                for (int64_t p = 0; p < hw; ++p) {
                  const float want = src[static_cast<size_t>((img * c + ch) * hw + p)];
                  wrong += dst[static_cast<size_t>(16 + (img * hw + p) * c + ch)] != want;
                }
              }
            }
            for (size_t k = 0; k < 16; ++k) wrong += dst[k] != -7.f || dst[dst.size() - 1 - k] != -7.f;
            CHECK(wrong == 0, "%s threads=%d n=%lld c=%lld hw=%lld: %d wrong", isa_name(isa), threads,
                  static_cast<long long>(n), static_cast<long long>(c), static_cast<long long>(hw), wrong);
          }
        }
      }
    }
  }
  return TEST_MAIN_RESULT("layout");
}
