// The pooling reductions written once over a vector type, for every ISA.
//
// Each pool_ukernels_<isa>.cpp defines its vector traits V (in an anonymous
// namespace) and instantiates these templates with them, under that ISA's
// compile flags. The header holds templates only: a non-template inline
// function here would be compiled once per ISA and the linker could keep the
// AVX-512 copy for every caller.
//
// V provides, for element type V::T and vector type V::Vec of V::kLanes lanes:
//   load(p), load_tail(p, n, fill)   (lanes >= n hold fill), store(p, v),
//   store_tail(p, n, v), splat(t), add, max (either operand order; NaN lanes
//   are tracked separately), hsum, hmax;
// and a NaN tracker V::Nan: no_nan(), track_nan(nan, v), any_nan(nan),
// nan_where(nan, v) (v with the tracked lanes set to NaN).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

namespace fastvfx::pool_reduce {

template <class V>
typename V::T sum_row(const typename V::T* p, size_t n) {
  constexpr size_t L = V::kLanes;
  using Vec = typename V::Vec;
  // Four accumulators: independent add chains, and a summation tree that
  // keeps the float32 error of a 56x56 mean near 1e-7.
  Vec a0 = V::splat(0), a1 = V::splat(0), a2 = V::splat(0), a3 = V::splat(0);
  size_t j = 0;
  for (; j + 4 * L <= n; j += 4 * L) {
    a0 = V::add(a0, V::load(p + j));
    a1 = V::add(a1, V::load(p + j + L));
    a2 = V::add(a2, V::load(p + j + 2 * L));
    a3 = V::add(a3, V::load(p + j + 3 * L));
  }
  for (; j + L <= n; j += L) a0 = V::add(a0, V::load(p + j));
  if (j < n) a1 = V::add(a1, V::load_tail(p + j, n - j, 0));
  return V::hsum(V::add(V::add(a0, a1), V::add(a2, a3)));
}

template <class V>
typename V::T max_row(const typename V::T* p, size_t n) {
  using T = typename V::T;
  using Vec = typename V::Vec;
  constexpr size_t L = V::kLanes;
  constexpr T lowest = -std::numeric_limits<T>::infinity();
  Vec m0 = V::splat(lowest), m1 = V::splat(lowest);
  auto nan0 = V::no_nan(), nan1 = V::no_nan();
  size_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    const Vec v0 = V::load(p + j), v1 = V::load(p + j + L);
    m0 = V::max(m0, v0);
    m1 = V::max(m1, v1);
    nan0 = V::track_nan(nan0, v0);
    nan1 = V::track_nan(nan1, v1);
  }
  if (j + L <= n) {
    const Vec v = V::load(p + j);
    m0 = V::max(m0, v);
    nan0 = V::track_nan(nan0, v);
    j += L;
  }
  if (j < n) {
    const Vec v = V::load_tail(p + j, n - j, lowest);
    m1 = V::max(m1, v);
    nan1 = V::track_nan(nan1, v);
  }
  if (V::any_nan(nan0) || V::any_nan(nan1)) return std::numeric_limits<T>::quiet_NaN();
  return V::hmax(V::max(m0, m1));
}

template <class V>
void sum_rows(const typename V::T* x, size_t stride, size_t rows, size_t n, typename V::T* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = sum_row<V>(x + r * stride, n);
}

template <class V>
void max_rows(const typename V::T* x, size_t stride, size_t rows, size_t n, typename V::T* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = max_row<V>(x + r * stride, n);
}

// Column sums of NV vectors (the last one `tail` lanes wide when tail > 0),
// two rows per step so that even one vector has two independent add chains.
template <class V, int NV>
void sum_cols_block(const typename V::T* x, size_t stride, size_t rows, size_t tail,
                    typename V::T* out) {
  using Vec = typename V::Vec;
  constexpr size_t L = V::kLanes;
  auto load = [tail](const typename V::T* p, int k) {
    return (tail != 0 && k == NV - 1) ? V::load_tail(p + k * L, tail, 0) : V::load(p + k * L);
  };
  Vec a[NV], b[NV];
  for (int k = 0; k < NV; ++k) a[k] = b[k] = V::splat(0);
  size_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const typename V::T* p = x + r * stride;
    for (int k = 0; k < NV; ++k) {
      a[k] = V::add(a[k], load(p, k));
      b[k] = V::add(b[k], load(p + stride, k));
    }
  }
  if (r < rows) {
    for (int k = 0; k < NV; ++k) a[k] = V::add(a[k], load(x + r * stride, k));
  }
  for (int k = 0; k < NV; ++k) {
    const Vec s = V::add(a[k], b[k]);
    if (tail != 0 && k == NV - 1) {
      V::store_tail(out + k * L, tail, s);
    } else {
      V::store(out + k * L, s);
    }
  }
}

