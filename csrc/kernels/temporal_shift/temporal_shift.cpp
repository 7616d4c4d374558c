// Temporal shift drivers: split the work into independent tiles of about
// kTileBytes, and move each tile's channel runs with the active ISA's
// byte-movement microkernels (common/move_ukernels*.cpp).
#include "fastvfx/temporal_shift.h"

#include <algorithm>

#include "../common/move_ukernels.h"
#include "fastvfx/parallel.h"

namespace fastvfx {
namespace {

// Big enough to amortise a task, small enough to stay in L1/L2 and to give
// two or more threads work on a single small frame.
constexpr int64_t kTileBytes = 32 * 1024;

struct ByteGeometry {
  int64_t elem;     // bytes of one element
  int64_t channel;  // bytes of one channel run (inner elements)
  int64_t row;      // bytes of one row (all channels)
  int64_t frame;    // bytes of one frame (all rows)

  explicit ByteGeometry(const ShiftShape& s)
      : elem(s.elem_size),
        channel(s.inner * s.elem_size),
        row(s.channels * s.inner * s.elem_size),
        frame(s.rows * s.channels * s.inner * s.elem_size) {}
};

// A frame cut into tiles: blocks of rows (NHWC: many short rows) or blocks of
// inner positions (NCHW: one row of long channel runs).
struct FrameTiling {
  int64_t rows, inner;
  int64_t row_block = 1, inner_block = 1;
  int64_t row_tiles = 1, inner_tiles = 1;

  // bytes_per_position: bytes a tile touches per (row, inner position).
  FrameTiling(const ShiftShape& s, int64_t bytes_per_position) : rows(s.rows), inner(s.inner) {
    const int64_t target = std::max<int64_t>(1, kTileBytes / std::max<int64_t>(1, bytes_per_position));
    if (inner >= target) {
      inner_block = target;
      row_block = 1;
    } else {
      inner_block = std::max<int64_t>(1, inner);
      row_block = std::max<int64_t>(1, target / inner_block);
    }
    row_tiles = (rows + row_block - 1) / row_block;
    inner_tiles = (inner + inner_block - 1) / inner_block;
  }

  int64_t count() const { return row_tiles * inner_tiles; }

  struct Tile {
    int64_t r0, r1, i0, i1;
  };
  Tile tile(int64_t index) const {
    const int64_t rt = index / inner_tiles, it = index % inner_tiles;
    const int64_t r0 = rt * row_block, i0 = it * inner_block;
    return {r0, std::min(rows, r0 + row_block), i0, std::min(inner, i0 + inner_block)};
  }
};

// Calls op(dst_offset, src_offset, nbytes) for the runs of channels [lo, hi)
// restricted to inner positions [i0, i1): one run when whole channels are
// contiguous on both sides, else one run per channel.
template <class Op>
inline void for_channel_runs(const ByteGeometry& g, int64_t inner, int64_t lo, int64_t hi,
                             int64_t i0, int64_t i1, int64_t dst_channel_stride, Op&& op) {
  if (lo >= hi) return;
  if (i0 == 0 && i1 == inner && dst_channel_stride == g.channel) {
    op(lo * g.channel, lo * g.channel, (hi - lo) * g.channel);
    return;
  }
  const int64_t run = (i1 - i0) * g.elem;
  for (int64_t c = lo; c < hi; ++c) op(c * dst_channel_stride, c * g.channel + i0 * g.elem, run);
}

int64_t moved_channels(const ShiftPlan& plan) {
  int64_t n = 0;
  for (int k = 0; k < plan.count; ++k) {
    if (plan.spans[k].dt != 0) n += plan.spans[k].hi - plan.spans[k].lo;
  }
  return n;
}

}  // namespace

ShiftPlan make_shift_plan(const ShiftShape& shape, ShiftMode mode, bool reverse) {
  const int64_t c = shape.channels;
  const int64_t fold = std::min(std::max<int64_t>(shape.fold, 0), c);
  ShiftPlan plan;
  auto add = [&plan](int64_t lo, int64_t hi, int dt) {
    if (lo < hi) plan.spans[plan.count++] = {lo, hi, dt};
  };
  if (mode == ShiftMode::kBidirectional) {
    const int64_t fold2 = std::min(2 * fold, c);
    add(0, fold, reverse ? -1 : +1);
    add(fold, fold2, reverse ? +1 : -1);
    add(fold2, c, 0);
  } else {
    add(0, fold, reverse ? +1 : -1);
    add(fold, c, 0);
  }
  return plan;
}

void temporal_shift_gather_tile(const void* src, const ShiftShape& shape, const ShiftPlan& plan,
                                int64_t frame, int64_t r0, int64_t r1, int64_t i0, int64_t i1,
                                void* dst, int64_t dst_row_stride, int64_t dst_channel_stride) {
  const MoveUkernels& uk = move_ukernels(active_isa());
  const ByteGeometry g(shape);
  const int64_t t = frame % shape.n_segment;
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  for (int64_t r = r0; r < r1; ++r) {
    unsigned char* d_row = d + (r - r0) * dst_row_stride;
    for (int k = 0; k < plan.count; ++k) {
      const ShiftSpan& span = plan.spans[k];
      const int64_t ts = t + span.dt;
      if (ts < 0 || ts >= shape.n_segment) {
        for_channel_runs(g, shape.inner, span.lo, span.hi, i0, i1, dst_channel_stride,
                         [&](int64_t doff, int64_t, int64_t n) { uk.zero(d_row + doff, n); });
      } else {
        const unsigned char* s_row = s + (frame + span.dt) * g.frame + r * g.row;
        for_channel_runs(g, shape.inner, span.lo, span.hi, i0, i1, dst_channel_stride,
                         [&](int64_t doff, int64_t soff, int64_t n) {
                           uk.copy(d_row + doff, s_row + soff, n);
                         });
      }
    }
  }
}

void temporal_shift(const void* src, void* dst, const ShiftShape& shape, ShiftMode mode,
                    bool reverse) {
  if (shape.frames() <= 0 || shape.frame_elems() <= 0) return;
  const ShiftPlan plan = make_shift_plan(shape, mode, reverse);
  const ByteGeometry g(shape);
  const FrameTiling tiling(shape, g.row / std::max<int64_t>(1, shape.inner));
  auto* d = static_cast<unsigned char*>(dst);
  parallel_for(0, shape.frames() * tiling.count(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t f = item / tiling.count();
      const auto tile = tiling.tile(item % tiling.count());
      unsigned char* d_tile = d + f * g.frame + tile.r0 * g.row + tile.i0 * g.elem;
      temporal_shift_gather_tile(src, shape, plan, f, tile.r0, tile.r1, tile.i0, tile.i1, d_tile,
                                 g.row, g.channel);
    }
  });
}

