// Internal interface between the pointwise (1x1 conv) drivers
// (inverted_residual.cpp: bands, ring of expanded rows; pointwise_conv.cpp:
// one conv, channels-first or channels-last) and the per-ISA microkernels
// (pointwise_impl.h compiled once per ISA).
//
// gemm: an mr x nr tile,
//   c[i][j] = act(bias[j] + row_bias[i] + sum_s sum_{k in [k_begin, k_end) of s}
//                 seg[s].a[i][k] * seg[s].b[k * ldb + j])  (+ residual[i][j])
// (kAddFirst: act(... + residual[i][j]), ResNet's relu(conv + x); kMultiply:
// act(...) * residual[i][j], SqueezeTime's gated IOI conv)
// for i < m, j < n (m <= mr, n <= nr). Every row has its own pointer, indexed
// by k; a segment is a range of k whose rows (a) or columns (b) come from
// elsewhere: the temporal shift reads channel ranges from other frames, on
// either side. Only the first m rows are read (a bottom edge runs a tile of m
// rows); b must hold nr readable columns for every k. bias (nr values) and
// row_bias (m values) may be null; residual may be c itself (accumulate).
//
// gemm_s: the same tile on equally spaced rows (a 1x1 conv's channels-last
// pixels, a Winograd plane), wider: mr_s x nr_s, its columns up to
// nr_s / kPointwisePanel consecutive weight panels,
//   c[i * ldc + j] = act(bias[j] + sum_s sum_{k in [k_begin, k_end) of s}
//                   a[s][i * lda + k] * B(k, j))  (+ residual[i * ldr + j])
// B(k, j) = b[(j / kPointwisePanel) * panel_stride + k * kPointwisePanel + j % kPointwisePanel]
// for i < m, j < n (m <= mr_s, n <= nr_s); b is the tile's first panel
// (its first column), bias (null: zeros) holds whole vectors of columns.
// One base pointer a row (rows at constant offsets) rather than mr row
// pointers: the k loop keeps every broadcast's address in registers.
//
// direct_conv_row: one output row of a k x k conv of few input channels (an
// RGB stem), pixels as tile rows and output channels as columns, its A read
// from zero-padded input rows in place (one row per input channel and kernel
// row, c * kh + ky):
//   out[x * out_stride + j] = act(bias[j] + sum_{c, ky, kx}
//       rows[c * kh + ky][x * stride + kx] * w[((ky * kw + kx) * cin + c) * ldw + j])
// (the residual as gemm's) for x < out_w, j < n (n <= nr); w is a packed
// weight panel (ldw = kPointwisePanel) at the tile's first column, and the
// rows hold the reads of whole tiles (ceil(out_w / mr_direct) * mr_direct
// pixels). stride is 1 or 2.
//
// winograd_input: one tile of a Winograd F(2x2, 3x3) conv, its 4x4 input
// pixels d[4 * row + column] (each `channels` floats, channels-last; a pixel
// of the zero padding points at zeros) to the 16 planes
// v[xi * v_stride + c] = scale[c] * (B^T d B)[xi], xi = 4 * row + column
// (scale null: 1).
// winograd_output: the tile's 16 GEMM results m[xi * m_stride + j] to its
// 2x2 outputs (A^T m A), biased (bias null: none), joined with the residual
// res[p] (null: none) as gemm's and activated: out[p][j], p = 2 * row +
// column, out[p] null for a pixel past the output's edge.
// winograd_input4 / winograd_output4: the same for Winograd F(4x4, 3x3): 6x6
// input pixels d[6 * row + column] to 36 planes, and 36 GEMM results to the
// tile's 4x4 outputs (p = 4 * row + column).
//
// depthwise_row: one output row of a k x k depthwise conv on padded
// channels-last rows, out[x][c] = act(bias[c] + sum_{i,j} w[i * k + j][c] *
// rows[i][(x * stride + j) * channels + c]), channels a multiple of the panel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/isa.h"
#include "fastvfx/pointwise_conv.h"  // ResidualOp

