// Argument checks and layout description shared by the temporal-shift ops,
// CPU and CUDA, so that both raise the same messages.
#pragma once

#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>

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

// The weight and bias of shift_conv1x1 for x (checked already).
inline void check_shift_conv1x1_args(const at::Tensor& x, const at::Tensor& weight,
                                     const std::optional<at::Tensor>& bias, const char* op) {
  const int64_t cin = x.size(1);
  TORCH_CHECK(weight.dim() == 2 || (weight.dim() == 4 && weight.size(2) == 1 && weight.size(3) == 1),
              op, ": weight must be (C_out, C_in, 1, 1) or (C_out, C_in), got ", weight.sizes());
  TORCH_CHECK(weight.size(1) == cin, op, ": weight expects ", weight.size(1),
              " input channels but x has ", cin);
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), op, ": weight dtype ", weight.scalar_type(),
              " does not match x dtype ", x.scalar_type());
  const int64_t cout = weight.size(0);
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == cout, op, ": bias must have shape (", cout,
                "), got ", bias->sizes());
    TORCH_CHECK(bias->scalar_type() == x.scalar_type(), op, ": bias dtype ", bias->scalar_type(),
                " does not match x dtype ", x.scalar_type());
  }
}

// x (N, C, H, W) and the cache (N, fold, H, W) of an online step: after
// this, a non-empty pair is dense in one layout the swap reads in place.
inline void check_online_args(const at::Tensor& x, const at::Tensor& cache, const char* op) {
  check_frames(x, op);
  TORCH_CHECK(cache.dim() == 4, op, ": expected cache of shape (N, fold, H, W), got ",
              cache.sizes());
  TORCH_CHECK(cache.scalar_type() == x.scalar_type(), op, ": cache dtype ", cache.scalar_type(),
              " does not match x dtype ", x.scalar_type());
  TORCH_CHECK(cache.device() == x.device(), op, ": cache is on ", cache.device(), " but x is on ",
              x.device());
  TORCH_CHECK(cache.size(0) == x.size(0) && cache.size(2) == x.size(2) &&
                  cache.size(3) == x.size(3) && cache.size(1) <= x.size(1),
              op, ": cache of shape ", cache.sizes(), " does not fit x of shape ", x.sizes(),
              " (expected (N, fold, H, W) with fold <= C)");
  if (x.numel() == 0 || cache.numel() == 0) return;  // nothing moves
  const auto x_layout = layout_of(x);
  const auto c_layout = layout_of(cache);
  TORCH_CHECK(x_layout && c_layout && (*x_layout == *c_layout || cache.size(1) == 1 ||
                                       x.size(2) * x.size(3) == 1),
              op, ": x and cache must both be contiguous, or both channels_last (in-place "
              "swap without copies); got strides ", x.strides(), " and ", cache.strides());
  // Both are dense now, so the overlap test is exact.
  TORCH_CHECK(at::get_overlap_status(x, cache) == at::MemOverlapStatus::No, op,
              ": x and cache must not share memory");
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