void temporal_shift_inplace(void* x, const ShiftShape& shape, ShiftMode mode, bool reverse) {
  if (shape.frames() <= 0 || shape.frame_elems() <= 0) return;
  const ShiftPlan plan = make_shift_plan(shape, mode, reverse);
  const int64_t moved = moved_channels(plan);
  if (moved == 0) return;
  const ByteGeometry g(shape);
  const FrameTiling tiling(shape, moved * g.elem);
  const int64_t T = shape.n_segment;
  auto* base = static_cast<unsigned char*>(x);
  parallel_for(0, shape.n_batch * tiling.count(), 1, [&](int64_t begin, int64_t end) {
    const MoveUkernels& uk = move_ukernels(active_isa());
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / tiling.count();
      const auto tile = tiling.tile(item % tiling.count());
      unsigned char* clip = base + b * T * g.frame;
      // Moves the tile's span channels from frame `from` into frame `to`
      // (from < 0: zero-fill).
      auto move = [&](const ShiftSpan& span, int64_t to, int64_t from) {
        for (int64_t r = tile.r0; r < tile.r1; ++r) {
          unsigned char* d_row = clip + to * g.frame + r * g.row;
          const unsigned char* s_row = clip + from * g.frame + r * g.row;
          for_channel_runs(g, shape.inner, span.lo, span.hi, tile.i0, tile.i1, g.channel,
                           // Both sides lie in x: the source offset serves both.
                           [&](int64_t, int64_t off, int64_t n) {
                             if (from < 0) {
                               uk.zero(d_row + off, n);
                             } else {
                               uk.copy(d_row + off, s_row + off, n);
                             }
                           });
        }
      };
      for (int k = 0; k < plan.count; ++k) {
        const ShiftSpan& span = plan.spans[k];
        if (span.dt > 0) {
          for (int64_t t = 0; t + 1 < T; ++t) move(span, t, t + 1);
          move(span, T - 1, -1);
        } else if (span.dt < 0) {
          for (int64_t t = T - 1; t > 0; --t) move(span, t, t - 1);
          move(span, 0, -1);
        }
      }
    }
  });
}

void temporal_shift_online_swap(void* x, void* cache, const ShiftShape& shape) {
  const int64_t fold = std::min(std::max<int64_t>(shape.fold, 0), shape.channels);
  if (shape.n_batch <= 0 || fold == 0 || shape.rows <= 0 || shape.inner <= 0) return;
  const ByteGeometry g(shape);
  const int64_t cache_row = fold * g.channel;
  const FrameTiling tiling(shape, fold * g.elem);
  auto* xb = static_cast<unsigned char*>(x);
  auto* cb = static_cast<unsigned char*>(cache);
  parallel_for(0, shape.n_batch * tiling.count(), 1, [&](int64_t begin, int64_t end) {
    const MoveUkernels& uk = move_ukernels(active_isa());
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / tiling.count();
      const auto tile = tiling.tile(item % tiling.count());
      for (int64_t r = tile.r0; r < tile.r1; ++r) {
        unsigned char* x_row = xb + n * g.frame + r * g.row;
        unsigned char* c_row = cb + (n * shape.rows + r) * cache_row;
        // x and cache share the channel stride (same inner), so one set of
        // offsets serves both.
        for_channel_runs(g, shape.inner, 0, fold, tile.i0, tile.i1, g.channel,
                         [&](int64_t, int64_t off, int64_t bytes) {
                           uk.swap(x_row + off, c_row + off, bytes);
                         });
      }
    }
  });
}

}  // namespace fastvfx
