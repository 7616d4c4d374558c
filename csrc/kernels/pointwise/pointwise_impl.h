// The pointwise microkernels (see pointwise_ukernels.h), written once
// and compiled once per ISA: pointwise_<isa>.cpp defines
// FVX_POINTWISE_SUFFIX, FVX_POINTWISE_VEC_BYTES (the ISA's register width)
// and FVX_POINTWISE_MR (rows per GEMM tile) and includes this file under that
// ISA's flags.
//
// GEMM tile: MR rows x two vectors of columns. The 2 * MR accumulators stay in
// registers over the whole k loop; each k loads two vectors of the packed
// weight panel and broadcasts one input value per row (one FMA per
// accumulator). The input rows are read in place (channels-last pixels, each
// row through its own pointer), so nothing is packed per call. The bias
// starts the accumulators; the activation and the residual are applied to
// them before the only store. A narrow right edge (n <= one vector) takes a
// one-vector tile.
//
// Depthwise row: a vector of channels per accumulator (every lane busy at any
// plane size), the k x k weight vectors of that channel block in registers,
// four output pixels at a time.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "fastvfx/inverted_residual.h"
#include "pointwise_ukernels.h"

#ifndef FVX_POINTWISE_VEC_BYTES
#error "pointwise_<isa>.cpp defines FVX_POINTWISE_VEC_BYTES and FVX_POINTWISE_MR before including this file"
#endif

#define FVX_POINTWISE_CONCAT_(a, b) a##b
#define FVX_POINTWISE_CONCAT(a, b) FVX_POINTWISE_CONCAT_(a, b)

