// NEON (AArch64 AdvSIMD) variant: 16-byte vectors, four per iteration; a run
// of 16 bytes or more ends with one overlapping vector, shorter runs use the
// largest scalar widths that fit, overlapping too.
#include <arm_neon.h>

#include <cstring>

#include "move_runs.h"
#include "move_ukernels.h"

namespace fastvfx {
namespace {

inline void copy_run(unsigned char* d, const unsigned char* s, size_t n) {
  if (n < 16) {
    move_runs::copy_words(d, s, n);
    return;
  }
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const uint8x16_t v0 = vld1q_u8(s + i), v1 = vld1q_u8(s + i + 16);
    const uint8x16_t v2 = vld1q_u8(s + i + 32), v3 = vld1q_u8(s + i + 48);
    vst1q_u8(d + i, v0);
    vst1q_u8(d + i + 16, v1);
    vst1q_u8(d + i + 32, v2);
    vst1q_u8(d + i + 48, v3);
  }
  for (; i + 16 <= n; i += 16) vst1q_u8(d + i, vld1q_u8(s + i));
  if (i < n) vst1q_u8(d + n - 16, vld1q_u8(s + n - 16));
}

inline void zero_run(unsigned char* d, size_t n) {
  if (n < 16) {
    std::memset(d, 0, n);
    return;
  }
  const uint8x16_t z = vdupq_n_u8(0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) vst1q_u8(d + i, z);
  if (i < n) vst1q_u8(d + n - 16, z);
}

inline void swap_run(unsigned char* a, unsigned char* b, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const uint8x16_t va = vld1q_u8(a + i), vb = vld1q_u8(b + i);
    vst1q_u8(a + i, vb);
    vst1q_u8(b + i, va);
  }
  move_runs::swap_bytes(a + i, b + i, n - i);
}

inline void merge_run(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                      const unsigned char* codes, size_t n) {
  move_runs::merge_vectors<16>(
      d, s, m, codes, n, [](const unsigned char* p) { return vld1q_u8(p); },
      [](uint8x16_t a, uint8x16_t b) { return vandq_u8(a, b); },
      [](uint8x16_t a, uint8x16_t b) { return vorrq_u8(a, b); },
      [](unsigned char* p, uint8x16_t v) { vst1q_u8(p, v); }, move_runs::merge_words);
}

}  // namespace

FVX_DEFINE_MOVE_2D(neon, copy_run, zero_run, swap_run, merge_run, 16)

}  // namespace fastvfx
