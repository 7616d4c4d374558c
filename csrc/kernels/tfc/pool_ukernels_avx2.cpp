// AVX2 variant: 8 floats / 4 doubles per vector; tails through maskload /
// maskstore, NaNs tracked as an OR of unordered-compare masks.
#include <immintrin.h>

#include <cstdint>

#include "pool_reduce.h"
#include "pool_ukernels.h"

namespace fastvfx {
namespace {

struct F32 {
  using T = float;
  using Vec = __m256;
  using Nan = __m256;
  static constexpr size_t kLanes = 8;

  static __m256i tail_mask(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Vec splat(T t) { return _mm256_set1_ps(t); }
  static Vec load(const T* p) { return _mm256_loadu_ps(p); }
  static Vec load_tail(const T* p, size_t n, T fill) {
    const __m256i m = tail_mask(n);
    return _mm256_blendv_ps(splat(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store(T* p, Vec v) { _mm256_storeu_ps(p, v); }
  static void store_tail(T* p, size_t n, Vec v) { _mm256_maskstore_ps(p, tail_mask(n), v); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static T hsum(Vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static T hmax(Vec v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static Nan no_nan() { return _mm256_setzero_ps(); }
  static Nan track_nan(Nan nan, Vec v) { return _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q)); }
  static bool any_nan(Nan nan) { return _mm256_movemask_ps(nan) != 0; }
  static Vec nan_where(Nan nan, Vec v) { return _mm256_blendv_ps(v, splat(__builtin_nanf("")), nan); }
};

struct F64 {
  using T = double;
  using Vec = __m256d;
  using Nan = __m256d;
  static constexpr size_t kLanes = 4;

  static __m256i tail_mask(size_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<int64_t>(n)), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static Vec splat(T t) { return _mm256_set1_pd(t); }
  static Vec load(const T* p) { return _mm256_loadu_pd(p); }
  static Vec load_tail(const T* p, size_t n, T fill) {
    const __m256i m = tail_mask(n);
    return _mm256_blendv_pd(splat(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m));
  }
  static void store(T* p, Vec v) { _mm256_storeu_pd(p, v); }
  static void store_tail(T* p, size_t n, Vec v) { _mm256_maskstore_pd(p, tail_mask(n), v); }
  static Vec add(Vec a, Vec b) { return _mm256_add_pd(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_pd(a, b); }
  static T hsum(Vec v) {
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static T hmax(Vec v) {
    const __m128d s = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static Nan no_nan() { return _mm256_setzero_pd(); }
  static Nan track_nan(Nan nan, Vec v) { return _mm256_or_pd(nan, _mm256_cmp_pd(v, v, _CMP_UNORD_Q)); }
  static bool any_nan(Nan nan) { return _mm256_movemask_pd(nan) != 0; }
  static Vec nan_where(Nan nan, Vec v) { return _mm256_blendv_pd(v, splat(__builtin_nan("")), nan); }
};

}  // namespace

FVX_DEFINE_POOL_UKERNELS(F32, f32, avx2)
FVX_DEFINE_POOL_UKERNELS(F64, f64, avx2)

}  // namespace fastvfx
