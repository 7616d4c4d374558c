// AVX-512 variant: 64-byte vectors for long runs; every run shorter than a
// vector, and every tail, is one masked load/store (AVX512BW/VL byte masks).
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

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

// One select vector at byte offset o of the sources. A masked load whose mask
// is zero reads nothing; one whose mask covers whole lines reads only those.
inline __m512i select_at(uint32_t kind, __mmask64 m0, __mmask64 m1, __mmask64 m2,
                         const unsigned char* s0, const unsigned char* s1, const unsigned char* s2,
                         size_t o) {
  switch (kind) {
    case SelectVector::kPure0:
      return _mm512_loadu_si512(s0 + o);
    case SelectVector::kPure0 + 1:
      return _mm512_loadu_si512(s1 + o);
    case SelectVector::kPure0 + 2:
      return _mm512_loadu_si512(s2 + o);
    case SelectVector::kBlend: {
      const __m512i x = _mm512_mask_loadu_epi8(_mm512_loadu_si512(s1 + o), m0, s0 + o);
      return _mm512_mask_loadu_epi8(x, m2, s2 + o);
    }
    default: {
      const __m512i x = _mm512_mask_loadu_epi8(_mm512_maskz_loadu_epi8(m1, s1 + o), m0, s0 + o);
      return _mm512_mask_loadu_epi8(x, m2, s2 + o);
    }
  }
}

// Consecutive vectors of a period: `len` vectors from `first`, all pure from
// source `kind`, or (kind kBlend) each selected on its own.
struct SelectRun {
  uint32_t kind;
  size_t first, len;
};

// The prefetch runs this far ahead of the pass (a few lines: the next frame's
// tile is read densely while this one is written).
constexpr size_t kSelectPrefetchAhead = 512;

// P vectors a period: their masks and kinds live in registers, the period's
// loop is unrolled (P = 0: any period, read from memory). Short periods are
// the NHWC rows of few channels, where every vector is a blend and the loop
// is the cost; measured 1.2-1.4x faster than the generic loop at 24-96
// channels (fp32, one thread). Up to 12 vectors: 160 fp32 channels (10
// vectors) at 7x7, 8 frames, 0.60-0.65 of clone on the generic loop's runs
// (a run's loop and a kind switch per vector, with every row three runs),
// 0.75-0.80 unrolled. Longer periods are wide rows whose long runs of one
// source the generic loop copies whole.
template <bool Stream>
inline void store_vector(unsigned char* p, __m512i x) {
  if constexpr (Stream) {
    _mm512_stream_si512(reinterpret_cast<__m512i*>(p), x);
  } else {
    _mm512_storeu_si512(p, x);
  }
}

