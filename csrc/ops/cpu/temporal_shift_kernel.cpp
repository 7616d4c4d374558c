// CPU implementations of the temporal-shift ops: check, pick the layout the
// core reads directly, call the core once.
#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>
#include <torch/library.h>

#include "shift_common.h"

namespace fastvfx::ops {
namespace {

at::Tensor temporal_shift_cpu(const at::Tensor& x, int64_t n_segment, int64_t fold_div,
                              c10::string_view mode, bool reverse) {
  constexpr const char* op = "fastvfx.temporal_shift";
  check_shift_args(x, n_segment, fold_div, op);
  const ShiftMode m = parse_shift_mode(mode, op);
  const auto layout = layout_of(x);
  const at::Tensor src = layout ? x : x.contiguous();
  const FrameLayout lay = layout.value_or(FrameLayout::kNCHW);
  at::Tensor out = at::empty_like(src, memory_format_of(lay));
  if (x.numel() == 0) return out;
  temporal_shift(src.const_data_ptr(), out.mutable_data_ptr(),
                 shift_shape(src, n_segment, x.size(1) / fold_div, lay), m, reverse);
  return out;
}

void temporal_shift_inplace_cpu(at::Tensor& x, int64_t n_segment, int64_t fold_div,
                                c10::string_view mode, bool reverse) {
  constexpr const char* op = "fastvfx.temporal_shift_";
  check_shift_args(x, n_segment, fold_div, op);
  const ShiftMode m = parse_shift_mode(mode, op);
  if (x.numel() == 0) return;
  const int64_t fold = x.size(1) / fold_div;
  if (const auto layout = layout_of(x)) {
    temporal_shift_inplace(x.mutable_data_ptr(), shift_shape(x, n_segment, fold, *layout), m,
                           reverse);
    return;
  }
  // A strided view: shift a dense copy, then write it back through the view.
  at::Tensor dense = x.contiguous();
  temporal_shift_inplace(dense.mutable_data_ptr(),
                         shift_shape(dense, n_segment, fold, FrameLayout::kNCHW), m, reverse);
  x.copy_(dense);
}

void temporal_shift_online_inplace_cpu(at::Tensor& x, at::Tensor& cache) {
  constexpr const char* op = "fastvfx.temporal_shift_online_";
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
  if (x.numel() == 0 || cache.numel() == 0) return;
  const auto x_layout = layout_of(x);
  const auto c_layout = layout_of(cache);
  TORCH_CHECK(x_layout && c_layout && (*x_layout == *c_layout || cache.size(1) == 1 ||
                                       x.size(2) * x.size(3) == 1),
              op, ": x and cache must both be contiguous, or both channels_last (in-place "
              "swap without copies); got strides ", x.strides(), " and ", cache.strides());
  // Both are dense now, so the overlap test is exact.
  TORCH_CHECK(at::get_overlap_status(x, cache) == at::MemOverlapStatus::No, op,
              ": x and cache must not share memory");
  temporal_shift_online_swap(x.mutable_data_ptr(), cache.mutable_data_ptr(),
                             shift_shape(x, 1, cache.size(1), *x_layout));
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) {
  m.impl("temporal_shift", temporal_shift_cpu);
  m.impl("temporal_shift_", temporal_shift_inplace_cpu);
  m.impl("temporal_shift_online_", temporal_shift_online_inplace_cpu);
}

}  // namespace fastvfx::ops
