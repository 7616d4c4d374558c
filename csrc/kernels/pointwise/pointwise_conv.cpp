// The 1x1 conv drivers (see fastvfx/pointwise_conv.h). Channels-first: tiles
// of output channels (rows, the weights broadcast) by pixels (columns, the
// input rows loaded as vectors); channels-last: tiles of pixels (rows) by
// output channels (columns, the packed weights). A task owns a block of
// tiles; a right edge of channels-first pixels is copied into a padded panel
// so that no vector reads past the input. Each tile prefetches the lines the
// next tile of its task reads and writes (input rows, output, residual): the
// channels-first tiles read a line from each of C_in input rows, and the
// channels-last ones 128 bytes of each of mr output rows, too many streams
// for the hardware prefetchers when the clip is not in L2.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../causal_dwconv3d/dwconv3d_kernels.h"  // the 8x8 transposes of an NCHW stem input
#include "fastvfx/parallel.h"
#include "fastvfx/pointwise_conv.h"
#include "pointwise_ukernels.h"

namespace fastvfx {
namespace {

using pointwise::GemmSegment;
using pointwise::GemmTile;
using pointwise::PointwiseKernel;

// A task is worth splitting off with about this many multiply-adds.
constexpr int64_t kTaskMacs = 1 << 18;

// The bias (or zeros) padded to whole panels: the tiles read it a vector at a time.
std::vector<float> padded_bias(const float* bias, int64_t cout) {
  std::vector<float> padded(static_cast<size_t>(pointwise_padded(cout)), 0.f);
  if (bias != nullptr) std::copy(bias, bias + cout, padded.begin());
  return padded;
}

// Every cache line of the n floats at p (one per 16 floats, and the last
// float's: an unaligned run straddles one more line). Write = 1: for a store.
template <int Write = 0>
inline void prefetch_floats(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i, Write);
  __builtin_prefetch(p + n - 1, Write);
}

}  // namespace

