// Pieces shared by the byte-movement variants (move_ukernels_<isa>.cpp):
// scalar fallbacks for short runs, and the row loops that turn a variant's
// 1-D run functions into its 2-D microkernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fastvfx::move_runs {

// n < 16 bytes: two overlapping words of the largest width that fits.
inline void copy_words(unsigned char* d, const unsigned char* s, size_t n) {
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

// A swap cannot use overlapping accesses (it would swap some bytes twice):
// tails go byte by byte.
inline void swap_bytes(unsigned char* a, unsigned char* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const unsigned char t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

}  // namespace fastvfx::move_runs

// Defines bytes_{copy,zero,swap}2d__<suffix> from three run functions
// copy_run(d, s, n), zero_run(d, n), swap_run(a, b, n) on unsigned char*.
#define FVX_DEFINE_MOVE_2D(suffix, copy_run, zero_run, swap_run)                                 \
  void bytes_copy2d__##suffix(void* dst, size_t dst_stride, const void* src, size_t src_stride,  \
                              size_t rows, size_t n) {                                            \
    auto* d = static_cast<unsigned char*>(dst);                                                   \
    auto* s = static_cast<const unsigned char*>(src);                                             \
    for (size_t r = 0; r < rows; ++r) copy_run(d + r * dst_stride, s + r * src_stride, n);         \
  }                                                                                               \
  void bytes_zero2d__##suffix(void* dst, size_t dst_stride, size_t rows, size_t n) {              \
    auto* d = static_cast<unsigned char*>(dst);                                                   \
    for (size_t r = 0; r < rows; ++r) zero_run(d + r * dst_stride, n);                            \
  }                                                                                               \
  void bytes_swap2d__##suffix(void* a, size_t a_stride, void* b, size_t b_stride, size_t rows,    \
                              size_t n) {                                                         \
    auto* pa = static_cast<unsigned char*>(a);                                                    \
    auto* pb = static_cast<unsigned char*>(b);                                                    \
    for (size_t r = 0; r < rows; ++r) swap_run(pa + r * a_stride, pb + r * b_stride, n);           \
  }
