// Temporal shift (TSM) on raw memory: pure data movement, any element size.
//
// Layout. A tensor of n_batch * n_segment frames; each frame holds `rows` rows
// of `channels` channels of `inner` contiguous elements:
//   NCHW frames:  rows = 1,     inner = H * W
//   NHWC frames:  rows = H * W, inner = 1
// so element (b, t, r, c, i) lives at
//   (((b * n_segment + t) * rows + r) * channels + c) * inner + i.
//
// Semantics (TSM, fold = channels / fold_div, clipped to the channel count):
//   kBidirectional: channels [0, fold) take frame t+1 (zeros after the last
//                   frame), channels [fold, 2*fold) take frame t-1 (zeros before
//                   the first), the rest stay.
//   kPast:          channels [0, fold) take frame t-1 (zeros before the first).
// `reverse` shifts the other way: it is the adjoint (the backward) of the shift.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastvfx {

enum class ShiftMode : int { kBidirectional = 0, kPast = 1 };

struct ShiftShape {
  int64_t n_batch = 1;
  int64_t n_segment = 1;
  int64_t rows = 1;
  int64_t channels = 1;
  int64_t inner = 1;
  int64_t fold = 0;
  int64_t elem_size = 4;

  int64_t frames() const { return n_batch * n_segment; }
  int64_t frame_elems() const { return rows * channels * inner; }
};

// A channel range [lo, hi) whose values come from frame t + dt (zeros when that
// frame is outside the clip). dt is -1, 0 or +1.
struct ShiftSpan {
  int64_t lo = 0;
  int64_t hi = 0;
  int dt = 0;
};

// The spans of a shift, ordered by channel, covering [0, channels) exactly.
struct ShiftPlan {
  ShiftSpan spans[3];
  int count = 0;
};

ShiftPlan make_shift_plan(const ShiftShape& shape, ShiftMode mode, bool reverse);

// dst = shift(src). src and dst must not overlap.
void temporal_shift(const void* src, void* dst, const ShiftShape& shape, ShiftMode mode,
                    bool reverse);

// x = shift(x), touching only the channels that move.
void temporal_shift_inplace(void* x, const ShiftShape& shape, ShiftMode mode, bool reverse);

// Online TSM step. x holds n_batch single frames laid out as above (n_segment is
// ignored), cache holds n_batch frames of `fold` channels in the same layout.
// Swaps x's channels [0, fold) with cache.
void temporal_shift_online_swap(void* x, void* cache, const ShiftShape& shape);

// Writes the shifted values of frame `frame`, rows [r0, r1), inner positions
// [i0, i1) into dst, where row r, channel c starts at
//   dst + (r - r0) * dst_row_stride + c * dst_channel_stride   (bytes).
// This is the read side of a fused consumer (the shift applied while packing a
// GEMM operand); it runs on the calling thread.
void temporal_shift_gather_tile(const void* src, const ShiftShape& shape, const ShiftPlan& plan,
                                int64_t frame, int64_t r0, int64_t r1, int64_t i0, int64_t i1,
                                void* dst, int64_t dst_row_stride, int64_t dst_channel_stride);

}  // namespace fastvfx
