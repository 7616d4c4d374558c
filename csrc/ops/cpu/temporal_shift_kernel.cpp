// CPU implementations of the temporal-shift ops: check, pick the layout the
// core reads directly, call the core once.
#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>
#include <torch/library.h>

#include "../temporal_shift_checks.h"
#include "large_outputs.h"

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
  prepare_large_output(out);
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
  check_online_args(x, cache, op);
  if (x.numel() == 0 || cache.numel() == 0) return;
  const auto x_layout = layout_of(x);
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
