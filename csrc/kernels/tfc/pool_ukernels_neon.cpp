// NEON variant: 4 floats / 2 doubles per vector; tails go through a small
// buffer, NaNs are tracked as an OR of unordered masks. 32-bit ARM NEON has
// no across-vector reductions (pairwise ones instead) and no double vectors
// (doubles take the portable reduction there).
#include <arm_neon.h>

#include <cstdint>
#include <cstring>
#include <limits>

#include "pool_reduce.h"
#include "pool_ukernels.h"

namespace fastvfx {
namespace {

struct F32 {
  using T = float;
  using Vec = float32x4_t;
  using Nan = uint32x4_t;
  static constexpr size_t kLanes = 4;

  static Vec splat(T t) { return vdupq_n_f32(t); }
  static Vec load(const T* p) { return vld1q_f32(p); }
  static Vec load_tail(const T* p, size_t n, T fill) {
    T buf[kLanes] = {fill, fill, fill, fill};
    std::memcpy(buf, p, n * sizeof(T));
    return vld1q_f32(buf);
  }
  static void store(T* p, Vec v) { vst1q_f32(p, v); }
  static void store_tail(T* p, size_t n, Vec v) {
    T buf[kLanes];
    vst1q_f32(buf, v);
    std::memcpy(p, buf, n * sizeof(T));
  }
  static Vec add(Vec a, Vec b) { return vaddq_f32(a, b); }
  static Vec max(Vec a, Vec b) { return vmaxq_f32(a, b); }
#if defined(__aarch64__)
  static T hsum(Vec v) { return vaddvq_f32(v); }
  static T hmax(Vec v) { return vmaxvq_f32(v); }
#else
  static T hsum(Vec v) {
    const float32x2_t pair = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(vpadd_f32(pair, pair), 0);
  }
  static T hmax(Vec v) {
    const float32x2_t pair = vmax_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(vpmax_f32(pair, pair), 0);
  }
#endif
  static Nan no_nan() { return vdupq_n_u32(0); }
  static Nan track_nan(Nan nan, Vec v) { return vorrq_u32(nan, vmvnq_u32(vceqq_f32(v, v))); }
  static bool any_nan(Nan nan) {
    const uint32x2_t pair = vorr_u32(vget_low_u32(nan), vget_high_u32(nan));
    return (vget_lane_u32(pair, 0) | vget_lane_u32(pair, 1)) != 0;
  }
  static Vec nan_where(Nan nan, Vec v) {
    return vbslq_f32(nan, splat(std::numeric_limits<T>::quiet_NaN()), v);
  }
};

#if defined(__aarch64__)
struct F64 {
  using T = double;
  using Vec = float64x2_t;
  using Nan = uint64x2_t;
  static constexpr size_t kLanes = 2;

  static Vec splat(T t) { return vdupq_n_f64(t); }
  static Vec load(const T* p) { return vld1q_f64(p); }
  static Vec load_tail(const T* p, size_t n, T fill) {
    T buf[kLanes] = {fill, fill};
    std::memcpy(buf, p, n * sizeof(T));
    return vld1q_f64(buf);
  }
  static void store(T* p, Vec v) { vst1q_f64(p, v); }
  static void store_tail(T* p, size_t n, Vec v) {
    T buf[kLanes];
    vst1q_f64(buf, v);
    std::memcpy(p, buf, n * sizeof(T));
  }
  static Vec add(Vec a, Vec b) { return vaddq_f64(a, b); }
  static Vec max(Vec a, Vec b) { return vmaxq_f64(a, b); }
  static T hsum(Vec v) { return vaddvq_f64(v); }
  static T hmax(Vec v) { return vmaxvq_f64(v); }
  static Nan no_nan() { return vdupq_n_u64(0); }
  static Nan track_nan(Nan nan, Vec v) {
    return vorrq_u64(nan, veorq_u64(vceqq_f64(v, v), vdupq_n_u64(~uint64_t{0})));
  }
  static bool any_nan(Nan nan) { return (vgetq_lane_u64(nan, 0) | vgetq_lane_u64(nan, 1)) != 0; }
  static Vec nan_where(Nan nan, Vec v) {
    return vbslq_f64(nan, splat(std::numeric_limits<T>::quiet_NaN()), v);
  }
};
#else
using F64 = pool_reduce::ScalarLanes<double>;
#endif

}  // namespace

FVX_DEFINE_POOL_UKERNELS(F32, f32, neon)
FVX_DEFINE_POOL_UKERNELS(F64, f64, neon)

}  // namespace fastvfx