void pointwise_conv_nchw(const PointwiseConvNchw& p) {
  const int64_t cout = p.out_channels, cin = p.in_channels, pixels = p.pixels;
  if (cout <= 0 || pixels <= 0) return;
  const PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  const int64_t mr = kr.mr, nr = kr.nr;
  const int64_t col_tiles = (pixels + nr - 1) / nr;
  // Rows per task: every row of a column tile, unless that leaves too few tasks.
  const int64_t row_tiles = (cout + mr - 1) / mr;
  const int64_t rows_per_task = std::max<int64_t>(1, std::min(row_tiles, (row_tiles * col_tiles + 7) / 8));
  const int64_t row_blocks = (row_tiles + rows_per_task - 1) / rows_per_task;
  const int64_t task_macs = rows_per_task * mr * nr * std::max<int64_t>(cin, 1);
  const int64_t grain = std::max<int64_t>(1, kTaskMacs / task_macs);
  // The right edge's columns in a zero-padded panel, built once for all its
  // tasks (per task, a 49-pixel map's edge of 17 columns at 512 channels cost
  // a memset and 512 short copies four times a call).
  const int64_t edge = pixels % nr;
  float* tail = nullptr;
  if (edge != 0) {
    const int64_t p0 = (col_tiles - 1) * nr;
    tail = pointwise::thread_scratch(static_cast<size_t>(cin * nr));
    for (int64_t k = 0; k < cin; ++k) {
      float* dst = tail + k * nr;
      const float* src = nullptr;
      for (int s = 0; s < p.sources; ++s) {
        const PointwiseSource& sc = p.source[s];
        if (sc.x != nullptr && k >= sc.k_begin && k < sc.k_end) src = sc.x + k * pixels + p0;
      }
      if (src != nullptr) std::memcpy(dst, src, sizeof(float) * edge);
      std::memset(dst + (src != nullptr ? edge : 0), 0, sizeof(float) * (src != nullptr ? nr - edge : nr));
    }
  }
  parallel_for(0, col_tiles * row_blocks, grain, [&](int64_t begin, int64_t end) {
    const float* a[pointwise::kMaxMr];
    float* c[pointwise::kMaxMr];
    const float* r[pointwise::kMaxMr];
    GemmTile t;
    for (int s = 0; s < p.sources; ++s) {
      if (p.source[s].x == nullptr || p.source[s].k_end <= p.source[s].k_begin) continue;
      t.seg[t.segments++] = GemmSegment{a, nullptr, p.source[s].k_begin, p.source[s].k_end};
    }
    t.c = c;
    t.residual = p.residual != nullptr ? r : nullptr;
    t.residual_op = p.residual_op;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t col = task / row_blocks, block = task % row_blocks;
      const int64_t p0 = col * nr, n = std::min(nr, pixels - p0);
      const bool at_edge = n < nr;
      int sg = 0;
      for (int s = 0; s < p.sources; ++s) {
        if (p.source[s].x == nullptr || p.source[s].k_end <= p.source[s].k_begin) continue;
        t.seg[sg++].b = at_edge ? tail : p.source[s].x + p0;
      }
      t.ldb = at_edge ? nr : pixels;
      t.n = n;
      const int64_t o_begin = block * rows_per_task * mr;
      const int64_t o_end = std::min(cout, (block + 1) * rows_per_task * mr);
      // The next column tile's input rows, spread over this one's row tiles.
      const int64_t next_p0 = p0 + nr;
      const bool prefetch = next_p0 + nr <= pixels;
      const int64_t row_tiles_here = (o_end - o_begin + mr - 1) / mr;
      const int64_t k_per_tile = (cin + row_tiles_here - 1) / row_tiles_here;
      int64_t k_next = 0;
      for (int64_t o0 = o_begin; o0 < o_end; o0 += mr) {
        const int64_t m = std::min(mr, cout - o0);
        if (prefetch) {
          for (const int64_t k_stop = std::min(cin, k_next + k_per_tile); k_next < k_stop; ++k_next) {
            for (int s = 0; s < p.sources; ++s) {
              const PointwiseSource& sc = p.source[s];
              if (sc.x != nullptr && k_next >= sc.k_begin && k_next < sc.k_end) {
                prefetch_floats(sc.x + k_next * pixels + next_p0, nr);
              }
            }
          }
          for (int64_t i = 0; i < m; ++i) {
            prefetch_floats<1>(p.y + (o0 + i) * pixels + next_p0, nr);
            if (p.residual != nullptr) prefetch_floats(p.residual + (o0 + i) * pixels + next_p0, nr);
          }
        }
        for (int64_t i = 0; i < mr; ++i) a[i] = p.weight + (o0 + std::min(i, m - 1)) * p.weight_stride;
        for (int64_t i = 0; i < m; ++i) {
          c[i] = p.y + (o0 + i) * pixels + p0;
          if (p.residual != nullptr) r[i] = p.residual + (o0 + i) * pixels + p0;
        }
        t.row_bias = p.bias != nullptr ? p.bias + o0 : nullptr;
        t.m = m;
        kr.gemm(t, p.act);
      }
    }
  });
}

