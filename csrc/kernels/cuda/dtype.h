// Element types of the CUDA kernels, usable on the host (emulator tests) and
// the device alike: fp16 and bf16 are 16-bit storage types converted to float
// for arithmetic, fp32 accumulates in float and fp64 in double.
#pragma once

#include <cstdint>
#include <cstring>

#include "fastvfx/cuda.h"
#include "grid.h"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

namespace fastvfx::cuda {

struct half_t {
  uint16_t bits;
};
struct bf16_t {
  uint16_t bits;
};

FVX_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
FVX_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

FVX_HD float to_float(half_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h.bits));
#else
  const uint32_t sign = uint32_t(h.bits & 0x8000u) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1f, man = h.bits & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));  // inf / nan
  if (exp == 0) {
    if (man == 0) return bits_float(sign);
    // Subnormal: normalise.
    exp = 113;
    while (!(man & 0x400u)) {
      man <<= 1;
      --exp;
    }
    return bits_float(sign | (exp << 23) | ((man & 0x3ffu) << 13));
  }
  return bits_float(sign | ((exp + 112) << 23) | (man << 13));
#endif
}

// Round to nearest even, as __float2half_rn.
FVX_HD half_t to_half(float f) {
#if defined(__CUDA_ARCH__)
  return half_t{__half_as_ushort(__float2half_rn(f))};
#else
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t au = u & 0x7fffffffu;
  if (au >= 0x7f800000u) return half_t{static_cast<uint16_t>(sign | (au > 0x7f800000u ? 0x7e00u : 0x7c00u))};
  if (au >= 0x477ff000u) return half_t{static_cast<uint16_t>(sign | 0x7c00u)};  // rounds to inf
  if (au < 0x38800000u) {
    // Subnormal half (or zero): the value in units of 2^-24, rounded to even.
    if (au < 0x33000000u) return half_t{sign};
    const uint32_t e = au >> 23, m = (au & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // m * 2^(e-150) / 2^-24 = m >> (126 - e)
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return half_t{static_cast<uint16_t>(sign | r)};
  }
  uint32_t r = ((au >> 13) - (112u << 10));
  const uint32_t rem = au & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return half_t{static_cast<uint16_t>(sign | r)};
#endif
}

FVX_HD float to_float(bf16_t b) { return bits_float(uint32_t(b.bits) << 16); }
FVX_HD bf16_t to_bf16(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16_t{static_cast<uint16_t>((u >> 16) | 0x40u)};  // quiet nan
  return bf16_t{static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

// acc_t<T>: the type a kernel computes in; load / store convert.
template <class T> struct Acc { using type = float; };
template <> struct Acc<double> { using type = double; };
template <class T> using acc_t = typename Acc<T>::type;

FVX_HD float load(float v) { return v; }
FVX_HD double load(double v) { return v; }
FVX_HD float load(half_t v) { return to_float(v); }
FVX_HD float load(bf16_t v) { return to_float(v); }

template <class T> FVX_HD T store(acc_t<T> v);
template <> FVX_HD float store<float>(float v) { return v; }
template <> FVX_HD double store<double>(double v) { return v; }
template <> FVX_HD half_t store<half_t>(float v) { return to_half(v); }
template <> FVX_HD bf16_t store<bf16_t>(float v) { return to_bf16(v); }

// 16 bytes moved as one 128-bit access when aligned (ld/st.v4 on the device).
struct alignas(16) Bytes16 {
  uint32_t w[4];
};
// `n` elements of T in one aligned access.
template <class T, int N> struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Calls fn(T{}) with the storage type of `dtype`.
template <class Fn> void dispatch_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kFloat32: fn(float{}); break;
    case DType::kFloat64: fn(double{}); break;
    case DType::kFloat16: fn(half_t{}); break;
    case DType::kBFloat16: fn(bf16_t{}); break;
  }
}

inline bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

}  // namespace fastvfx::cuda