template <class V, int NV>
void max_cols_block(const typename V::T* x, size_t stride, size_t rows, size_t tail,
                    typename V::T* out) {
  using T = typename V::T;
  using Vec = typename V::Vec;
  constexpr size_t L = V::kLanes;
  constexpr T lowest = -std::numeric_limits<T>::infinity();
  Vec m[NV];
  decltype(V::no_nan()) nan[NV];
  for (int k = 0; k < NV; ++k) {
    m[k] = V::splat(lowest);
    nan[k] = V::no_nan();
  }
  for (size_t r = 0; r < rows; ++r) {
    const T* p = x + r * stride;
    for (int k = 0; k < NV; ++k) {
      const Vec v = (tail != 0 && k == NV - 1) ? V::load_tail(p + k * L, tail, lowest) : V::load(p + k * L);
      m[k] = V::max(m[k], v);
      nan[k] = V::track_nan(nan[k], v);
    }
  }
  for (int k = 0; k < NV; ++k) {
    const Vec s = V::nan_where(nan[k], m[k]);
    if (tail != 0 && k == NV - 1) {
      V::store_tail(out + k * L, tail, s);
    } else {
      V::store(out + k * L, s);
    }
  }
}

template <class V>
struct SumColsBlock {
  template <int NV>
  static void run(const typename V::T* x, size_t stride, size_t rows, size_t tail, typename V::T* out) {
    sum_cols_block<V, NV>(x, stride, rows, tail, out);
  }
};

template <class V>
struct MaxColsBlock {
  template <int NV>
  static void run(const typename V::T* x, size_t stride, size_t rows, size_t tail, typename V::T* out) {
    max_cols_block<V, NV>(x, stride, rows, tail, out);
  }
};

// Blocks of four vectors, then single vectors, then one partial vector.
template <class V, class Block>
void cols(const typename V::T* x, size_t stride, size_t rows, size_t n, typename V::T* out) {
  constexpr size_t L = V::kLanes;
  size_t j = 0;
  for (; j + 4 * L <= n; j += 4 * L) Block::template run<4>(x + j, stride, rows, 0, out + j);
  for (; j + L <= n; j += L) Block::template run<1>(x + j, stride, rows, 0, out + j);
  if (j < n) Block::template run<1>(x + j, stride, rows, n - j, out + j);
}

template <class V>
void sum_cols(const typename V::T* x, size_t stride, size_t rows, size_t n, typename V::T* out) {
  cols<V, SumColsBlock<V>>(x, stride, rows, n, out);
}

template <class V>
void max_cols(const typename V::T* x, size_t stride, size_t rows, size_t n, typename V::T* out) {
  cols<V, MaxColsBlock<V>>(x, stride, rows, n, out);
}

// Traits for one-lane "vectors" (plain scalars): the portable variant, and
// the doubles of 32-bit NEON (which has no double vectors). Internal linkage:
// each variant's file gets its own copy, compiled with its own flags.
namespace {

template <class E>
struct ScalarLanes {
  using T = E;
  using Vec = E;
  using Nan = bool;
  static constexpr size_t kLanes = 1;

  static Vec splat(T t) { return t; }
  static Vec load(const T* p) { return *p; }
  static Vec load_tail(const T* p, size_t n, T fill) { return n > 0 ? *p : fill; }
  static void store(T* p, Vec v) { *p = v; }
  static void store_tail(T* p, size_t n, Vec v) {
    if (n > 0) *p = v;
  }
  static Vec add(Vec a, Vec b) { return a + b; }
  static Vec max(Vec a, Vec b) { return a > b ? a : b; }
  static T hsum(Vec v) { return v; }
  static T hmax(Vec v) { return v; }
  static Nan no_nan() { return false; }
  static Nan track_nan(Nan nan, Vec v) { return nan || std::isnan(v); }
  static bool any_nan(Nan nan) { return nan; }
  static Vec nan_where(Nan nan, Vec v) { return nan ? std::numeric_limits<T>::quiet_NaN() : v; }
};

}  // namespace

}  // namespace fastvfx::pool_reduce

// Defines the four microkernels of one element type for one ISA, named as
// pool_ukernels.h declares them, from the traits V.
#define FVX_DEFINE_POOL_UKERNELS(V, prefix, suffix)                                                \
  void prefix##_sum_rows__##suffix(const V::T* x, size_t stride, size_t rows, size_t n, V::T* out) { \
    pool_reduce::sum_rows<V>(x, stride, rows, n, out);                                             \
  }                                                                                                \
  void prefix##_max_rows__##suffix(const V::T* x, size_t stride, size_t rows, size_t n, V::T* out) { \
    pool_reduce::max_rows<V>(x, stride, rows, n, out);                                             \
  }                                                                                                \
  void prefix##_sum_cols__##suffix(const V::T* x, size_t stride, size_t rows, size_t n, V::T* out) { \
    pool_reduce::sum_cols<V>(x, stride, rows, n, out);                                             \
  }                                                                                                \
  void prefix##_max_cols__##suffix(const V::T* x, size_t stride, size_t rows, size_t n, V::T* out) { \
    pool_reduce::max_cols<V>(x, stride, rows, n, out);                                             \
  }