namespace fastvfx::pointwise {
namespace FVX_POINTWISE_SUFFIX {
namespace {

typedef float Vec __attribute__((vector_size(FVX_POINTWISE_VEC_BYTES), aligned(4)));
typedef int32_t IVec __attribute__((vector_size(FVX_POINTWISE_VEC_BYTES), aligned(4)));
constexpr int64_t kLanes = FVX_POINTWISE_VEC_BYTES / sizeof(float);
constexpr int kMr = FVX_POINTWISE_MR;
// A one-row tile (a GEMV: a classifier on a pooled vector) reads its
// weight panel once, usually from DRAM in a model's step (the step's other
// work and whatever ran between steps evicted it): every other k it asks for
// the panel 16 KB ahead, which the hardware prefetcher alone does not reach
// in time. A 1280 -> 1000 classifier evicted to DRAM, one thread: 237 us
// against 272 (2048 -> 400: 165 against 203); 59 against 56 from L3 (a
// diagnostic A/B of the two builds). python bench/plan_overhead.py: the
// bench model's 1280 -> 400 from memory at 0.72 of a clone's bandwidth.
constexpr int64_t kGemvPrefetchFloats = 4096;
// A weight panel's first row tile reads it from L3 or DRAM in a model (each
// layer's weights are used once a step or clip, and the previous layers'
// evicted them from L2); the hardware prefetcher stops at every 4 KiB page
// (32 rows of a 32-column panel), so that tile asks for the rows this far
// ahead (8 KiB), its other tiles find them in L2. SqueezeTime's clip, one
// thread, on a Xeon with AVX-512 (the layers' weights from L3): 82-84 ->
// 74-76 ms; 32 and 128 rows were within the noise of 64.
constexpr int64_t kPanelPrefetchRows = 64;
static_assert(kMr <= kMaxMr, "tile rows");
#ifndef FVX_POINTWISE_MR_T
#define FVX_POINTWISE_MR_T FVX_POINTWISE_MR
#endif
constexpr int kMrT = FVX_POINTWISE_MR_T;
#ifndef FVX_POINTWISE_MR_DIRECT
#define FVX_POINTWISE_MR_DIRECT FVX_POINTWISE_MR
#endif
constexpr int kMrDirect = FVX_POINTWISE_MR_DIRECT;
// gemm_s's tile: FVX_POINTWISE_MR_S rows x FVX_POINTWISE_NV_S vectors.
#ifndef FVX_POINTWISE_MR_S
#define FVX_POINTWISE_MR_S FVX_POINTWISE_MR
#endif
#ifndef FVX_POINTWISE_NV_S
#define FVX_POINTWISE_NV_S 2
#endif
constexpr int kMrS = FVX_POINTWISE_MR_S;
constexpr int kNvS = FVX_POINTWISE_NV_S;
static_assert(kMrS <= kMaxMr, "tile rows");
static_assert(kLanes <= kPointwisePanel && kPointwisePanel % kLanes == 0, "a panel holds whole vectors");
static_assert(kPointwisePanel % (2 * kLanes) == 0, "a tile's columns divide the panel");

// always_inline: where a vector is wider than the target's registers would
// otherwise go through memory at a call.
#define FVX_PW_INLINE inline __attribute__((always_inline))

FVX_PW_INLINE Vec load(const float* p) { return *reinterpret_cast<const Vec*>(p); }
FVX_PW_INLINE void store(float* p, Vec v) { *reinterpret_cast<Vec*>(p) = v; }
FVX_PW_INLINE Vec splat(float v) { return Vec{} + v; }

// e^x for x <= 0, lane-wise: the Cephes polynomial of the depthwise kernels'
// scalar exp_nonpositive (dwconv3d_impl.h), in vector arithmetic.
FVX_PW_INLINE Vec exp_nonpositive(Vec x) {
  const Vec lo = splat(-87.33654f);
  x = x < lo ? lo : x;
  const IVec n = -__builtin_convertvector(splat(0.5f) - x * 1.44269504088896341f, IVec);
  const Vec nf = __builtin_convertvector(n, Vec);
  Vec r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  Vec p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const IVec bits = (n + 127) << 23;
  return p * reinterpret_cast<Vec>(bits);  // the bits as floats (same-size vectors)
}

template <Activation A>
FVX_PW_INLINE Vec activate(Vec v) {
  const Vec zero = Vec{};
  if constexpr (A == Activation::kReLU) {
    return v > zero ? v : zero;
  } else if constexpr (A == Activation::kReLU6) {
    const Vec six = splat(6.f);
    v = v > zero ? v : zero;
    return v < six ? v : six;
  } else if constexpr (A == Activation::kHardswish) {
    const Vec six = splat(6.f);
    Vec g = v + 3.f;
    g = g > zero ? g : zero;
    g = g < six ? g : six;
    return v * g / 6.f;
  } else if constexpr (A == Activation::kSwish) {
    // x * sigmoid(x) with e = e^-|x| in (0, 1]: never overflows.
    const Vec e = exp_nonpositive(v < zero ? v : -v);
    const Vec num = v >= zero ? v : v * e;
    return num / (1.f + e);
  } else if constexpr (A == Activation::kSigmoid) {
    const Vec e = exp_nonpositive(v < zero ? v : -v);
    const Vec num = v >= zero ? splat(1.f) : e;
    return num / (1.f + e);
  } else {
    return v;
  }
}

// How a tile joins its residual (pointwise_ukernels.h), decided once a tile.
struct Join {
  bool first, after, multiply;
  Join(bool residual, ResidualOp op)
      : first(residual && op == ResidualOp::kAddFirst),
        after(residual && op == ResidualOp::kAddAfter),
        multiply(residual && op == ResidualOp::kMultiply) {}
};

// One tile row's NV accumulators into out: joined with the row's residual
// res (null without a residual) and activated. Full: n = NV * kLanes
// columns, stored as they are; else a partial right edge of n columns
// through `row` (NV * kLanes floats), so that neither res nor out is touched
// past n.
template <int NV, Activation A, bool Full>
FVX_PW_INLINE void finish_row(const Vec* acc, float* out, const float* res, const Join& j, int64_t n, float* row) {
  if (!Full && res != nullptr) std::memcpy(row, res, static_cast<size_t>(n) * sizeof(float));
  const float* rv = Full ? res : row;
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    Vec y = acc[v];
    if (j.first) y += load(rv + v * kLanes);
    y = activate<A>(y);
    if (j.after) y += load(rv + v * kLanes);
    if (j.multiply) y *= load(rv + v * kLanes);
    store(Full ? out + v * kLanes : row + v * kLanes, y);
  }
  if (!Full) std::memcpy(out, row, static_cast<size_t>(n) * sizeof(float));
}

// A tile's prefetch of the next column tile's panels (GemmTile::next,
// GemmTileS::next): rows [begin, end) of the panels at `next`, ps floats
// apart, one row every count / (end - begin) k of the tile's `count` k steps
// (16.16 fixed point; at most one row a step), into L2. tick() once a k.
template <int Panels>
struct NextPanels {
  const float* next = nullptr;
  int64_t ps = 0, step = 0, due = 0;
  NextPanels(const float* panels, int64_t begin, int64_t end, int64_t panel_stride, int64_t count) {
    const int64_t rows = std::min(end - begin, count);
    if (panels == nullptr || rows <= 0) return;
    next = panels + begin * kPointwisePanel, ps = panel_stride, step = (rows << 16) / count;
  }
  bool active() const { return next != nullptr; }
  FVX_PW_INLINE void tick() {
    due += step;
    if (due < (int64_t{1} << 16)) return;
    due -= int64_t{1} << 16;
#pragma GCC unroll 4
    for (int p = 0; p < Panels; ++p) {
      __builtin_prefetch(next + p * ps, 0, 2);
      __builtin_prefetch(next + p * ps + kPointwisePanel / 2, 0, 2);
    }
    next += kPointwisePanel;
  }
};

// A tile's k steps over all its segments.
template <class Tile>
int64_t k_steps(const Tile& t) {
  int64_t count = 0;
  for (int s = 0; s < t.segments; ++s) count += t.k_end_of(s) - t.k_begin_of(s);
  return count;
}

// A tile's accumulators: bias[j] (bias null: 0) + row_bias[i] (null: 0).
template <int M, int NV>
FVX_PW_INLINE void init_acc(Vec (&acc)[M][NV], const float* bias, const float* row_bias) {
  Vec b[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) b[v] = bias != nullptr ? load(bias + v * kLanes) : Vec{};
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    const float r = row_bias != nullptr ? row_bias[i] : 0.f;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = b[v] + r;
  }
}

// One k of a tile: acc[i][v] += a[i][k] * bk[v], bk the NV vectors at b.
template <int M, int NV>
FVX_PW_INLINE void fma_k(Vec (&acc)[M][NV], const float* const (&a)[M], const float* b, int64_t k) {
  Vec bk[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) bk[v] = load(b + v * kLanes);
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    const float ai = a[i][k];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] += ai * bk[v];
  }
}

