// AVX2 variant: 32-byte vectors, four per iteration. Short runs (the 16..64
// byte channel groups of an NHWC shift) are where it differs from memcpy: no
// call or size dispatch, and the tail is one overlapping vector.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "move_ukernels.h"

namespace fastvfx {
namespace {

inline void copy_small(unsigned char* d, const unsigned char* s, size_t n) {
  // n < 32
  if (n >= 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + n - 16));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), a);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + n - 16), b);
  } else if (n >= 8) {
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

}  // namespace

void bytes_copy__avx2(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  if (n < 32) {
    copy_small(d, s, n);
    return;
  }
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 32));
    const __m256i v2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 64));
    const __m256i v3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 96));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), v0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i + 32), v1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i + 64), v2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i + 96), v3);
  }
  for (; i + 32 <= n; i += 32) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i),
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
  }
  if (i < n) {
    // Overlapping last vector: rewrites a few bytes with the same values.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + n - 32),
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + n - 32)));
  }
}

void bytes_zero__avx2(void* dst, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  if (n < 32) {
    std::memset(d, 0, n);
    return;
  }
  const __m256i z = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), z);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i + 32), z);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i + 64), z);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i + 96), z);
  }
  for (; i + 32 <= n; i += 32) _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), z);
  if (i < n) _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + n - 32), z);
}

void bytes_swap__avx2(void* a, void* b, size_t n) {
  auto* pa = static_cast<unsigned char*>(a);
  auto* pb = static_cast<unsigned char*>(b);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pa + i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pb + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pa + i), vb);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pb + i), va);
  }
  // A swap cannot overlap its tail (it would swap some bytes twice).
  for (; i < n; ++i) {
    const unsigned char t = pa[i];
    pa[i] = pb[i];
    pb[i] = t;
  }
}

}  // namespace fastvfx
