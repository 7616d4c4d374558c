// CUDA shift_conv1x1: the shift kernel gathers the shifted input into the
// GEMM's operand, then the 1x1 conv is cuDNN's/cuBLAS's (at::conv2d keeps
// channels_last inputs channels_last).
#include <torch/library.h>

#include "../temporal_shift_checks.h"
#include "cuda_common.h"

namespace fastvfx::ops {
namespace {

at::Tensor shift_conv1x1_cuda(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                              int64_t n_segment, int64_t fold_div, c10::string_view mode) {
  constexpr const char* op = "fastvfx.shift_conv1x1";
  check_shift_args(x, n_segment, fold_div, op);
  const ShiftMode m = parse_shift_mode(mode, op);
  check_shift_conv1x1_args(x, weight, bias, op);
  const int64_t cin = x.size(1), cout = weight.size(0);
  const auto layout = layout_of(x);
  const at::Tensor src = layout ? x : x.contiguous();
  const FrameLayout lay = layout.value_or(FrameLayout::kNCHW);
  if (x.numel() == 0 || cin == 0) {
    at::Tensor out = at::empty({x.size(0), cout, x.size(2), x.size(3)}, x.options(), memory_format_of(lay));
    return bias ? out.copy_(bias->detach().view({1, cout, 1, 1}).expand_as(out)) : out.zero_();
  }
  at::Tensor shifted = at::empty_like(src, memory_format_of(lay));
  on_stream_of(x, [&](cudaStream_t stream) {
    cuda::temporal_shift(src.const_data_ptr(), shifted.mutable_data_ptr(),
                         shift_shape(src, n_segment, cin / fold_div, lay), m, false, stream);
  });
  const std::optional<at::Tensor> b = bias ? std::optional<at::Tensor>(bias->detach()) : std::nullopt;
  return at::conv2d(shifted, weight.detach().reshape({cout, cin, 1, 1}), b);
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CUDA, m) { m.impl("shift_conv1x1", shift_conv1x1_cuda); }

}  // namespace fastvfx::ops