// M rows (M = kMr, or the m of a bottom edge: no rows computed in vain).
template <int M, int NV, Activation A>
void gemm_tile(const GemmTile& t) {
  Vec acc[M][NV];
  init_acc<M, NV>(acc, t.bias, t.row_bias);
  const int64_t ldb = t.ldb;
  NextPanels<1> next(M > 1 && !t.prefetch_b ? t.next : nullptr, t.next_begin, t.next_end, 0, k_steps(t));
  for (int s = 0; s < t.segments; ++s) {
    const GemmSegment& sg = t.seg[s];
    const float* a[M];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) a[i] = sg.a[i];
    const float* b = sg.b;
    if (M > 1 && t.prefetch_b) {
      // The panel's first tile: its rows kPanelPrefetchRows ahead (past its
      // end, the next panel's first rows: panels lie one after another), both
      // cache lines of each 128-byte row.
      static_assert(kPointwisePanel * sizeof(float) == 128, "a panel row is two 64-byte lines");
      for (int64_t k = sg.k_begin; k < sg.k_end; ++k) {
        const float* ahead = b + (k + kPanelPrefetchRows) * ldb;
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + kPointwisePanel / 2);
        fma_k<M, NV>(acc, a, b + k * ldb, k);
      }
      continue;
    }
    if (next.active()) {
      for (int64_t k = sg.k_begin; k < sg.k_end; ++k) {
        next.tick();
        fma_k<M, NV>(acc, a, b + k * ldb, k);
      }
      continue;
    }
    for (int64_t k = sg.k_begin; k < sg.k_end; ++k) {
      if constexpr (M == 1) {
        if ((k & 1) == 0) __builtin_prefetch(b + k * ldb + kGemvPrefetchFloats);
      }
      fma_k<M, NV>(acc, a, b + k * ldb, k);
    }
  }
  const Join j(t.residual != nullptr, t.residual_op);
  if (t.n == NV * kLanes) {
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      finish_row<NV, A, true>(acc[i], t.c[i], t.residual != nullptr ? t.residual[i] : nullptr, j, t.n, nullptr);
    }
    return;
  }
  float row[NV * kLanes] = {};
  for (int i = 0; i < M; ++i) {
    finish_row<NV, A, false>(acc[i], t.c[i], t.residual != nullptr ? t.residual[i] : nullptr, j, t.n, row);
  }
}

#if defined(__AVX512F__) && FVX_POINTWISE_VEC_BYTES == 64
// r[0..15] (rows) to its transpose in place: r[j] lane i = old r[i] lane j.
// Within 128-bit lanes (rows in pairs, then in fours, as unpacks), then
// across lanes by two rounds of 128-bit block shuffles; each step a
// two-source shuffle (indices of the second source from 16).
FVX_PW_INLINE void transpose16(Vec (&r)[16]) {
  const IVec pair_lo = {0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29};
  const IVec pair_hi = {2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31};
  const IVec quad_lo = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  const IVec quad_hi = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  const IVec even_blocks = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  const IVec odd_blocks = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  Vec a[16], b[16];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    a[2 * k] = __builtin_shuffle(r[2 * k], r[2 * k + 1], pair_lo);
    a[2 * k + 1] = __builtin_shuffle(r[2 * k], r[2 * k + 1], pair_hi);
  }
  // b[4g + m], 128-bit block l: column 4l + m of rows 4g .. 4g + 3.
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    b[4 * g] = __builtin_shuffle(a[4 * g], a[4 * g + 2], quad_lo);
    b[4 * g + 1] = __builtin_shuffle(a[4 * g], a[4 * g + 2], quad_hi);
    b[4 * g + 2] = __builtin_shuffle(a[4 * g + 1], a[4 * g + 3], quad_lo);
    b[4 * g + 3] = __builtin_shuffle(a[4 * g + 1], a[4 * g + 3], quad_hi);
  }
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) {
    // Rows 0-7 and 8-15: blocks (0, 2) and (1, 3) of each group pair.
    const Vec c0 = __builtin_shuffle(b[m], b[4 + m], even_blocks);
    const Vec d0 = __builtin_shuffle(b[m], b[4 + m], odd_blocks);
    const Vec c1 = __builtin_shuffle(b[8 + m], b[12 + m], even_blocks);
    const Vec d1 = __builtin_shuffle(b[8 + m], b[12 + m], odd_blocks);
    r[m] = __builtin_shuffle(c0, c1, even_blocks);
    r[8 + m] = __builtin_shuffle(c0, c1, odd_blocks);
    r[4 + m] = __builtin_shuffle(d0, d1, even_blocks);
    r[12 + m] = __builtin_shuffle(d0, d1, odd_blocks);
  }
}
#endif

// The pixel-rows tile (gemm_t): the same k loop on one input pointer that
// steps a row of the (Cin, P) input per k (the M pixels of a row are
// adjacent), then the accumulators, biased and activated, through a buffer
// into the output's columns.
template <int M, int NV, Activation A>
void gemm_t_tile(const GemmTileT& t) {
  Vec acc[M][NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const Vec b = load(t.bias + v * kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) acc[i][v] = b;
  }
  const float* a = t.a;
  const float* b = t.b;
  const int64_t lda = t.lda;
  for (int64_t k = 0; k < t.k_count; ++k) {
    Vec bk[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bk[v] = load(b + v * kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      const float ai = a[i];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * bk[v];
    }
    a += lda;
    b += kPointwisePanel;
  }
#if defined(__AVX512F__) && FVX_POINTWISE_VEC_BYTES == 64
  if constexpr (M <= 16) {
    // Each vector of columns transposed in registers (16 x 16, the rows past
    // M zero) and stored as one masked vector of M pixels per output channel.
    const __mmask16 rows = static_cast<__mmask16>((1u << M) - 1);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      Vec r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) r[i] = i < M ? activate<A>(acc[i][v]) : Vec{};
      transpose16(r);
      const int64_t cols = std::min<int64_t>(kLanes, t.n - v * kLanes);
      float* c = t.c + v * kLanes * t.ldc;
      for (int64_t j = 0; j < cols; ++j) _mm512_mask_storeu_ps(c + j * t.ldc, rows, reinterpret_cast<__m512>(r[j]));
    }
    return;
  }
