// AVX2 variant: 32-byte vectors, four per iteration; a run of 32 bytes or more
// ends with one overlapping vector, and shorter runs (NHWC channel groups) are
// two overlapping loads/stores of the largest fitting width.
#include <immintrin.h>

#include <cstring>

#include "move_runs.h"
#include "move_ukernels.h"

namespace fastvfx {
namespace {

inline void copy_short(unsigned char* d, const unsigned char* s, size_t n) {  // n < 32
  if (n < 16) {
    move_runs::copy_words(d, s, n);
    return;
  }
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + n - 16));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d), a);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + n - 16), b);
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
  move_runs::swap_bytes(a + i, b + i, n - i);
}

inline void merge_short(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                        size_t n) {  // n < 32
  move_runs::merge_vectors<16>(
      d, s, m, nullptr, n, [](const unsigned char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); },
      [](__m128i x, __m128i y) { return _mm_and_si128(x, y); },
      [](__m128i x, __m128i y) { return _mm_or_si128(x, y); },
      [](unsigned char* p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); },
      move_runs::merge_words);
}

inline void merge_run(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                      const unsigned char* codes, size_t n) {
  move_runs::merge_vectors<32>(
      d, s, m, codes, n,
      [](const unsigned char* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); },
      [](__m256i x, __m256i y) { return _mm256_and_si256(x, y); },
      [](__m256i x, __m256i y) { return _mm256_or_si256(x, y); },
      [](unsigned char* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); },
      merge_short);
}

}  // namespace

FVX_DEFINE_MOVE_2D(avx2, copy_run, zero_run, swap_run, merge_run, 32)

}  // namespace fastvfx
