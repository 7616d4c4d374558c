// Reduction microkernels of the TFC gate's global pooling.
//
// A 2-D block of `rows` runs of `n` elements, consecutive runs `stride`
// elements apart, is reduced along one axis:
//   *_rows:  out[r] = reduce(x[r * stride + j] for j < n)     (NCHW: a run is one channel)
//   *_cols:  out[j] = reduce(x[r * stride + j] for r < rows)  (NHWC: a run is one pixel)
// with reduce = sum or max; n >= 1 and rows >= 1. max follows torch: a NaN in
// the reduced values gives NaN.
//
// One variant per ISA; pool_ukernels.inc lists them, and the list feeds the
// dispatch table, the C++ tests and the benchmarks alike.
#pragma once

#include <cstddef>

#include "fastvfx/isa.h"

namespace fastvfx {

template <class T>
struct PoolUkernels {
  using Fn = void (*)(const T* x, size_t stride, size_t rows, size_t n, T* out);
  Fn sum_rows;
  Fn max_rows;
  Fn sum_cols;
  Fn max_cols;
};

#define FVX_POOL_UKERNEL_DECLARE(T, prefix, suffix)                                           \
  void prefix##_sum_rows__##suffix(const T* x, size_t stride, size_t rows, size_t n, T* out); \
  void prefix##_max_rows__##suffix(const T* x, size_t stride, size_t rows, size_t n, T* out); \
  void prefix##_sum_cols__##suffix(const T* x, size_t stride, size_t rows, size_t n, T* out); \
  void prefix##_max_cols__##suffix(const T* x, size_t stride, size_t rows, size_t n, T* out);
#define FVX_POOL_UKERNEL(isa_enum, suffix)         \
  FVX_POOL_UKERNEL_DECLARE(float, f32, suffix)     \
  FVX_POOL_UKERNEL_DECLARE(double, f64, suffix)
#include "pool_ukernels.inc"
#undef FVX_POOL_UKERNEL
#undef FVX_POOL_UKERNEL_DECLARE

// The variant for an ISA; falls back to scalar for an ISA not compiled in.
const PoolUkernels<float>& pool_ukernels_f32(Isa isa);
const PoolUkernels<double>& pool_ukernels_f64(Isa isa);

// The same, chosen by element type (for templated drivers and tests).
template <class T>
const PoolUkernels<T>& pool_ukernels(Isa isa);
template <>
inline const PoolUkernels<float>& pool_ukernels<float>(Isa isa) { return pool_ukernels_f32(isa); }
template <>
inline const PoolUkernels<double>& pool_ukernels<double>(Isa isa) { return pool_ukernels_f64(isa); }

}  // namespace fastvfx
