// The 1x1 conv drivers (see fastvfx/pointwise_conv.h). Channels-first: tiles
// of output channels (rows, the weights broadcast) by pixels (columns, the
// input rows loaded as vectors); channels-last: tiles of pixels (rows) by
// output channels (columns, the packed weights). A task owns a block of
// tiles; a right edge of channels-first pixels is copied into a padded panel
// so that no vector reads past the input.
#include <algorithm>
#include <cstring>
#include <vector>

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

float* scratch(size_t floats) {
  thread_local std::vector<float> storage;
  if (storage.size() < floats) storage.resize(floats);
  return storage.data();
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
    t.residual_first = p.residual_first;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t col = task / row_blocks, block = task % row_blocks;
      const int64_t p0 = col * nr, n = std::min(nr, pixels - p0);
      const float* tail = nullptr;
      if (n < nr) {  // the right edge: its columns into a zero-padded panel
        float* panel = scratch(static_cast<size_t>(cin * nr));
        std::memset(panel, 0, sizeof(float) * cin * nr);
        for (int s = 0; s < p.sources; ++s) {
          const PointwiseSource& src = p.source[s];
          if (src.x == nullptr) continue;
          for (int64_t k = src.k_begin; k < src.k_end; ++k) {
            std::memcpy(panel + k * nr, src.x + k * pixels + p0, sizeof(float) * n);
          }
        }
        tail = panel;
      }
      int sg = 0;
      for (int s = 0; s < p.sources; ++s) {
        if (p.source[s].x == nullptr || p.source[s].k_end <= p.source[s].k_begin) continue;
        t.seg[sg++].b = tail != nullptr ? tail : p.source[s].x + p0;
      }
      t.ldb = tail != nullptr ? nr : pixels;
      t.n = n;
      const int64_t o_end = std::min(cout, (block + 1) * rows_per_task * mr);
      for (int64_t o0 = block * rows_per_task * mr; o0 < o_end; o0 += mr) {
        const int64_t m = std::min(mr, cout - o0);
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

void pointwise_conv_nhwc(const PointwiseConvNhwc& p) {
  const int64_t cout = p.out_channels, cin = p.in_channels, pixels = p.pixels;
  if (cout <= 0 || pixels <= 0) return;
  const PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  const int64_t mr = kr.mr, nr = kr.nr;
  const int64_t cp = pointwise_padded(cout);
  std::vector<float> bias(static_cast<size_t>(cp), 0.f);  // read a vector at a time
  if (p.bias != nullptr) std::copy(p.bias, p.bias + cout, bias.begin());
  const int64_t row_tiles = (pixels + mr - 1) / mr;
  const int64_t tiles_per_task = std::max<int64_t>(1, std::min<int64_t>(8, (row_tiles + 7) / 8));
  const int64_t tasks = (row_tiles + tiles_per_task - 1) / tiles_per_task;
  const int64_t task_macs = tiles_per_task * mr * cout * std::max<int64_t>(cin, 1);
  const int64_t grain = std::max<int64_t>(1, kTaskMacs / task_macs);
  parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
    const float* a[3][pointwise::kMaxMr];
    float* c[pointwise::kMaxMr];
    float* c_col[pointwise::kMaxMr];
    const float* r[pointwise::kMaxMr];
    const float* r_col[pointwise::kMaxMr];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t q_end = std::min(pixels, (task + 1) * tiles_per_task * mr);
      for (int64_t q0 = task * tiles_per_task * mr; q0 < q_end; q0 += mr) {
        const int64_t m = std::min(mr, pixels - q0);
        GemmTile t;
        for (int s = 0; s < p.sources; ++s) {
          const PointwiseSource& src = p.source[s];
          if (src.x == nullptr || src.k_end <= src.k_begin) continue;
          for (int64_t i = 0; i < mr; ++i) a[s][i] = src.x + (q0 + std::min(i, m - 1)) * p.x_stride;
          t.seg[t.segments++] = GemmSegment{a[s], nullptr, src.k_begin, src.k_end};
        }
        for (int64_t i = 0; i < m; ++i) {
          c[i] = p.y + (q0 + i) * p.y_stride;
          if (p.residual != nullptr) r[i] = p.residual + (q0 + i) * p.residual_stride;
        }
        t.ldb = kPointwisePanel;
        t.c = c_col;
        t.residual = p.residual != nullptr ? r_col : nullptr;
        t.residual_first = p.residual_first;
        t.m = m;
        for (int64_t j0 = 0; j0 < cout; j0 += nr) {
          for (int64_t i = 0; i < m; ++i) {
            c_col[i] = c[i] + j0;
            if (p.residual != nullptr) r_col[i] = r[i] + j0;
          }
          const float* b = p.packed_weight + (j0 / kPointwisePanel) * cin * kPointwisePanel + j0 % kPointwisePanel;
          for (int s = 0; s < t.segments; ++s) t.seg[s].b = b;
          t.bias = bias.data() + j0;
          t.n = std::min(nr, cout - j0);
          kr.gemm(t, p.act);
        }
      }
    }
  });
}

}  // namespace fastvfx
