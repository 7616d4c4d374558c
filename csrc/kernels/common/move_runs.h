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

// Swaps one word of W bytes at a and b.
template <class W>
inline void swap_word(unsigned char* a, unsigned char* b) {
  W wa, wb;
  std::memcpy(&wa, a, sizeof(W));
  std::memcpy(&wb, b, sizeof(W));
  std::memcpy(a, &wb, sizeof(W));
  std::memcpy(b, &wa, sizeof(W));
}

// A swap cannot use overlapping accesses (it would swap some bytes twice):
// tails (n < 16: an NHWC shift's channel groups) go in 8, 4, 2 and 1-byte words.
inline void swap_bytes(unsigned char* a, unsigned char* b, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) swap_word<uint64_t>(a + i, b + i);
  if (i + 4 <= n) {
    swap_word<uint32_t>(a + i, b + i);
    i += 4;
  }
  if (i + 2 <= n) {
    swap_word<uint16_t>(a + i, b + i);
    i += 2;
  }
  if (i < n) swap_word<unsigned char>(a + i, b + i);
}

// One merged word (see MoveUkernels::merge2d): the bytes of each source under
// its mask, OR-ed.
template <class V, class Load, class And, class Or>
inline V merge_at(const unsigned char* const s[3], const unsigned char* m, size_t n, size_t i,
                  Load load, And and_, Or or_) {
  const V a = and_(load(s[0] + i), load(m + i));
  const V b = and_(load(s[1] + i), load(m + n + i));
  const V c = and_(load(s[2] + i), load(m + 2 * n + i));
  return or_(or_(a, b), c);
}

// Merge codes (see MoveUkernels::merge2d), one per vector of a row: the
// sources whose mask is set somewhere in the vector (bits 0..2), or kPure | k
// when source k's mask covers the whole vector. A pure vector is one load and
// one store, and reads nothing of the other two sources.
constexpr unsigned char kPure = 8;

// A merged run in vectors of W bytes (load/and_/or_/store of the variant), the
// last one overlapping (it rewrites a few bytes with the same values); runs
// shorter than W go to `shorter`. With codes (one per vector, see
// merge_codes), pure vectors are plain copies; without, every vector reads all
// three sources.
template <size_t W, class Load, class And, class Or, class Store, class Shorter>
inline void merge_vectors(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                          const unsigned char* codes, size_t n, Load load, And and_, Or or_,
                          Store store, Shorter shorter) {
  if (n < W) {
    shorter(d, s, m, n);
    return;
  }
  using V = decltype(load(m));
  auto at = [&](size_t i, size_t v) {
    if (codes != nullptr && (codes[v] & kPure)) return load(s[codes[v] & 3] + i);
    return merge_at<V>(s, m, n, i, load, and_, or_);
  };
  size_t i = 0, v = 0;
  for (; i + W <= n; i += W, ++v) store(d + i, at(i, v));
  if (i < n) store(d + n - W, at(n - W, v));
}

// Runs under 8 bytes, byte by byte.
inline void merge_bytes(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                        size_t n) {
  for (size_t i = 0; i < n; ++i) {
    d[i] = static_cast<unsigned char>((s[0][i] & m[i]) | (s[1][i] & m[n + i]) | (s[2][i] & m[2 * n + i]));
  }
}

// A merged run in 8-byte words (the portable variant's vectors).
inline void merge_words_coded(unsigned char* d, const unsigned char* const s[3],
                              const unsigned char* m, const unsigned char* codes, size_t n) {
  merge_vectors<8>(
      d, s, m, codes, n,
      [](const unsigned char* p) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
      },
      [](uint64_t a, uint64_t b) { return a & b; }, [](uint64_t a, uint64_t b) { return a | b; },
      [](unsigned char* p, uint64_t w) { std::memcpy(p, &w, 8); }, merge_bytes);
}

// The same without codes: the tail of a wider variant's short runs.
inline void merge_words(unsigned char* d, const unsigned char* const s[3], const unsigned char* m,
                        size_t n) {
  merge_words_coded(d, s, m, nullptr, n);
}

}  // namespace fastvfx::move_runs

// Defines bytes_{copy,zero,swap,merge}2d__<suffix> from four run functions
// copy_run(d, s, n), zero_run(d, n), swap_run(a, b, n),
// merge_run(d, s[3], mask, codes, n) on unsigned char*, and
// bytes_merge_width__<suffix>, merge_run's vector width (its codes' unit).
#define FVX_DEFINE_MOVE_2D(suffix, copy_run, zero_run, swap_run, merge_run, merge_width)         \
  const size_t bytes_merge_width__##suffix = merge_width;                                         \
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
  }                                                                                               \
  void bytes_merge2d__##suffix(void* dst, size_t dst_stride, const unsigned char* const src[3],   \
                               size_t src_stride, const unsigned char* mask,                      \
                               const unsigned char* codes, size_t rows, size_t n) {               \
    auto* d = static_cast<unsigned char*>(dst);                                                   \
    for (size_t r = 0; r < rows; ++r) {                                                           \
      const unsigned char* s[3] = {src[0] + r * src_stride, src[1] + r * src_stride,              \
                                   src[2] + r * src_stride};                                      \
      merge_run(d + r * dst_stride, s, mask, codes, n);                                           \
    }                                                                                             \
  }