#endif
  float buf[M][NV * kLanes] __attribute__((aligned(64)));
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) store(&buf[i][v * kLanes], activate<A>(acc[i][v]));
  }
  for (int64_t j = 0; j < t.n; ++j) {
    float* c = t.c + j * t.ldc;
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) c[i] = buf[i][j];
  }
}

// One k of gemm_s's tile: acc[i][v] += a[i * lda] * (vector v of the
// panels' row at b; panels ps floats apart).
template <int M, int NV>
FVX_PW_INLINE void fma_k_s(Vec (&acc)[M][NV], const float* a, int64_t lda, const float* b, int64_t ps) {
  Vec bk[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bk[v] = load(b + (v * kLanes / kPointwisePanel) * ps + v * kLanes % kPointwisePanel);
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    const float ai = a[i * lda];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] += ai * bk[v];
  }
}

// The equally spaced rows' tile (gemm_s): M rows x NV vectors of columns,
// vector v in panel v * kLanes / kPointwisePanel. Each k: NV vector loads of
// the panels' row k, M broadcasts at a + i * lda + k (the compiler keeps the
// row offsets in registers and steps one pointer).
template <int M, int NV, Activation A>
void gemm_s_tile(const GemmTileS& t) {
  constexpr int kPanels = (NV * kLanes + kPointwisePanel - 1) / kPointwisePanel;
  Vec acc[M][NV];
  init_acc<M, NV>(acc, t.bias, nullptr);
  const int64_t lda = t.lda, ps = t.panel_stride;
  NextPanels<kPanels> next(t.prefetch_b ? nullptr : t.next, t.next_begin, t.next_end, ps, k_steps(t));
  for (int s = 0; s < t.segments; ++s) {
    const float* a = t.a[s] + t.k_begin[s];
    const float* b = t.b + t.k_begin[s] * kPointwisePanel;
    const float* const end = a + (t.k_end[s] - t.k_begin[s]);
    if (t.prefetch_b) {
      // A column tile's first row tile: its panels' rows kPanelPrefetchRows
      // ahead, as gemm_tile's.
      for (; a < end; ++a, b += kPointwisePanel) {
#pragma GCC unroll 4
        for (int p = 0; p < kPanels; ++p) {
          const float* ahead = b + p * ps + kPanelPrefetchRows * kPointwisePanel;
          __builtin_prefetch(ahead);
          __builtin_prefetch(ahead + kPointwisePanel / 2);
        }
        fma_k_s<M, NV>(acc, a, lda, b, ps);
      }
      continue;
    }
    if (next.active()) {
      for (; a < end; ++a, b += kPointwisePanel) {
        next.tick();
        fma_k_s<M, NV>(acc, a, lda, b, ps);
      }
      continue;
    }
    for (; a < end; ++a, b += kPointwisePanel) fma_k_s<M, NV>(acc, a, lda, b, ps);
  }
  const Join j(t.residual != nullptr, t.residual_op);
  if (t.n == NV * kLanes) {
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      finish_row<NV, A, true>(acc[i], t.c + i * t.ldc, t.residual != nullptr ? t.residual + i * t.ldr : nullptr, j,
                              t.n, nullptr);
    }
    return;
  }
  float row[NV * kLanes] = {};
  for (int i = 0; i < M; ++i) {
    finish_row<NV, A, false>(acc[i], t.c + i * t.ldc, t.residual != nullptr ? t.residual + i * t.ldr : nullptr, j,
                             t.n, row);
  }
}

template <Activation A, int M, int... V>
void gemm_s_width(const GemmTileS& t, std::integer_sequence<int, V...>) {
  using Fn = void (*)(const GemmTileS&);
  static constexpr Fn by_width[] = {&gemm_s_tile<M, V + 1, A>...};
  by_width[(t.n + kLanes - 1) / kLanes - 1](t);
}

template <Activation A, int... M>
void gemm_s_rows(const GemmTileS& t, std::integer_sequence<int, M...>) {
  using Fn = void (*)(const GemmTileS&, std::make_integer_sequence<int, kNvS>);
  static constexpr Fn by_rows[] = {&gemm_s_width<A, M + 1>...};
  by_rows[t.m - 1](t, std::make_integer_sequence<int, kNvS>());
}

void gemm_s(const GemmTileS& t, Activation act) {
  const auto rows = std::make_integer_sequence<int, kMrS>();
  switch (act) {
    case Activation::kReLU: return gemm_s_rows<Activation::kReLU>(t, rows);
    case Activation::kReLU6: return gemm_s_rows<Activation::kReLU6>(t, rows);
    case Activation::kHardswish: return gemm_s_rows<Activation::kHardswish>(t, rows);
    case Activation::kSwish: return gemm_s_rows<Activation::kSwish>(t, rows);
    case Activation::kSigmoid: return gemm_s_rows<Activation::kSigmoid>(t, rows);
    default: return gemm_s_rows<Activation::kNone>(t, rows);
  }
}

// The tile with exactly the tile's m rows (M = m: a bottom edge computes no
// rows in vain) and one or two vectors of columns, with the activation as a
// constant: Tiles::run<M, NV, A> is gemm_tile (GemmTile) or gemm_t_tile
// (GemmTileT), M up to MaxM.
struct RowTiles {
  template <int M, int NV, Activation A>
  static void run(const GemmTile& t) { gemm_tile<M, NV, A>(t); }
};
struct PixelTiles {
  template <int M, int NV, Activation A>
  static void run(const GemmTileT& t) { gemm_t_tile<M, NV, A>(t); }
};