void pointwise_conv_nchw_packed(const PointwiseConvNchwPacked& p) {
  const int64_t cout = p.out_channels, cin = p.in_channels, pixels = p.pixels;
  if (cout <= 0 || pixels <= 0) return;
  const PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  const int64_t mr = pointwise::balanced_tile_rows(pixels, kr.mr_t), nr = kr.nr;
  const std::vector<float> bias = padded_bias(p.bias, cout);
  const int64_t row_tiles = (pixels + mr - 1) / mr, col_tiles = (cout + nr - 1) / nr;
  // The map's pixel tiles, times the scale if any, packed first: tile t's
  // cin x mr floats at a + t * cin * mr, contiguous for its GEMMs, each row
  // of x read front to back. With TFC's gate as the scale, x * scale is never
  // written, and a k step reads one row of mr floats instead of a row of
  // the (Cin, P) map. TFC 1x1 256@14², batch 8, two threads: 1.39-1.42x ->
  // 1.49-1.51x the module chain in `fastvfx bench` (Xeon with AVX-512;
  // against at::mul writing x * scale, then the strided rows; docs/tfc.md,
  // "Stop 31"; later runs, the host faster, 1.38-1.49x).
  float* a = pointwise::thread_scratch(static_cast<size_t>(row_tiles * cin * mr));
  parallel_for(0, cin, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(pixels, 1)), [&](int64_t k0, int64_t k1) {
    kr.pack_t(p.x, pixels, p.scale, k0, k1, cin, mr, a);
  });
  // A task: the nr output channels of a weight panel (read from L2 once per
  // pixel tile) by every pixel tile.
  const int64_t grain = std::max<int64_t>(1, kTaskMacs / (row_tiles * mr * nr * std::max<int64_t>(cin, 1)));
  parallel_for(0, col_tiles, grain, [&](int64_t begin, int64_t end) {
    pointwise::GemmTileT t;
    t.lda = mr, t.ldc = pixels, t.k_count = cin;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t j0 = j * nr;
      t.b = p.packed_weight + (j0 / kPointwisePanel) * cin * kPointwisePanel + j0 % kPointwisePanel;
      t.bias = bias.data() + j0;
      t.n = std::min(nr, cout - j0);
      for (int64_t q0 = 0; q0 < pixels; q0 += mr) {
        // The next pixel tile's output columns.
        const int64_t next_q0 = q0 + mr, next_m = std::min(mr, pixels - next_q0);
        for (int64_t i = 0; next_m > 0 && i < t.n; ++i) prefetch_floats<1>(p.y + (j0 + i) * pixels + next_q0, next_m);
        t.a = a + q0 / mr * cin * mr;
        t.c = p.y + j0 * pixels + q0;
        t.m = std::min(mr, pixels - q0);
        kr.gemm_t(t, p.act);
      }
    }
  });
}

namespace {

// A channels-last GEMM: tiles of mr output pixels (rows) by nr output
// channels (columns, the packed weight panels). Row i of segment s of a tile
// starting at pixel q0 is row(q0 + i, s), a pointer indexed by k.
struct NhwcGemm {
  int64_t pixels = 0, out_channels = 0, k_total = 0;
  int segments = 0;
  int64_t k_begin[pointwise::kMaxSegments] = {}, k_end[pointwise::kMaxSegments] = {};
  const float* packed_weight = nullptr;
  const float* bias = nullptr;  // null or out_channels values
  float* y = nullptr;
  int64_t y_stride = 0;
  const float* residual = nullptr;
  int64_t residual_stride = 0;
  Activation act = Activation::kNone;
  ResidualOp residual_op = ResidualOp::kAddAfter;