namespace fastvfx::pointwise {

constexpr int kMaxSegments = 8;  // a kxk conv: one per kernel row
constexpr int kMaxMr = 16;

// Rows per GEMM tile for `pixels` rows and tiles of at most `mr`: as even
// as the tile count allows (49 pixels: 7 tiles of 7, where 6 of 8 and one of
// 1 left a tile of 2 accumulators waiting on its FMAs' latency; a 1x1 conv
// 320 -> 1280 on 7x7, one thread: 0.368 ms against 0.378-0.397).
inline int64_t balanced_tile_rows(int64_t pixels, int64_t mr) {
  const int64_t tiles = (pixels + mr - 1) / mr;
  return tiles > 0 ? (pixels + tiles - 1) / tiles : mr;
}

struct GemmSegment {
  const float* const* a = nullptr;  // mr row pointers
  const float* b = nullptr;
  int64_t k_begin = 0, k_end = 0;
};

struct GemmTile {
  int segments = 0;
  GemmSegment seg[kMaxSegments];
  int64_t ldb = 0;
  const float* bias = nullptr;      // per column
  const float* row_bias = nullptr;  // per row (m values)
  float* const* c = nullptr;        // mr row pointers (first m used)
  const float* const* residual = nullptr;
  ResidualOp residual_op = ResidualOp::kAddAfter;
  int64_t m = 0, n = 0;
  bool prefetch_b = false;  // prefetch b ahead (a panel's first tile; ldb = kPointwisePanel)
  // Rows [next_begin, next_end) of the next column tile's panel at next,
  // spread over the k loop, as GemmTileS's. fused_conv2d on six different
  // 512@7² 3x3 convs in a row (9.4 MB of weights each), one thread, ms a
  // conv, without / with: 2.30-2.54 / 1.94-2.07 (oneDNN 2.15-2.18). Routed
  // there instead of oneDNN, SqueezeTime's clip did not change (72.3 / 72.7
  // ms, one process), so its plans keep oneDNN for those convs.
  const float* next = nullptr;
  int64_t next_begin = 0, next_end = 0;
  int64_t k_begin_of(int s) const { return seg[s].k_begin; }
  int64_t k_end_of(int s) const { return seg[s].k_end; }
};

// gemm_t: an m x n tile of a channels-first 1x1 conv with the pixels as rows
// (m <= mr_t pixels, n <= nr output channels), for maps whose pixel count
// would waste gemm's vector columns (49, 196):
//   c[j * ldc + i] = act(bias[j] + sum_{k < k_count} a[k * lda + i] * b[k * kPointwisePanel + j])
// a: the first pixel of the tile in the (Cin, P) input (lda = P), b: a packed
// weight panel (pack_pointwise_weights), bias: nr values (not null), c: the
// tile's first output in (Cout, P) (ldc = P). The tile is written transposed.
struct GemmTileT {
  const float* a = nullptr;
  int64_t lda = 0, k_count = 0;
  const float* b = nullptr;
  const float* bias = nullptr;
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t m = 0, n = 0;
};

struct GemmTileS {
  int segments = 0;
  const float* a[kMaxSegments] = {};  // each segment's first row
  int64_t k_begin[kMaxSegments] = {}, k_end[kMaxSegments] = {};
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t panel_stride = 0;
  const float* bias = nullptr;
  float* c = nullptr;
  int64_t ldc = 0;
  const float* residual = nullptr;
  int64_t ldr = 0;
  ResidualOp residual_op = ResidualOp::kAddAfter;
  int64_t m = 0, n = 0;
  bool prefetch_b = false;  // prefetch b's panels ahead (a column tile's first row tile)
  // Rows [next_begin, next_end) of the next column tile's panels (at next,
  // panel_stride apart), prefetched into L2 spread over the k loop: the
  // column tile's later row tiles share them out, so that the next one's
  // first row tile does not wait on L3 (in a model each layer's weights
  // come from there; the first row tile's own prefetch, prefetch_b, asked
  // for more than L3 delivers to one core). next null: none. Twelve
  // different 1x1 convs in a row, one thread, ms, without / with: 14x14
  // maps 7.85-8.01 / 7.66-7.81, 7x7 4.56-4.69 / 4.22-4.32; eight 3x3 convs
  // by Winograd, ms a conv: 256@14² 0.87-0.89 / 0.78-0.83, 128@28² 0.53-0.54
  // / 0.49-0.51; SqueezeTime's clip, one thread: 74.0-77.6 / 70.3-75.0 ms
  // (separate processes, alternating; a switch not kept).
  const float* next = nullptr;
  int64_t next_begin = 0, next_end = 0;
  int64_t k_begin_of(int s) const { return k_begin[s]; }
  int64_t k_end_of(int s) const { return k_end[s]; }
};

// The share of the next column tile's `rows` panel rows that row tile `index`
// of a column tile's `tiles` prefetches (GemmTile::next, GemmTileS::next):
// none for the first (it prefetches its own panels, prefetch_b), an even
// split between the others.
template <class Tile>
inline void set_next_share(Tile& t, int64_t rows, int64_t tiles, int64_t index) {
  const bool share = t.next != nullptr && index > 0 && tiles > 1;
  t.next_begin = share ? rows * (index - 1) / (tiles - 1) : 0;
  t.next_end = share ? rows * index / (tiles - 1) : 0;
}

struct DirectConvRow {
  const float* const* rows = nullptr;
  int64_t cin = 0, kh = 0, kw = 0, stride = 1;
  const float* w = nullptr;
  const float* bias = nullptr;  // nr values
  int64_t n = 0, out_w = 0;
  float* out = nullptr;
  int64_t out_stride = 0;
  const float* residual = nullptr;  // like out (residual_stride), or null
  int64_t residual_stride = 0;
  ResidualOp residual_op = ResidualOp::kAddAfter;
};

struct PointwiseKernel {
  int64_t mr;
  int64_t nr;
  void (*gemm)(const GemmTile& tile, Activation act);
  int64_t mr_t;
  void (*gemm_t)(const GemmTileT& tile, Activation act);
  void (*depthwise_row)(const float* const* rows, int64_t k, int64_t stride, const float* w, const float* bias,
                        int64_t channels, int64_t out_w, float* out, Activation act);
  int64_t mr_direct;
  void (*direct_conv_row)(const DirectConvRow& row, Activation act);
  void (*winograd_input)(const float* const* d, int64_t channels, const float* scale, float* v,
                         int64_t v_stride);
  void (*winograd_output)(const float* m, int64_t m_stride, int64_t channels, const float* bias, float* const* out,
                          const float* const* res, ResidualOp op, Activation act);
  void (*winograd_input4)(const float* const* d, int64_t channels, const float* scale, float* v,
                          int64_t v_stride);
  void (*winograd_output4)(const float* m, int64_t m_stride, int64_t channels, const float* bias, float* const* out,
                           const float* const* res, ResidualOp op, Activation act);
  int64_t mr_s;
  int64_t nr_s;
  void (*gemm_s)(const GemmTileS& tile, Activation act);
  // gemm_t's input tiles: rows [k0, k1) of a (Cin, P) map x, times scale[k]
  // (null: 1), as tile t's row k at a + (t * cin + k) * mr, the last tile's
  // rows P - t * mr long.
  void (*pack_t)(const float* x, int64_t pixels, const float* scale, int64_t k0, int64_t k1, int64_t cin,
                 int64_t mr, float* a);
  // x[i] = act(x[i] + bias[i]) for i < n (bias null: 0), in place.
  void (*bias_activate)(float* x, const float* bias, int64_t n, Activation act);
};

#define FVX_POINTWISE_VARIANT(isa_enum, suffix) extern const PointwiseKernel pointwise__##suffix;
#include "pointwise_variants.inc"
#undef FVX_POINTWISE_VARIANT

const PointwiseKernel& pointwise_kernel_for(Isa isa);

// The calling thread's scratch of at least `floats` floats, kept between
// calls (the drivers' padded rows and Winograd blocks: a fresh block above
// malloc's mmap threshold faults its pages in on every call).
inline float* thread_scratch(size_t floats) {
  thread_local std::vector<float> storage;
  if (storage.size() < floats) storage.resize(floats);
  return storage.data();
}

}  // namespace fastvfx::pointwise
