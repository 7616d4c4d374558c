// AVX-512 variant: 64-byte vectors for long runs; every run shorter than a
// vector, and every tail, is one masked load/store (AVX512BW/VL byte masks).
#include <immintrin.h>

#include <cstdint>

#include "move_runs.h"
#include "move_ukernels.h"

namespace fastvfx {
namespace {

// Runs of at most 64 bytes go through the narrowest vector that holds them.
// Short runs sit next to each other (NHWC channel groups 16-64 bytes apart),
// and a masked access whose full vector footprint overlaps a recent masked
// store stalls store forwarding even where the masks do not overlap: with
// 64-byte vectors on 32-byte runs the NHWC swap ran 3x slower than AVX2.
template <int W>
struct Lane;
template <>
struct Lane<16> {
  using Mask = __mmask16;
  static Mask mask(size_t n) { return static_cast<Mask>((1u << n) - 1u); }
  static __m128i load(Mask m, const void* p) { return _mm_maskz_loadu_epi8(m, p); }
  static void store(void* p, Mask m, __m128i v) { _mm_mask_storeu_epi8(p, m, v); }
  static __m128i zero() { return _mm_setzero_si128(); }
};
template <>
struct Lane<32> {
  using Mask = __mmask32;
  static Mask mask(size_t n) { return n >= 32 ? ~Mask{0} : static_cast<Mask>((1u << n) - 1u); }
  static __m256i load(Mask m, const void* p) { return _mm256_maskz_loadu_epi8(m, p); }
  static void store(void* p, Mask m, __m256i v) { _mm256_mask_storeu_epi8(p, m, v); }
  static __m256i zero() { return _mm256_setzero_si256(); }
};
template <>
struct Lane<64> {
  using Mask = __mmask64;
  static Mask mask(size_t n) {
    return n >= 64 ? ~Mask{0} : static_cast<Mask>((uint64_t{1} << n) - 1);
  }
  static __m512i load(Mask m, const void* p) { return _mm512_maskz_loadu_epi8(m, p); }
  static void store(void* p, Mask m, __m512i v) { _mm512_mask_storeu_epi8(p, m, v); }
  static __m512i zero() { return _mm512_setzero_si512(); }
};

// op(lane, mask) on a run of n <= 64 bytes with the narrowest lane.
template <class Op>
inline void with_short_lane(size_t n, Op&& op) {
  if (n <= 16) {
    op(Lane<16>{}, Lane<16>::mask(n));
  } else if (n <= 32) {
    op(Lane<32>{}, Lane<32>::mask(n));
  } else {
    op(Lane<64>{}, Lane<64>::mask(n));
  }
}

inline void copy_short(unsigned char* d, const unsigned char* s, size_t n) {
  with_short_lane(n, [&](auto lane, auto m) { lane.store(d, m, lane.load(m, s)); });
}

inline void zero_short(unsigned char* d, size_t n) {
  with_short_lane(n, [&](auto lane, auto m) { lane.store(d, m, lane.zero()); });
}

inline void swap_short(unsigned char* a, unsigned char* b, size_t n) {
  with_short_lane(n, [&](auto lane, auto m) {
    const auto va = lane.load(m, a);
    const auto vb = lane.load(m, b);
    lane.store(a, m, vb);
    lane.store(b, m, va);
  });
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
  if (i < n) copy_short(d + i, s + i, n - i);
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
  if (i < n) zero_short(d + i, n - i);
}

inline void swap_run(unsigned char* a, unsigned char* b, size_t n) {
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i va = _mm512_loadu_si512(a + i);
    const __m512i vb = _mm512_loadu_si512(b + i);
    _mm512_storeu_si512(a + i, vb);
    _mm512_storeu_si512(b + i, va);
  }
  if (i < n) swap_short(a + i, b + i, n - i);
}

// Merged runs (short NHWC rows) use the narrowest vector that fits, as above:
// 64 bytes from 64 on, then 32, 16, and 8-byte words.
inline void merge_16(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                     size_t n) {
  move_runs::merge_vectors<16>(
      d, s, m, nullptr, n, [](const unsigned char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); },
      [](__m128i x, __m128i y) { return _mm_and_si128(x, y); },
      [](__m128i x, __m128i y) { return _mm_or_si128(x, y); },
      [](unsigned char* p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); },
      move_runs::merge_words);
}

inline void merge_32(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                     size_t n) {
  move_runs::merge_vectors<32>(
      d, s, m, nullptr, n,
      [](const unsigned char* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); },
      [](__m256i x, __m256i y) { return _mm256_and_si256(x, y); },
      [](__m256i x, __m256i y) { return _mm256_or_si256(x, y); },
      [](unsigned char* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); },
      merge_16);
}

inline void merge_run(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                      const unsigned char* codes, size_t n) {
  move_runs::merge_vectors<64>(
      d, s, m, codes, n, [](const unsigned char* p) { return _mm512_loadu_si512(p); },
      [](__m512i x, __m512i y) { return _mm512_and_si512(x, y); },
      [](__m512i x, __m512i y) { return _mm512_or_si512(x, y); },
      [](unsigned char* p, __m512i v) { _mm512_storeu_si512(p, v); }, merge_32);
}

}  // namespace

FVX_DEFINE_MOVE_2D(avx512, copy_run, zero_run, swap_run, merge_run, 64)

}  // namespace fastvfx