template <class Tiles, int M, Activation A, class Tile>
void run_width(const Tile& t) {
  if (t.n <= kLanes) {
    Tiles::template run<M, 1, A>(t);
  } else {
    Tiles::template run<M, 2, A>(t);
  }
}

template <class Tiles, Activation A, class Tile, int... M>
void run_rows(const Tile& t, std::integer_sequence<int, M...>) {
  using Fn = void (*)(const Tile&);
  static constexpr Fn by_rows[] = {&run_width<Tiles, M + 1, A, Tile>...};
  by_rows[t.m - 1](t);
}

template <class Tiles, int MaxM, class Tile>
void run_tile(const Tile& t, Activation act) {
  const auto rows = std::make_integer_sequence<int, MaxM>();
  switch (act) {
    case Activation::kReLU: return run_rows<Tiles, Activation::kReLU>(t, rows);
    case Activation::kReLU6: return run_rows<Tiles, Activation::kReLU6>(t, rows);
    case Activation::kHardswish: return run_rows<Tiles, Activation::kHardswish>(t, rows);
    case Activation::kSwish: return run_rows<Tiles, Activation::kSwish>(t, rows);
    case Activation::kSigmoid: return run_rows<Tiles, Activation::kSigmoid>(t, rows);
    default: return run_rows<Tiles, Activation::kNone>(t, rows);
  }
}

void pack_t(const float* x, int64_t pixels, const float* scale, int64_t k0, int64_t k1, int64_t cin, int64_t mr,
            float* a) {
  for (int64_t k = k0; k < k1; ++k) {
    const float* src = x + k * pixels;
    const float s = scale != nullptr ? scale[k] : 1.f;
    for (int64_t q0 = 0; q0 < pixels; q0 += mr) {
      float* dst = a + (q0 / mr * cin + k) * mr;
      const int64_t m = std::min(mr, pixels - q0);
#if defined(__AVX512F__) && FVX_POINTWISE_VEC_BYTES == 64
      if (m <= kLanes) {
        // One masked load, multiply and store per tile row: the scalar loop
        // (the compiler's 8-wide body and scalar tail for 14 floats) made the
        // packing 12% of TFC 1x1 256@14² at batch 8, one thread.
        const __mmask16 mask = static_cast<__mmask16>((1u << m) - 1);
        _mm512_mask_storeu_ps(dst, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, src + q0), _mm512_set1_ps(s)));
        continue;
      }
#endif
      for (int64_t i = 0; i < m; ++i) dst[i] = src[q0 + i] * s;
    }
  }
}

template <Activation A>
void bias_activate_as(float* x, const float* bias, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(x + i, activate<A>(load(x + i) + (bias != nullptr ? load(bias + i) : Vec{})));
  if (i == n) return;
  // The last partial vector through a buffer.
  float buf[kLanes] = {};
  for (int64_t l = 0; l < n - i; ++l) buf[l] = x[i + l] + (bias != nullptr ? bias[i + l] : 0.f);
  store(buf, activate<A>(load(buf)));
  for (int64_t l = 0; l < n - i; ++l) x[i + l] = buf[l];
}

void bias_activate(float* x, const float* bias, int64_t n, Activation act) {
  switch (act) {
    case Activation::kReLU: return bias_activate_as<Activation::kReLU>(x, bias, n);
    case Activation::kReLU6: return bias_activate_as<Activation::kReLU6>(x, bias, n);
    case Activation::kHardswish: return bias_activate_as<Activation::kHardswish>(x, bias, n);
    case Activation::kSwish: return bias_activate_as<Activation::kSwish>(x, bias, n);
    case Activation::kSigmoid: return bias_activate_as<Activation::kSigmoid>(x, bias, n);
    default: return bias_activate_as<Activation::kNone>(x, bias, n);
  }
}

void gemm(const GemmTile& t, Activation act) { run_tile<RowTiles, kMr>(t, act); }
void gemm_t(const GemmTileT& t, Activation act) { run_tile<PixelTiles, kMrT>(t, act); }

// direct_conv_row (pointwise_ukernels.h): tiles of kMrDirect pixels of the
// row by two vectors of columns, as gemm's, but every k's inputs of a tile
// are one base pointer at constant offsets (x * S + kx of one padded row), so
// no row pointers are set up or kept per tile, and the tile takes more rows.
template <int S, int NV, Activation A>
void direct_conv_row_s(const DirectConvRow& r) {
  constexpr int M = kMrDirect;
  const int64_t cin = r.cin, kh = r.kh, kw = r.kw, w_step = cin * kPointwisePanel;
  const Join j(r.residual != nullptr, r.residual_op);
  Vec bias[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) bias[v] = load(r.bias + v * kLanes);
  float row[NV * kLanes] __attribute__((aligned(64))) = {};  // a partial right edge's outputs
  for (int64_t x0 = 0; x0 < r.out_w; x0 += M) {
    Vec acc[M][NV];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = bias[v];
    }
    for (int64_t ky = 0; ky < kh; ++ky) {
      for (int64_t c = 0; c < cin; ++c) {
        const float* a = r.rows[c * kh + ky] + x0 * S;
        const float* w = r.w + (ky * kw * cin + c) * kPointwisePanel;
        for (int64_t kx = 0; kx < kw; ++kx, ++a, w += w_step) {
          // Hides that this kx's inputs are the last one's shifted by a
          // pixel: GCC otherwise carries them across kx in spilled scalars
          // instead of broadcasting each from the row.
          asm("" : "+r"(a));
          Vec bk[NV];
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) bk[v] = load(w + v * kLanes);
#pragma GCC unroll 16
          for (int i = 0; i < M; ++i) {
            const float ai = a[i * S];
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) acc[i][v] += ai * bk[v];
          }
        }
      }
    }
    const int64_t m = std::min<int64_t>(M, r.out_w - x0);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      if (i >= m) break;
      float* out = r.out + (x0 + i) * r.out_stride;
      const float* res = r.residual != nullptr ? r.residual + (x0 + i) * r.residual_stride : nullptr;
      if (r.n == NV * kLanes) {
        finish_row<NV, A, true>(acc[i], out, res, j, r.n, nullptr);
      } else {
        finish_row<NV, A, false>(acc[i], out, res, j, r.n, row);
      }
    }
  }
}

