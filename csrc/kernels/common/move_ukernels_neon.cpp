// NEON (AArch64 AdvSIMD) variant: 16-byte vectors, four per iteration; a run
// of 16 bytes or more ends with one overlapping vector, shorter runs use the
// largest scalar widths that fit, overlapping too.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "move_ukernels.h"

namespace fastvfx {
namespace {

inline void copy_short(unsigned char* d, const unsigned char* s, size_t n) {  // n < 16
  if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else {
    for (size_t i = 0; i < n; ++i) d[i] = s[i];
  }
}

inline void copy_run(unsigned char* d, const unsigned char* s, size_t n) {
  if (n < 16) {
    copy_short(d, s, n);
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
  // A swap cannot overlap its tail (it would swap some bytes twice).
  for (; i < n; ++i) {
    const unsigned char t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

}  // namespace

void bytes_copy2d__neon(void* dst, size_t dst_stride, const void* src, size_t src_stride,
                        size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t r = 0; r < rows; ++r) copy_run(d + r * dst_stride, s + r * src_stride, n);
}

void bytes_zero2d__neon(void* dst, size_t dst_stride, size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  for (size_t r = 0; r < rows; ++r) zero_run(d + r * dst_stride, n);
}

void bytes_swap2d__neon(void* a, size_t a_stride, void* b, size_t b_stride, size_t rows, size_t n) {
  auto* pa = static_cast<unsigned char*>(a);
  auto* pb = static_cast<unsigned char*>(b);
  for (size_t r = 0; r < rows; ++r) swap_run(pa + r * a_stride, pb + r * b_stride, n);
}

}  // namespace fastvfx
