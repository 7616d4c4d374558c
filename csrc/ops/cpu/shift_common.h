// Argument checks and layout description shared by the temporal-shift ops.
#pragma once

#include <ATen/ATen.h>

#include <string_view>

#include "fastvfx/temporal_shift.h"

namespace fastvfx::ops {

// The frame layout the core sees: NCHW (rows = 1) or NHWC (inner = 1).
enum class FrameLayout { kNCHW, kNHWC };

// Layout of a tensor the core can read in place, or nullopt when it needs a
// contiguous copy first. A tensor contiguous in both senses (H = W = 1) counts
// as NCHW.
inline std::optional<FrameLayout> layout_of(const at::Tensor& x) {
  if (x.is_contiguous()) return FrameLayout::kNCHW;
  if (x.is_contiguous(at::MemoryFormat::ChannelsLast)) return FrameLayout::kNHWC;
  return std::nullopt;
}

inline at::MemoryFormat memory_format_of(FrameLayout layout) {
  return layout == FrameLayout::kNHWC ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

inline ShiftMode parse_shift_mode(std::string_view mode, const char* op) {
  if (mode == "bidirectional") return ShiftMode::kBidirectional;
  if (mode == "past") return ShiftMode::kPast;
  TORCH_CHECK(false, op, ": mode must be 'bidirectional' or 'past', got '", mode, "'");
}

inline void check_frames(const at::Tensor& x, const char* op) {
  TORCH_CHECK(x.dim() == 4, op, ": expected x of shape (N*T, C, H, W), got a ", x.dim(),
              "-D tensor of shape ", x.sizes());
  TORCH_CHECK(at::isFloatingType(x.scalar_type()), op,
              ": expected a floating-point tensor (float32, float64, float16, bfloat16), got ",
              x.scalar_type());
}

inline void check_shift_args(const at::Tensor& x, int64_t n_segment, int64_t fold_div,
                             const char* op) {
  check_frames(x, op);
  TORCH_CHECK(n_segment >= 1, op, ": n_segment must be >= 1, got ", n_segment);
  TORCH_CHECK(fold_div >= 1, op, ": fold_div must be >= 1, got ", fold_div);
  TORCH_CHECK(x.size(0) % n_segment == 0, op, ": the first dimension (N*T = ", x.size(0),
              ") must be divisible by n_segment = ", n_segment);
}

// x: (N*T, C, H, W) in `layout`, contiguous in it.
inline ShiftShape shift_shape(const at::Tensor& x, int64_t n_segment, int64_t fold,
                              FrameLayout layout) {
  ShiftShape s;
  s.n_segment = n_segment;
  s.n_batch = x.size(0) / n_segment;
  s.channels = x.size(1);
  const int64_t hw = x.size(2) * x.size(3);
  s.rows = layout == FrameLayout::kNHWC ? hw : 1;
  s.inner = layout == FrameLayout::kNHWC ? 1 : hw;
  s.fold = fold;
  s.elem_size = static_cast<int64_t>(x.element_size());
  return s;
}

}  // namespace fastvfx::ops
