// The GEMM microkernel of the scaled conv, written once and compiled once per
// ISA (gemm_<isa>.cpp defines FVX_GEMM_SUFFIX, FVX_GEMM_VEC_BYTES, the ISA's
// register width, and FVX_GEMM_MR, the rows kept in registers).
//
// The block is mr rows x two vectors: mr * 2 accumulators stay in registers
// for the whole k loop, each step loads two vectors of the packed b panel and
// broadcasts mr values of the packed a panel (one FMA per accumulator). mr is
// chosen per ISA so the accumulators, two b vectors and a broadcast fit the
// register file: 16 registers (SSE, AVX2) or 32 (AVX-512, AdvSIMD).
#include <cstring>

#include "gemm_ukernels.h"

#ifndef FVX_GEMM_VEC_BYTES
#error "gemm_<isa>.cpp defines FVX_GEMM_VEC_BYTES and FVX_GEMM_MR before including this file"
#endif

#define FVX_GEMM_CONCAT_(a, b) a##b
#define FVX_GEMM_CONCAT(a, b) FVX_GEMM_CONCAT_(a, b)

namespace fastvfx::tfc {
namespace FVX_GEMM_SUFFIX {
namespace {

typedef float Vec __attribute__((vector_size(FVX_GEMM_VEC_BYTES), aligned(4)));
constexpr int64_t kVecLanes = FVX_GEMM_VEC_BYTES / sizeof(float);
constexpr int64_t kMr = FVX_GEMM_MR;
constexpr int64_t kNr = 2 * kVecLanes;

inline __attribute__((always_inline)) Vec load(const float* p) { return *reinterpret_cast<const Vec*>(p); }
inline __attribute__((always_inline)) void store(float* p, Vec v) { *reinterpret_cast<Vec*>(p) = v; }

void run(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t m, int64_t n,
         bool accumulate) {
  Vec acc[kMr][2];
#pragma GCC unroll 16
  for (int64_t i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = Vec{};
  for (int64_t k = 0; k < kc; ++k) {
    const Vec b0 = load(b + k * kNr);
    const Vec b1 = load(b + k * kNr + kVecLanes);
    const float* ak = a + k * kMr;
#pragma GCC unroll 16
    for (int64_t i = 0; i < kMr; ++i) {
      acc[i][0] += ak[i] * b0;
      acc[i][1] += ak[i] * b1;
    }
  }
  if (m == kMr && n == kNr) {
#pragma GCC unroll 16
    for (int64_t i = 0; i < kMr; ++i) {
      float* ci = c + i * ldc;
      if (accumulate) {
        store(ci, load(ci) + acc[i][0]);
        store(ci + kVecLanes, load(ci + kVecLanes) + acc[i][1]);
      } else {
        store(ci, acc[i][0]);
        store(ci + kVecLanes, acc[i][1]);
      }
    }
    return;
  }
  // A partial block (the right or bottom edge): through a buffer.
  float tile[kMr * kNr];
  for (int64_t i = 0; i < kMr; ++i) {
    store(tile + i * kNr, acc[i][0]);
    store(tile + i * kNr + kVecLanes, acc[i][1]);
  }
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    const float* ti = tile + i * kNr;
    if (accumulate) {
      for (int64_t j = 0; j < n; ++j) ci[j] += ti[j];
    } else {
      std::memcpy(ci, ti, static_cast<size_t>(n) * sizeof(float));
    }
  }
}

}  // namespace
}  // namespace FVX_GEMM_SUFFIX

extern const GemmKernel FVX_GEMM_CONCAT(gemm__, FVX_GEMM_SUFFIX);
const GemmKernel FVX_GEMM_CONCAT(gemm__, FVX_GEMM_SUFFIX) = {FVX_GEMM_SUFFIX::kMr, FVX_GEMM_SUFFIX::kNr,
                                                             FVX_GEMM_SUFFIX::run};

}  // namespace fastvfx::tfc
