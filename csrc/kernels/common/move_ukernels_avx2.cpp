// AVX2 variant: 32-byte vectors, four per iteration; a run of 32 bytes or more
// ends with one overlapping vector, and shorter runs (NHWC channel groups) are
// two overlapping loads/stores of the largest fitting width.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "move_ukernels.h"

namespace fastvfx {
namespace {

inline void copy_short(unsigned char* d, const unsigned char* s, size_t n) {  // n < 32
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

inline void copy_run(unsigned char* d, const unsigned char* s, size_t n) {
  if (n < 32) {
    copy_short(d, s, n);
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
  if (i < n) {  // overlapping last vector: rewrites a few bytes with the same values
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + n - 32),
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + n - 32)));
  }
}

inline void zero_run(unsigned char* d, size_t n) {
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

inline void swap_run(unsigned char* a, unsigned char* b, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(a + i), vb);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(b + i), va);
  }
  // A swap cannot overlap its tail (it would swap some bytes twice).
  for (; i < n; ++i) {
    const unsigned char t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

}  // namespace

void bytes_copy2d__avx2(void* dst, size_t dst_stride, const void* src, size_t src_stride,
                        size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t r = 0; r < rows; ++r) copy_run(d + r * dst_stride, s + r * src_stride, n);
}

void bytes_zero2d__avx2(void* dst, size_t dst_stride, size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  for (size_t r = 0; r < rows; ++r) zero_run(d + r * dst_stride, n);
}

void bytes_swap2d__avx2(void* a, size_t a_stride, void* b, size_t b_stride, size_t rows,
                        size_t n) {
  auto* pa = static_cast<unsigned char*>(a);
  auto* pb = static_cast<unsigned char*>(b);
  for (size_t r = 0; r < rows; ++r) swap_run(pa + r * a_stride, pb + r * b_stride, n);
}

}  // namespace fastvfx