// One vector of columns where the tile has no more (16 output channels on
// AVX-512: a second vector would be zeros computed in vain).
template <Activation A>
void direct_conv_row_act(const DirectConvRow& r) {
  if (r.n <= kLanes) return r.stride == 1 ? direct_conv_row_s<1, 1, A>(r) : direct_conv_row_s<2, 1, A>(r);
  return r.stride == 1 ? direct_conv_row_s<1, 2, A>(r) : direct_conv_row_s<2, 2, A>(r);
}

void direct_conv_row(const DirectConvRow& r, Activation act) {
  switch (act) {
    case Activation::kReLU: return direct_conv_row_act<Activation::kReLU>(r);
    case Activation::kReLU6: return direct_conv_row_act<Activation::kReLU6>(r);
    case Activation::kHardswish: return direct_conv_row_act<Activation::kHardswish>(r);
    case Activation::kSwish: return direct_conv_row_act<Activation::kSwish>(r);
    case Activation::kSigmoid: return direct_conv_row_act<Activation::kSigmoid>(r);
    default: return direct_conv_row_act<Activation::kNone>(r);
  }
}

// K: the kernel size as a constant (3, 5), or 0 for any (runtime k).
template <int K, Activation A>
void depthwise_row_k(const float* const* rows, int64_t k_runtime, int64_t stride, const float* w,
                     const float* bias, int64_t channels, int64_t out_w, float* out) {
  const int64_t k = K > 0 ? K : k_runtime;
  constexpr int kTaps = K > 0 ? K * K : 1;
  constexpr int kX = 4;  // output pixels per step: independent accumulators
  const int64_t step = stride * channels;
  for (int64_t c0 = 0; c0 < channels; c0 += kLanes) {
    const Vec b = load(bias + c0);
    if constexpr (K > 0) {
      Vec wv[kTaps];
#pragma GCC unroll 25
      for (int t = 0; t < kTaps; ++t) wv[t] = load(w + t * channels + c0);
      int64_t x = 0;
      for (; x + kX <= out_w; x += kX) {
        Vec acc[kX];
#pragma GCC unroll 4
        for (int u = 0; u < kX; ++u) acc[u] = b;
#pragma GCC unroll 5
        for (int i = 0; i < K; ++i) {
          const float* r = rows[i] + x * step + c0;
#pragma GCC unroll 5
          for (int j = 0; j < K; ++j) {
#pragma GCC unroll 4
            for (int u = 0; u < kX; ++u) acc[u] += load(r + u * step + j * channels) * wv[i * K + j];
          }
        }
#pragma GCC unroll 4
        for (int u = 0; u < kX; ++u) store(out + (x + u) * channels + c0, activate<A>(acc[u]));
      }
      for (; x < out_w; ++x) {
        Vec acc = b;
#pragma GCC unroll 5
        for (int i = 0; i < K; ++i) {
          const float* r = rows[i] + x * step + c0;
#pragma GCC unroll 5
          for (int j = 0; j < K; ++j) acc += load(r + j * channels) * wv[i * K + j];
        }
        store(out + x * channels + c0, activate<A>(acc));
      }
    } else {
      for (int64_t x = 0; x < out_w; ++x) {
        Vec acc = b;
        for (int64_t i = 0; i < k; ++i) {
          const float* r = rows[i] + x * step + c0;
          for (int64_t j = 0; j < k; ++j) acc += load(r + j * channels) * load(w + (i * k + j) * channels + c0);
        }
        store(out + x * channels + c0, activate<A>(acc));
      }
    }
  }
}

template <Activation A>
void depthwise_row_act(const float* const* rows, int64_t k, int64_t stride, const float* w, const float* bias,
                       int64_t channels, int64_t out_w, float* out) {
  switch (k) {
    case 3: return depthwise_row_k<3, A>(rows, k, stride, w, bias, channels, out_w, out);
    case 5: return depthwise_row_k<5, A>(rows, k, stride, w, bias, channels, out_w, out);
    default: return depthwise_row_k<0, A>(rows, k, stride, w, bias, channels, out_w, out);
  }
}

void depthwise_row(const float* const* rows, int64_t k, int64_t stride, const float* w, const float* bias,
                   int64_t channels, int64_t out_w, float* out, Activation act) {
  switch (act) {
    case Activation::kReLU: return depthwise_row_act<Activation::kReLU>(rows, k, stride, w, bias, channels, out_w, out);
    case Activation::kReLU6:
      return depthwise_row_act<Activation::kReLU6>(rows, k, stride, w, bias, channels, out_w, out);
    case Activation::kHardswish:
      return depthwise_row_act<Activation::kHardswish>(rows, k, stride, w, bias, channels, out_w, out);
    case Activation::kSwish:
      return depthwise_row_act<Activation::kSwish>(rows, k, stride, w, bias, channels, out_w, out);
    default: return depthwise_row_act<Activation::kNone>(rows, k, stride, w, bias, channels, out_w, out);
  }
}

