// The GEMM microkernel of the scaled conv, written once and compiled once per
// ISA (gemm_<isa>.cpp defines FVX_GEMM_SUFFIX, FVX_GEMM_VEC_BYTES, the ISA's
// register width, and FVX_GEMM_MR, the rows kept in registers).
//
// The block is mr rows x two vectors: mr * 2 accumulators stay in registers
// for the whole k loop, each step loads two vectors of the packed b panel and
// broadcasts mr values of the packed a panel (one FMA per accumulator). mr is
// chosen per ISA so the accumulators, two b vectors and a broadcast fit the
// register file: 16 registers (SSE, AVX2) or 32 (AVX-512, AdvSIMD).
#include <algorithm>
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

// The lanes' sum as a tree: halves added as vectors down to four lanes (the
// compiler's half extracts), then those four. A left-to-right sum of 16
// lanes was one long chain of extracts and dependent adds per output
// (dot_rows at 256 channels, weights in cache, one thread, AVX-512: 4
// vectors 11.0 -> 10.4 us a call, 8 vectors 21.8 -> 19.4).
typedef float Vec4 __attribute__((vector_size(16), aligned(4)));
template <int L>
inline __attribute__((always_inline)) Vec4 fold_to_4(const float* lanes) {
  if constexpr (L == 4) {
    Vec4 r;
    std::memcpy(&r, lanes, sizeof(r));
    return r;
  } else {
    typedef float Half __attribute__((vector_size(L * 2), aligned(4)));
    Half lo, hi;
    std::memcpy(&lo, lanes, sizeof(lo));
    std::memcpy(&hi, lanes + L / 2, sizeof(hi));
    const Half sum = lo + hi;
    return fold_to_4<L / 2>(reinterpret_cast<const float*>(&sum));
  }
}
inline __attribute__((always_inline)) float hsum(Vec v) {
  if constexpr (kVecLanes < 4) {
    float sum = 0.f;
    for (int64_t l = 0; l < kVecLanes; ++l) sum += v[l];
    return sum;
  } else {
    const Vec4 q = fold_to_4<kVecLanes>(reinterpret_cast<const float*>(&v));
    return (q[0] + q[2]) + (q[1] + q[3]);
  }
}

// A block of R rows of w by S vectors: R * S accumulators, R + S loads per
// step. Rows and vectors past the ends repeat the last one (computed, not
// stored), so the loop has no branches.
template <int R, int S>
void dot_block(int64_t k, const float* w, int64_t rows, const float* v, int64_t n, float* out, int64_t ldo) {
  for (int64_t s0 = 0; s0 < n; s0 += S) {
    const float* vs[S];
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) vs[s] = v + std::min<int64_t>(s0 + s, n - 1) * k;
    for (int64_t r0 = 0; r0 < rows; r0 += R) {
      const float* ws[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) ws[r] = w + std::min<int64_t>(r0 + r, rows - 1) * k;
      Vec acc[R][S];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
        for (int s = 0; s < S; ++s) acc[r][s] = Vec{};
      }
      int64_t j = 0;
      for (; j + kVecLanes <= k; j += kVecLanes) {
        Vec vv[S];
#pragma GCC unroll 8
        for (int s = 0; s < S; ++s) vv[s] = load(vs[s] + j);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const Vec wv = load(ws[r] + j);
#pragma GCC unroll 8
          for (int s = 0; s < S; ++s) acc[r][s] += wv * vv[s];
        }
      }
      for (int r = 0; r < R && r0 + r < rows; ++r) {
        for (int s = 0; s < S && s0 + s < n; ++s) {
          float sum = hsum(acc[r][s]);
          for (int64_t t = j; t < k; ++t) sum += ws[r][t] * vs[s][t];
          out[(s0 + s) * ldo + r0 + r] = sum;
        }
      }
    }
  }
}

// 32 vector registers (AVX-512, AdvSIMD; their kMr is 8): dot_rows keeps 16
// accumulators, twice the rows a block for 3 to 8 vectors. AVX-512, 256
// channels, weights in cache: 4 vectors 10.5 -> 6.9 us a call, 8 vectors
// 19.6 -> 18.4 (with 16 registers the accumulators would spill).
constexpr bool kWideRegisters = kMr >= 8;

// out[s * ldo + r] = w[r, :] · v[s, :] (row-major w: rows x k, v: n x k).
// The gate's GEMMs have as many columns as samples (1 to a few), too few for
// the packed microkernel: each row of w streams once per S vectors (a
// 512-channel gate at batch 8, one thread, AVX2: 0.18 ms with S = 8, 0.20 ms
// with S = 4), and R rows at a time keep enough independent accumulators
// for few vectors.
void dot_rows(int64_t k, const float* w, int64_t rows, const float* v, int64_t n, float* out, int64_t ldo) {
  if (rows <= 0 || n <= 0) return;
  if (n == 1) {
    dot_block<8, 1>(k, w, rows, v, n, out, ldo);
  } else if (n == 2) {
    dot_block<4, 2>(k, w, rows, v, n, out, ldo);
  } else if (n <= 4) {
    dot_block<kWideRegisters ? 4 : 2, 4>(k, w, rows, v, n, out, ldo);
  } else {
    dot_block<kWideRegisters ? 2 : 1, 8>(k, w, rows, v, n, out, ldo);
  }
}

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
                                                             FVX_GEMM_SUFFIX::run, FVX_GEMM_SUFFIX::dot_rows};

}  // namespace fastvfx::tfc
