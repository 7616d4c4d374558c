// Portable variant: the shared reductions over one-lane "vectors" (plain
// scalars), with four independent accumulators per row.
#include <cmath>

#include "pool_reduce.h"
#include "pool_ukernels.h"

namespace fastvfx {
namespace {

template <class E>
struct Scalar {
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

using F32 = Scalar<float>;
using F64 = Scalar<double>;

}  // namespace

FVX_DEFINE_POOL_UKERNELS(F32, f32, scalar)
FVX_DEFINE_POOL_UKERNELS(F64, f64, scalar)

}  // namespace fastvfx
