// AVX-512 variant: 64-byte vectors, and every tail is one masked load/store
// (AVX512BW byte masks), so a run of any length below 64 bytes is one vector.
#include <immintrin.h>

#include <cstdint>

#include "move_ukernels.h"

namespace fastvfx {
namespace {

inline __mmask64 tail_mask(size_t n) {  // n < 64
  return static_cast<__mmask64>((uint64_t{1} << n) - 1);
}

}  // namespace

void bytes_copy__avx512(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
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
    const __mmask64 m = tail_mask(n - i);
    _mm512_mask_storeu_epi8(d + i, m, _mm512_maskz_loadu_epi8(m, s + i));
  }
}

void bytes_zero__avx512(void* dst, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const __m512i z = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 256 <= n; i += 256) {
    _mm512_storeu_si512(d + i, z);
    _mm512_storeu_si512(d + i + 64, z);
    _mm512_storeu_si512(d + i + 128, z);
    _mm512_storeu_si512(d + i + 192, z);
  }
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(d + i, z);
  if (i < n) _mm512_mask_storeu_epi8(d + i, tail_mask(n - i), z);
}

void bytes_swap__avx512(void* a, void* b, size_t n) {
  auto* pa = static_cast<unsigned char*>(a);
  auto* pb = static_cast<unsigned char*>(b);
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i va = _mm512_loadu_si512(pa + i);
    const __m512i vb = _mm512_loadu_si512(pb + i);
    _mm512_storeu_si512(pa + i, vb);
    _mm512_storeu_si512(pb + i, va);
  }
  if (i < n) {
    const __mmask64 m = tail_mask(n - i);
    const __m512i va = _mm512_maskz_loadu_epi8(m, pa + i);
    const __m512i vb = _mm512_maskz_loadu_epi8(m, pb + i);
    _mm512_mask_storeu_epi8(pa + i, m, vb);
    _mm512_mask_storeu_epi8(pb + i, m, va);
  }
}

}  // namespace fastvfx