// The Winograd transforms run a vector of channels at a time, then the
// channels past the last whole vector one by one: T is Vec or float.
template <class T>
FVX_PW_INLINE T load_as(const float* p) {
  if constexpr (sizeof(T) == sizeof(float)) {
    return *p;
  } else {
    return load(p);
  }
}

template <class T>
FVX_PW_INLINE void store_as(float* p, T v) {
  if constexpr (sizeof(T) == sizeof(float)) {
    *p = v;
  } else {
    store(p, v);
  }
}

template <Activation A, class T>
FVX_PW_INLINE T activate_as(T v) {
  if constexpr (sizeof(T) == sizeof(float)) {
    return activate<A>(splat(v))[0];
  } else {
    return activate<A>(v);
  }
}

// The Winograd transforms (pointwise_ukernels.h), one template for both
// tiles, Tile = 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)), alpha = Tile + 2 input
// pixels a side, a vector of channels at a time; each 2-D transform is the
// 1-D one over the columns, then over the rows.
//
// B^T d, F(2x2) on the points 0, 1, -1: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
// 0 1 0 -1] (only adds).
template <class T>
FVX_PW_INLINE void winograd_bt(const T* d, T* e, std::integral_constant<int, 2>) {
  e[0] = d[0] - d[2], e[1] = d[1] + d[2], e[2] = d[2] - d[1], e[3] = d[1] - d[3];
}

// F(4x4) on the points 0, 1, -1, 1/2, -2 (half the rounding error of 0,
// +-1, +-2 in float32, at some more multiply-adds):
//   B^T = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0;
//          0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1].
template <class T>
FVX_PW_INLINE void winograd_bt(const T* d, T* e, std::integral_constant<int, 4>) {
  e[0] = d[0] - d[2] + d[4] + 1.5f * (d[3] - d[1]) - d[2];
  e[1] = d[4] - d[1] + 0.5f * d[2] + 2.5f * d[3];
  e[2] = d[4] + d[1] - 2.5f * d[2] + 0.5f * d[3];
  e[3] = d[4] - d[2] + 2.0f * (d[3] - d[1]);
  e[4] = d[4] - d[2] + 0.5f * (d[1] - d[3]);
  e[5] = d[5] + d[1] - d[3] + 1.5f * (d[4] - d[2]) - d[3];
}

// A^T m: F(2x2) A^T = [1 1 1 0; 0 1 -1 -1]; F(4x4) A^T = [1 1 1 1 1 0;
// 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1].
template <class T>
FVX_PW_INLINE void winograd_at(const T* m, T* y, std::integral_constant<int, 2>) {
  y[0] = m[0] + m[1] + m[2], y[1] = m[1] - m[2] - m[3];
}

template <class T>
FVX_PW_INLINE void winograd_at(const T* m, T* y, std::integral_constant<int, 4>) {
  const T p = m[1] + m[2], q = m[1] - m[2];
  y[0] = m[0] + p + m[3] + m[4];
  y[1] = q + 0.5f * m[3] - 2.0f * m[4];
  y[2] = p + 0.25f * m[3] + 4.0f * m[4];
  y[3] = q + 0.125f * m[3] - 8.0f * m[4] + m[5];
}

// The input tile's pixels d[alpha * row + column] to V = B^T d B,
// v[xi * v_stride + c], xi = alpha * row + column; times the channels'
// scale where there is one (the transform is linear).
template <int Tile, class T>
FVX_PW_INLINE void winograd_input_vec(const float* const* d, int64_t c, const float* scale, float* v,
                                       int64_t v_stride) {
  constexpr int kAlpha = Tile + 2;
  const std::integral_constant<int, Tile> tile;
  T e[kAlpha][kAlpha];
#pragma GCC unroll 6
  for (int j = 0; j < kAlpha; ++j) {
    T col[kAlpha], out[kAlpha];
#pragma GCC unroll 6
    for (int i = 0; i < kAlpha; ++i) col[i] = load_as<T>(d[i * kAlpha + j] + c);
    winograd_bt(col, out, tile);
#pragma GCC unroll 6
    for (int i = 0; i < kAlpha; ++i) e[i][j] = out[i];
  }
  const T sc = scale == nullptr ? T{} : load_as<T>(scale + c);
#pragma GCC unroll 6
  for (int i = 0; i < kAlpha; ++i) {
    T r[kAlpha];
    winograd_bt(e[i], r, tile);
#pragma GCC unroll 6
    for (int j = 0; j < kAlpha; ++j) store_as<T>(v + (i * kAlpha + j) * v_stride + c, scale != nullptr ? r[j] * sc : r[j]);
  }
}

template <int Tile>
void winograd_input_tile(const float* const* d, int64_t channels, const float* scale, float* v, int64_t v_stride) {
  int64_t c = 0;
  for (; c + kLanes <= channels; c += kLanes) winograd_input_vec<Tile, Vec>(d, c, scale, v, v_stride);
  for (; c < channels; ++c) winograd_input_vec<Tile, float>(d, c, scale, v, v_stride);
}

void winograd_input(const float* const* d, int64_t channels, const float* scale, float* v, int64_t v_stride) {
  winograd_input_tile<2>(d, channels, scale, v, v_stride);
}

void winograd_input4(const float* const* d, int64_t channels, const float* scale, float* v, int64_t v_stride) {
  winograd_input_tile<4>(d, channels, scale, v, v_stride);
}