template <size_t P, bool Stream>
void select_periods(unsigned char* d, const unsigned char* s0, const unsigned char* s1,
                    const unsigned char* s2, const SelectVector* period, size_t period_len,
                    size_t bytes, const unsigned char* prefetch) {
  constexpr size_t kMaxLocal = P == 0 ? 1 : P;
  __mmask64 m0[kMaxLocal], m1[kMaxLocal], m2[kMaxLocal];
  uint32_t kind[kMaxLocal];
  if constexpr (P != 0) {
    for (size_t c = 0; c < P; ++c) {
      m0[c] = period[c].mask[0];
      m1[c] = period[c].mask[1];
      m2[c] = period[c].mask[2];
      kind[c] = period[c].kind;
    }
  }
  const size_t len = P == 0 ? period_len : P;
  const size_t span = len * 64;
  // A long period (long rows: many channels) as runs: the vectors one source
  // covers, in a row, are one copy (a wide row's unshifted channels are most
  // of it); a switch per vector there ran at 0.4 of a clone. Up to kMaxRuns
  // runs, else vector by vector (rows whose every vector is a blend).
  constexpr size_t kMaxRuns = 64;
  SelectRun runs[P == 0 ? kMaxRuns : 1];
  size_t n_runs = 0;
  if constexpr (P == 0) {
    for (size_t c = 0; c < len && n_runs <= kMaxRuns;) {
      const uint32_t kind = period[c].kind < SelectVector::kBlend ? period[c].kind : SelectVector::kBlend;
      size_t e = c + 1;
      while (e < len && (period[e].kind < SelectVector::kBlend ? period[e].kind : SelectVector::kBlend) == kind) ++e;
      if (n_runs < kMaxRuns) runs[n_runs] = {kind, c, e - c};
      ++n_runs;
      c = e;
    }
    if (n_runs > kMaxRuns) n_runs = 0;
  }
  size_t i = 0;
  for (; i + span <= bytes; i += span) {
    if (prefetch != nullptr) {
      for (size_t j = 0; j < span; j += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(prefetch + i + j + kSelectPrefetchAhead), _MM_HINT_T0);
      }
    }
    if constexpr (P != 0) {
#pragma GCC unroll 16
      for (size_t c = 0; c < P; ++c) {
        const size_t o = i + c * 64;
        store_vector<Stream>(d + o, select_at(kind[c], m0[c], m1[c], m2[c], s0, s1, s2, o));
      }
    } else if (n_runs > 0) {
      for (size_t r = 0; r < n_runs; ++r) {
        const SelectRun& run = runs[r];
        const size_t o = i + run.first * 64;
        if (run.kind < SelectVector::kBlend) {
          const unsigned char* from = (run.kind == 0 ? s0 : run.kind == 1 ? s1 : s2) + o;
          if constexpr (Stream) {
            for (size_t c = 0; c < run.len; ++c) store_vector<true>(d + o + c * 64, _mm512_loadu_si512(from + c * 64));
          } else {
            copy_run(d + o, from, run.len * 64);
          }
          continue;
        }
        for (size_t c = 0; c < run.len; ++c) {
          const SelectVector& v = period[run.first + c];
          store_vector<Stream>(d + o + c * 64,
                               select_at(v.kind, v.mask[0], v.mask[1], v.mask[2], s0, s1, s2, o + c * 64));
        }
      }
    } else {
      for (size_t c = 0; c < len; ++c) {
        const SelectVector& v = period[c];
        const size_t o = i + c * 64;
        store_vector<Stream>(d + o, select_at(v.kind, v.mask[0], v.mask[1], v.mask[2], s0, s1, s2, o));
      }
    }
  }
  // The last, partial period: whole vectors, then a masked tail whose loads
  // are masked to the bytes that exist.
  for (size_t c = 0; i < bytes; i += 64, ++c) {
    const SelectVector& v = period[c];
    const size_t n = bytes - i;
    if (n >= 64) {
      store_vector<Stream>(d + i, select_at(v.kind, v.mask[0], v.mask[1], v.mask[2], s0, s1, s2, i));
    } else {
      const __mmask64 tail = (uint64_t{1} << n) - 1;
      const __m512i x = select_at(SelectVector::kGeneral, v.mask[0] & tail, v.mask[1] & tail,
                                  v.mask[2] & tail, s0, s1, s2, i);
      _mm512_mask_storeu_epi8(d + i, tail, x);
    }
  }
  // Streaming stores are weakly ordered: drain them before anyone else
  // (another thread, after the pool's join) reads the output.
  if constexpr (Stream) _mm_sfence();
}

}  // namespace

FVX_DEFINE_MOVE_2D(avx512, copy_run, zero_run, swap_run, merge_run, 64)

void bytes_select__avx512(void* dst, const unsigned char* const src[3], const SelectVector* period,
                          size_t period_len, size_t bytes, const unsigned char* prefetch, bool stream) {
  auto* d = static_cast<unsigned char*>(dst);
  // Streaming stores need 64-byte aligned vectors: dst aligned, whole vectors.
  stream = stream && reinterpret_cast<uintptr_t>(d) % 64 == 0;
  auto run = [&](auto p) {
    if (stream) {
      select_periods<decltype(p)::value, true>(d, src[0], src[1], src[2], period, period_len, bytes, prefetch);
    } else {
      select_periods<decltype(p)::value, false>(d, src[0], src[1], src[2], period, period_len, bytes, prefetch);
    }
  };
  switch (period_len) {
    case 1: return run(std::integral_constant<size_t, 1>{});
    case 2: return run(std::integral_constant<size_t, 2>{});
    case 3: return run(std::integral_constant<size_t, 3>{});
    case 4: return run(std::integral_constant<size_t, 4>{});
    case 5: return run(std::integral_constant<size_t, 5>{});
    case 6: return run(std::integral_constant<size_t, 6>{});
    case 7: return run(std::integral_constant<size_t, 7>{});
    case 8: return run(std::integral_constant<size_t, 8>{});
    case 9: return run(std::integral_constant<size_t, 9>{});
    case 10: return run(std::integral_constant<size_t, 10>{});
    case 12: return run(std::integral_constant<size_t, 12>{});
    default: return run(std::integral_constant<size_t, 0>{});
  }
}

}  // namespace fastvfx