  // Output and residual columns [j0, j0 + n) of rows [q_begin, q_end): the
  // next row tile's, prefetched while this one computes.
  void prefetch_rows(int64_t q_begin, int64_t q_end, int64_t j0, int64_t n) const {
    for (int64_t q = q_begin; q < q_end; ++q) {
      prefetch_floats<1>(y + q * y_stride + j0, n);
      if (residual != nullptr) prefetch_floats(residual + q * residual_stride + j0, n);
    }
  }
};

using TileRows = const float* [pointwise::kMaxSegments][pointwise::kMaxMr];

// A channels-last GEMM's tasks: a block of up to `tiles_per_block` row tiles
// (pixels) by a block of column tiles (output channels), columns outer: each
// weight panel is read once per task while the task's rows stay in L2 (all
// the columns of a row tile instead streamed every panel of the weight, 4 MB
// at 512 -> 2048). Few pixels (a 7x7 map): the columns split too, so that two
// threads share the work.
struct NhwcTasks {
  // A task's pixels [q_begin, q_end) and output channels [j_begin, j_end).
  struct Range {
    int64_t q_begin, q_end, j_begin, j_end;
    int64_t row_tiles(int64_t mr) const { return (q_end - q_begin + mr - 1) / mr; }
  };
  int64_t pixels, cout, mr, nr;
  int64_t row_blocks, rows_per_block, col_blocks, cols_per_block, grain;
  NhwcTasks(int64_t pixels_, int64_t cout_, int64_t mr_, int64_t nr_, int64_t kk, int64_t tiles_per_block)
      : pixels(pixels_), cout(cout_), mr(mr_), nr(nr_) {
    const int64_t row_tiles = (pixels + mr - 1) / mr, col_tiles = (cout + nr - 1) / nr;
    row_blocks = (row_tiles + tiles_per_block - 1) / tiles_per_block;
    rows_per_block = (row_tiles + row_blocks - 1) / row_blocks;
    col_blocks = row_blocks >= 4 ? 1 : std::min(col_tiles, (4 + row_blocks - 1) / row_blocks);
    cols_per_block = (col_tiles + col_blocks - 1) / col_blocks;
    const int64_t task_macs = rows_per_block * mr * cols_per_block * nr * std::max<int64_t>(kk, 1);
    grain = std::max<int64_t>(1, kTaskMacs / task_macs);
  }
  int64_t count() const { return row_blocks * col_blocks; }
  Range range(int64_t task) const {
    const int64_t q_begin = task / col_blocks * rows_per_block * mr, j_begin = task % col_blocks * cols_per_block * nr;
    return {q_begin, std::min(pixels, q_begin + rows_per_block * mr), j_begin,
            std::min(cout, j_begin + cols_per_block * nr)};
  }
};

template <class RowsFn>
void run_nhwc(const NhwcGemm& g, const RowsFn& rows) {
  const int64_t cout = g.out_channels, pixels = g.pixels, kk = g.k_total;
  if (cout <= 0 || pixels <= 0) return;
  const PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  const int64_t nr = kr.nr;
  const int64_t mr = pointwise::balanced_tile_rows(pixels, kr.mr);
  const std::vector<float> bias = padded_bias(g.bias, cout);
  const NhwcTasks tasks(pixels, cout, mr, nr, kk, 8);
  parallel_for(0, tasks.count(), tasks.grain, [&](int64_t begin, int64_t end) {
    TileRows a;
    float* c[pointwise::kMaxMr];
    const float* r[pointwise::kMaxMr];
    // Set up once: value-initialising a tile (328 bytes) for every 8 x 32
    // tile cost a quarter of a 3-channel stem's GEMM time.
    GemmTile t;
    t.segments = g.segments;
    t.ldb = kPointwisePanel;
    t.c = c;
    t.residual = g.residual != nullptr ? r : nullptr;
    t.residual_op = g.residual_op;
    for (int64_t task = begin; task < end; ++task) {
      const NhwcTasks::Range range = tasks.range(task);
      const auto [q_begin, q_end, j_begin, j_end] = range;
      const int64_t tiles = range.row_tiles(mr);
      for (int64_t j0 = j_begin; j0 < j_end; j0 += nr) {
        const float* b = g.packed_weight + (j0 / kPointwisePanel) * kk * kPointwisePanel + j0 % kPointwisePanel;
        // The next column tile's panel (GemmTile::next; nr is a whole panel here).
        t.next = nr == kPointwisePanel && j0 + nr < j_end ? b + kk * kPointwisePanel : nullptr;
        for (int64_t q0 = q_begin; q0 < q_end; q0 += mr) {
          pointwise::set_next_share(t, kk, tiles, (q0 - q_begin) / mr);
          const int64_t m = std::min(mr, pixels - q0);
          g.prefetch_rows(q0 + mr, std::min(q_end, q0 + 2 * mr), j0, nr);
          rows(q0, m, a);
          for (int s = 0; s < g.segments; ++s) t.seg[s] = GemmSegment{a[s], b, g.k_begin[s], g.k_end[s]};
          for (int64_t i = 0; i < m; ++i) {
            c[i] = g.y + (q0 + i) * g.y_stride + j0;
            if (g.residual != nullptr) r[i] = g.residual + (q0 + i) * g.residual_stride + j0;
          }
          t.m = m;
          t.bias = bias.data() + j0;
          t.n = std::min(nr, cout - j0);
          t.prefetch_b = q0 == q_begin;
          kr.gemm(t, g.act);
        }
      }
    }
  });
}

// run_nhwc on rows at a constant stride (a 1x1 conv: row q of segment s at
// x[s] + q * x_stride), through the wider gemm_s tiles (mr_s x nr_s, a tile's
// columns over consecutive panels; AVX-512: 6 x 64, 24 accumulators, where
// gemm's 8 x 32 held 16 and 8 row pointers). SqueezeTime's 1x1 convs, one
// thread, hot, same process, ms gemm / gemm_s (an A/B switch, not kept;
// python bench/gemm_tiles.py times the kernel against oneDNN and ONNX Runtime):
// 64@56² -> 256 0.67-0.75 / 0.61-0.66, 64@56² -> 64 0.16-0.18 / 0.14-0.15,
// 512@28² -> 128 0.58-0.66 / 0.54-0.58, 1024@14² -> 256 0.57-0.61 / 0.55-0.56,
// 7x7 maps 1-3% faster. SqueezeTime's clip, one thread: 76.6 -> 73.2 ms.
void run_nhwc_strided(const NhwcGemm& g, const float* const* x, int64_t x_stride) {
  const int64_t cout = g.out_channels, pixels = g.pixels, kk = g.k_total;
  if (cout <= 0 || pixels <= 0) return;
  const PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  const int64_t nr = kr.nr_s;
  const int64_t mr = pointwise::balanced_tile_rows(pixels, kr.mr_s);
  const std::vector<float> bias = padded_bias(g.bias, cout);
  // Tasks as run_nhwc's, blocks of about 64 pixels.
  const NhwcTasks tasks(pixels, cout, mr, nr, kk, std::max<int64_t>(1, (64 + mr - 1) / mr));
  const int64_t panel_stride = kk * kPointwisePanel;
  parallel_for(0, tasks.count(), tasks.grain, [&](int64_t begin, int64_t end) {
    pointwise::GemmTileS t;
    t.segments = g.segments;
    for (int s = 0; s < g.segments; ++s) t.k_begin[s] = g.k_begin[s], t.k_end[s] = g.k_end[s];
    t.lda = x_stride;
    t.panel_stride = panel_stride;
    t.ldc = g.y_stride;
    t.ldr = g.residual_stride;
    t.residual_op = g.residual_op;
    for (int64_t task = begin; task < end; ++task) {
      const NhwcTasks::Range range = tasks.range(task);
      const auto [q_begin, q_end, j_begin, j_end] = range;
      const int64_t tiles = range.row_tiles(mr);
      for (int64_t j0 = j_begin; j0 < j_end; j0 += nr) {
        t.b = g.packed_weight + (j0 / kPointwisePanel) * panel_stride + j0 % kPointwisePanel;
        t.bias = bias.data() + j0;
        t.n = std::min(nr, cout - j0);
        // The next column tile's panels (GemmTileS::next).
        t.next = j0 + nr < j_end ? g.packed_weight + ((j0 + nr) / kPointwisePanel) * panel_stride : nullptr;
        for (int64_t q0 = q_begin; q0 < q_end; q0 += mr) {
          pointwise::set_next_share(t, kk, tiles, (q0 - q_begin) / mr);
          const int64_t m = std::min(mr, pixels - q0);
          g.prefetch_rows(q0 + mr, std::min(q_end, q0 + 2 * mr), j0, t.n);
          for (int s = 0; s < g.segments; ++s) t.a[s] = x[s] + q0 * x_stride;
          t.c = g.y + q0 * g.y_stride + j0;
          t.residual = g.residual != nullptr ? g.residual + q0 * g.residual_stride + j0 : nullptr;
          t.m = m;
          t.prefetch_b = q0 == q_begin;
          kr.gemm_s(t, g.act);
        }
      }
    }
  });
}

}  // namespace

