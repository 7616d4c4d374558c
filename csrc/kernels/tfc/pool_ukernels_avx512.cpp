// AVX-512 variant: 16 floats / 8 doubles per vector; tails are masked loads
// and stores, NaNs tracked in mask registers.
//
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() (a self-initialised
// variable) as the merge operand of unmasked operations, which -Wall reports
// as maybe-uninitialized wherever they are inlined: a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "pool_reduce.h"
#include "pool_ukernels.h"

namespace fastvfx {
namespace {

struct F32 {
  using T = float;
  using Vec = __m512;
  using Nan = __mmask16;
  static constexpr size_t kLanes = 16;

  static __mmask16 tail_mask(size_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static Vec splat(T t) { return _mm512_set1_ps(t); }
  static Vec load(const T* p) { return _mm512_loadu_ps(p); }
  static Vec load_tail(const T* p, size_t n, T fill) { return _mm512_mask_loadu_ps(splat(fill), tail_mask(n), p); }
  static void store(T* p, Vec v) { _mm512_storeu_ps(p, v); }
  static void store_tail(T* p, size_t n, Vec v) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static T hsum(Vec v) { return _mm512_reduce_add_ps(v); }
  static T hmax(Vec v) { return _mm512_reduce_max_ps(v); }
  static Nan no_nan() { return 0; }
  static Nan track_nan(Nan nan, Vec v) { return nan | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q); }
  static bool any_nan(Nan nan) { return nan != 0; }
  static Vec nan_where(Nan nan, Vec v) { return _mm512_mask_blend_ps(nan, v, splat(__builtin_nanf(""))); }
};

struct F64 {
  using T = double;
  using Vec = __m512d;
  using Nan = __mmask8;
  static constexpr size_t kLanes = 8;

  static __mmask8 tail_mask(size_t n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static Vec splat(T t) { return _mm512_set1_pd(t); }
  static Vec load(const T* p) { return _mm512_loadu_pd(p); }
  static Vec load_tail(const T* p, size_t n, T fill) { return _mm512_mask_loadu_pd(splat(fill), tail_mask(n), p); }
  static void store(T* p, Vec v) { _mm512_storeu_pd(p, v); }
  static void store_tail(T* p, size_t n, Vec v) { _mm512_mask_storeu_pd(p, tail_mask(n), v); }
  static Vec add(Vec a, Vec b) { return _mm512_add_pd(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_pd(a, b); }
  static T hsum(Vec v) { return _mm512_reduce_add_pd(v); }
  static T hmax(Vec v) { return _mm512_reduce_max_pd(v); }
  static Nan no_nan() { return 0; }
  static Nan track_nan(Nan nan, Vec v) { return nan | _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q); }
  static bool any_nan(Nan nan) { return nan != 0; }
  static Vec nan_where(Nan nan, Vec v) { return _mm512_mask_blend_pd(nan, v, splat(__builtin_nan(""))); }
};

}  // namespace

FVX_DEFINE_POOL_UKERNELS(F32, f32, avx512)
FVX_DEFINE_POOL_UKERNELS(F64, f64, avx512)

}  // namespace fastvfx