// Output pixel p's value y (biased) at channel j joined with the residual
// res[p] (null: none) as a GEMM tile's (Join), activated and stored to out
// (null: past the output's edge, skipped).
template <Activation A, class T>
FVX_PW_INLINE void winograd_store(T y, float* out, const float* const* res, int p, int64_t j, const Join& jn) {
  if (out == nullptr) return;
  const float* rp = res != nullptr ? res[p] + j : nullptr;
  if (jn.first) y += load_as<T>(rp);
  y = activate_as<A>(y);
  if (jn.after) y += load_as<T>(rp);
  if (jn.multiply) y *= load_as<T>(rp);
  store_as<T>(out + j, y);
}

// M (alpha^2 planes, m[xi * m_stride + j]) to the tile's Tile x Tile outputs
// Y = A^T M A, then the bias, residual and activation (winograd_store).
// out[p] / res[p]: pixel p = Tile * row + column of the tile, null where it
// lies outside the output.
template <int Tile, Activation A, class T>
FVX_PW_INLINE void winograd_output_vec(const float* m, int64_t m_stride, int64_t j, const float* bias,
                                       float* const* out, const float* const* res, const Join& jn) {
  constexpr int kAlpha = Tile + 2;
  const std::integral_constant<int, Tile> tile;
  T s[Tile][kAlpha];
#pragma GCC unroll 6
  for (int col = 0; col < kAlpha; ++col) {
    T in[kAlpha], y[Tile];
#pragma GCC unroll 6
    for (int r = 0; r < kAlpha; ++r) in[r] = load_as<T>(m + (r * kAlpha + col) * m_stride + j);
    winograd_at(in, y, tile);
#pragma GCC unroll 4
    for (int r = 0; r < Tile; ++r) s[r][col] = y[r];
  }
  const T b = bias != nullptr ? load_as<T>(bias + j) : T{};
#pragma GCC unroll 4
  for (int r = 0; r < Tile; ++r) {
    T y[Tile];
    winograd_at(s[r], y, tile);
#pragma GCC unroll 4
    for (int q = 0; q < Tile; ++q) winograd_store<A, T>(y[q] + b, out[Tile * r + q], res, Tile * r + q, j, jn);
  }
}

// Tile: 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)).
template <int Tile, Activation A>
void winograd_output_act(const float* m, int64_t m_stride, int64_t channels, const float* bias, float* const* out,
                         const float* const* res, ResidualOp op) {
  const Join jn(res != nullptr, op);
  int64_t j = 0;
  for (; j + kLanes <= channels; j += kLanes) winograd_output_vec<Tile, A, Vec>(m, m_stride, j, bias, out, res, jn);
  for (; j < channels; ++j) winograd_output_vec<Tile, A, float>(m, m_stride, j, bias, out, res, jn);
}

template <int Tile>
void winograd_output_tile(const float* m, int64_t m_stride, int64_t channels, const float* bias, float* const* out,
                          const float* const* res, ResidualOp op, Activation act) {
  switch (act) {
    case Activation::kReLU:
      return winograd_output_act<Tile, Activation::kReLU>(m, m_stride, channels, bias, out, res, op);
    case Activation::kReLU6:
      return winograd_output_act<Tile, Activation::kReLU6>(m, m_stride, channels, bias, out, res, op);
    case Activation::kHardswish:
      return winograd_output_act<Tile, Activation::kHardswish>(m, m_stride, channels, bias, out, res, op);
    case Activation::kSwish:
      return winograd_output_act<Tile, Activation::kSwish>(m, m_stride, channels, bias, out, res, op);
    case Activation::kSigmoid:
      return winograd_output_act<Tile, Activation::kSigmoid>(m, m_stride, channels, bias, out, res, op);
    default: return winograd_output_act<Tile, Activation::kNone>(m, m_stride, channels, bias, out, res, op);
  }
}

void winograd_output(const float* m, int64_t m_stride, int64_t channels, const float* bias, float* const* out,
                     const float* const* res, ResidualOp op, Activation act) {
  winograd_output_tile<2>(m, m_stride, channels, bias, out, res, op, act);
}

void winograd_output4(const float* m, int64_t m_stride, int64_t channels, const float* bias, float* const* out,
                      const float* const* res, ResidualOp op, Activation act) {
  winograd_output_tile<4>(m, m_stride, channels, bias, out, res, op, act);
}

}  // namespace
}  // namespace FVX_POINTWISE_SUFFIX

extern const PointwiseKernel FVX_POINTWISE_CONCAT(pointwise__, FVX_POINTWISE_SUFFIX);
const PointwiseKernel FVX_POINTWISE_CONCAT(pointwise__, FVX_POINTWISE_SUFFIX) = {
    FVX_POINTWISE_SUFFIX::kMr,   2 * FVX_POINTWISE_SUFFIX::kLanes, FVX_POINTWISE_SUFFIX::gemm,
    FVX_POINTWISE_SUFFIX::kMrT,  FVX_POINTWISE_SUFFIX::gemm_t,     FVX_POINTWISE_SUFFIX::depthwise_row,
    FVX_POINTWISE_SUFFIX::kMrDirect, FVX_POINTWISE_SUFFIX::direct_conv_row,
    FVX_POINTWISE_SUFFIX::winograd_input, FVX_POINTWISE_SUFFIX::winograd_output,
    FVX_POINTWISE_SUFFIX::winograd_input4, FVX_POINTWISE_SUFFIX::winograd_output4,
    FVX_POINTWISE_SUFFIX::kMrS, FVX_POINTWISE_SUFFIX::kNvS * FVX_POINTWISE_SUFFIX::kLanes,
    FVX_POINTWISE_SUFFIX::gemm_s, FVX_POINTWISE_SUFFIX::pack_t, FVX_POINTWISE_SUFFIX::bias_activate};

}  // namespace fastvfx::pointwise