void pointwise_conv_nhwc(const PointwiseConvNhwc& p) {
  NhwcGemm g;
  g.pixels = p.pixels, g.out_channels = p.out_channels, g.k_total = p.in_channels;
  const float* x[3];
  int64_t idx = 0;
  for (int s = 0; s < p.sources; ++s) {
    const PointwiseSource& src = p.source[s];
    if (src.x == nullptr || src.k_end <= src.k_begin) continue;  // zeros: no contribution
    x[idx] = src.x;
    g.k_begin[idx] = src.k_begin, g.k_end[idx] = src.k_end;
    ++idx;
  }
  g.segments = static_cast<int>(idx);
  g.packed_weight = p.packed_weight, g.bias = p.bias;
  g.y = p.y, g.y_stride = p.y_stride;
  g.residual = p.residual, g.residual_stride = p.residual_stride;
  g.act = p.act, g.residual_op = p.residual_op;
  run_nhwc_strided(g, x, p.x_stride);
}

int64_t Conv2dNhwc::out_h() const { return height > 0 ? (height + 2 * pad_top - kernel_h) / stride + 1 : 0; }
int64_t Conv2dNhwc::out_w() const { return width > 0 ? (width + 2 * pad_left - kernel_w) / stride + 1 : 0; }

namespace {

// A conv of at most this many input channels on NCHW input (an RGB stem)
// runs direct: per output row, the kernel rows of each input channel are
// copied zero-padded into a few KB of scratch (kh * cin rows), and the
// microkernel reads each tile's inputs from them at constant offsets. The
// general path transposes the image into a padded channels-last copy and
// runs a GEMM whose tiles each set up kh * mr row pointers: MobileNetV2's
// stem (3 -> 32, 3x3, stride 2, 224x224, one thread) took 0.31-0.34 ms
// there, 0.25-0.26 here (python bench/mobilenet_stem.py).
constexpr int64_t kDirectMaxCin = 4;

bool conv2d_direct(const Conv2dNhwc& p, int64_t oh, int64_t ow) {
  const int64_t n = p.batch, cin = p.in_channels, kh = p.kernel_h, kw = p.kernel_w, st = p.stride;
  const PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  if (!p.nchw_input || cin > kDirectMaxCin || kh > kMaxConvKernelRows || (st != 1 && st != 2)) return false;
  const int64_t cout = p.out_channels, nr = kr.nr, mr = kr.mr_direct;
  // Every tile reads mr pixels' worth: the rows cover whole tiles.
  const int64_t row_len = ((ow + mr - 1) / mr * mr - 1) * st + kw;
  const int64_t w_copy = std::max<int64_t>(0, std::min(p.width, row_len - p.pad_left));
  const int64_t kk = kh * kw * cin;
  const std::vector<float> bias = padded_bias(p.bias, cout);
  const int64_t row_macs = ow * pointwise_padded(cout) * kk;
  parallel_for(0, n * oh, std::max<int64_t>(1, kTaskMacs / std::max<int64_t>(1, row_macs)), [&](int64_t b, int64_t e) {
    float* rows_buf = pointwise::thread_scratch(static_cast<size_t>(cin * kh * row_len));
    const float* rows[kDirectMaxCin * kMaxConvKernelRows];
    for (int64_t i = 0; i < cin * kh; ++i) rows[i] = rows_buf + i * row_len;
    pointwise::DirectConvRow r;
    r.rows = rows, r.cin = cin, r.kh = kh, r.kw = kw, r.stride = st;
    r.out_w = ow, r.out_stride = cout;
    r.residual_stride = cout, r.residual_op = p.residual_op;
    for (int64_t row = b; row < e; ++row) {
      const int64_t img = row / oh, oy = row % oh;
      for (int64_t c = 0; c < cin; ++c) {
        for (int64_t ky = 0; ky < kh; ++ky) {
          float* dst = rows_buf + (c * kh + ky) * row_len;
          const int64_t iy = oy * st + ky - p.pad_top;
          if (iy < 0 || iy >= p.height || w_copy == 0) {
            std::memset(dst, 0, sizeof(float) * row_len);
            continue;
          }
          std::memset(dst, 0, sizeof(float) * p.pad_left);
          std::memcpy(dst + p.pad_left, p.x + ((img * cin + c) * p.height + iy) * p.width, sizeof(float) * w_copy);
          std::memset(dst + p.pad_left + w_copy, 0, sizeof(float) * (row_len - p.pad_left - w_copy));
        }
      }
      for (int64_t j0 = 0; j0 < cout; j0 += nr) {
        r.w = p.packed_weight + (j0 / kPointwisePanel) * kk * kPointwisePanel + j0 % kPointwisePanel;
        r.bias = bias.data() + j0;
        r.n = std::min(nr, cout - j0);
        r.out = p.y + row * ow * cout + j0;
        r.residual = p.residual != nullptr ? p.residual + row * ow * cout + j0 : nullptr;
        kr.direct_conv_row(r, p.act);
      }
    }
  });
  return true;
}

}  // namespace

