// AVX-512 variant: 64-byte vectors, and every run shorter than a vector (and
// every tail) is one masked load/store (AVX512BW byte masks).
#include <immintrin.h>

#include <cstdint>

#include "move_ukernels.h"

namespace fastvfx {
namespace {

inline __mmask64 mask_of(size_t n) {  // n <= 64
  return n >= 64 ? ~__mmask64{0} : static_cast<__mmask64>((uint64_t{1} << n) - 1);
}

inline void copy_run(unsigned char* d, const unsigned char* s, size_t n) {
  size_t i = 0;
  for (; i + 256 <= n; i += 256) {
    const __m512i v0 = _mm512_loadu_si512(s + i);
    const __m512i v1 = _mm512_loadu_si512(s + i + 64);
    const __m512i v2 = _mm512_loadu_si512(s + i + 128);
    const __m512i v3 = _mm512_loadu_si512(s + i + 192);
    _mm512_storeu_si512(d + i, v0);
    _mm512_storeu_si512(d + i + 64, v1);
    _mm512_storeu_si512(d + i + 128, v2);
    _mm512_storeu_si512(d + i + 192, v3);
  }
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(d + i, _mm512_loadu_si512(s + i));
  if (i < n) {
    const __mmask64 m = mask_of(n - i);
    _mm512_mask_storeu_epi8(d + i, m, _mm512_maskz_loadu_epi8(m, s + i));
  }
}

inline void zero_run(unsigned char* d, size_t n) {
  const __m512i z = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 256 <= n; i += 256) {
    _mm512_storeu_si512(d + i, z);
    _mm512_storeu_si512(d + i + 64, z);
    _mm512_storeu_si512(d + i + 128, z);
    _mm512_storeu_si512(d + i + 192, z);
  }
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(d + i, z);
  if (i < n) _mm512_mask_storeu_epi8(d + i, mask_of(n - i), z);
}

inline void swap_run(unsigned char* a, unsigned char* b, size_t n) {
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i va = _mm512_loadu_si512(a + i);
    const __m512i vb = _mm512_loadu_si512(b + i);
    _mm512_storeu_si512(a + i, vb);
    _mm512_storeu_si512(b + i, va);
  }
  if (i < n) {
    const __mmask64 m = mask_of(n - i);
    const __m512i va = _mm512_maskz_loadu_epi8(m, a + i);
    const __m512i vb = _mm512_maskz_loadu_epi8(m, b + i);
    _mm512_mask_storeu_epi8(a + i, m, vb);
    _mm512_mask_storeu_epi8(b + i, m, va);
  }
}

}  // namespace

void bytes_copy2d__avx512(void* dst, size_t dst_stride, const void* src, size_t src_stride,
                          size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  if (n <= 64) {  // one masked vector per run: the NHWC channel-group case
    const __mmask64 m = mask_of(n);
    for (size_t r = 0; r < rows; ++r) {
      _mm512_mask_storeu_epi8(d + r * dst_stride, m, _mm512_maskz_loadu_epi8(m, s + r * src_stride));
    }
    return;
  }
  for (size_t r = 0; r < rows; ++r) copy_run(d + r * dst_stride, s + r * src_stride, n);
}

void bytes_zero2d__avx512(void* dst, size_t dst_stride, size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  for (size_t r = 0; r < rows; ++r) zero_run(d + r * dst_stride, n);
}

void bytes_swap2d__avx512(void* a, size_t a_stride, void* b, size_t b_stride, size_t rows,
                          size_t n) {
  auto* pa = static_cast<unsigned char*>(a);
  auto* pb = static_cast<unsigned char*>(b);
  for (size_t r = 0; r < rows; ++r) swap_run(pa + r * a_stride, pb + r * b_stride, n);
}

}  // namespace fastvfx