void conv2d_nhwc(const Conv2dNhwc& p) {
  const int64_t n = p.batch, cin = p.in_channels, kh = p.kernel_h, kw = p.kernel_w, st = p.stride;
  const int64_t oh = p.out_h(), ow = p.out_w();
  if (n <= 0 || oh <= 0 || ow <= 0 || p.out_channels <= 0) return;
  if (conv2d_direct(p, oh, ow)) return;
  // The zero-padded input, (N, HP, WP, Cin), in the caller's reused scratch.
  const int64_t hp = std::max(p.height + p.pad_top, (oh - 1) * st + kh);
  const int64_t wp = std::max(p.width + p.pad_left, (ow - 1) * st + kw);
  thread_local std::vector<float> storage;
  const size_t need = static_cast<size_t>(n * hp * wp * cin);
  if (storage.size() < need) storage.resize(need);
  float* padded = storage.data();
  const int64_t h_copy = std::min(p.height, hp - p.pad_top), w_copy = std::min(p.width, wp - p.pad_left);
  const auto transpose = dwconv3d::kernels_for(active_isa()).transpose_f32;
  parallel_for(0, n * hp, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, wp * cin)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t img = row / hp, r = row % hp - p.pad_top;
      float* dst = padded + row * wp * cin;
      if (r < 0 || r >= h_copy) {
        std::memset(dst, 0, sizeof(float) * wp * cin);
        continue;
      }
      std::memset(dst, 0, sizeof(float) * p.pad_left * cin);
      std::memset(dst + (p.pad_left + w_copy) * cin, 0, sizeof(float) * (wp - p.pad_left - w_copy) * cin);
      float* interior = dst + p.pad_left * cin;
      if (p.nchw_input) {  // the (Cin, W) row of every channel, transposed
        transpose(p.x + (img * cin * p.height + r) * p.width, p.height * p.width, interior, cin, cin, w_copy);
      } else {
        std::memcpy(interior, p.x + ((img * p.height + r) * p.width) * cin, sizeof(float) * w_copy * cin);
      }
    }
  });
  NhwcGemm g;
  g.pixels = n * oh * ow, g.out_channels = p.out_channels, g.k_total = kh * kw * cin;
  g.segments = static_cast<int>(kh);
  for (int64_t s = 0; s < kh; ++s) g.k_begin[s] = s * kw * cin, g.k_end[s] = (s + 1) * kw * cin;
  g.packed_weight = p.packed_weight, g.bias = p.bias;
  g.y = p.y, g.y_stride = p.out_channels;
  g.residual = p.residual, g.residual_stride = p.out_channels;
  g.act = p.act, g.residual_op = p.residual_op;
  const int64_t frame = oh * ow, segment_step = (wp - kw) * cin;
  run_nhwc(g, [&](int64_t q0, int64_t m, TileRows& a) {
    // Output pixel (y, x) of image img reads kernel row s from padded row
    // y * st + s, kw pixels from x * st, indexed by k from s * kw * cin: row
    // 0's pointer plus s * (wp - kw) * cin. One division a tile; the pixels
    // then step along the output row and wrap to the next.
    int64_t img = q0 / frame, o = q0 % frame, y = o / ow, x = o % ow;
    for (int64_t i = 0; i < m; ++i) {
      const float* p0 = padded + ((img * hp + y * st) * wp + x * st) * cin;
      for (int64_t s = 0; s < kh; ++s) a[s][i] = p0 + s * segment_step;
      if (++x == ow) {
        x = 0;
        if (++y == oh) y = 0, ++img;
      }
    }
  });
}

}  // namespace fastvfx
