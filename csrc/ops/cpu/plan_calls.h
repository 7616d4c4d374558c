// The CPU implementations of the ops that the models' inference plans call
// once a layer (fastvfx.nn._onednn.PlannedConv2d,
// fastvfx.nn.folded_sequential.PlannedInvertedResidual), declared for
// module.cpp's direct bindings (fastvfx._C._plan_*). Through torch.ops each
// call is boxed, its arguments converted one by one and dispatched: 4.0 us
// a call on a tiny tensor against 1.55 direct (python
// bench/plan_overhead.py), on each of a plan's 20 (MobileNetV2-TSM's online
// step) to 110 (a SqueezeTime clip) calls. A plan runs only for
// inference (float32 CPU tensors, no gradients, outside autocast, compile
// and export), where the dispatcher would route the call to these same
// functions; the bindings keep what it adds there: the profiler's record of
// the op and the version bump of a tensor written in place.
#pragma once

#include <ATen/ATen.h>

#include <optional>

namespace fastvfx::ops {

at::Tensor fused_conv2d_cpu(const at::Tensor& x, const at::Tensor& packed_weight, const std::optional<at::Tensor>& bias,
                            const std::optional<at::Tensor>& residual, int64_t out_channels,
                            at::IntArrayRef kernel_size, int64_t stride, at::IntArrayRef padding,
                            c10::string_view activation, c10::string_view residual_op);

void fused_conv2d_residual_cpu(const at::Tensor& x, const at::Tensor& packed_weight,
                               const std::optional<at::Tensor>& bias, const at::Tensor& residual,
                               int64_t out_channels, at::IntArrayRef kernel_size, int64_t stride,
                               at::IntArrayRef padding, c10::string_view activation, c10::string_view residual_op);

at::Tensor inverted_residual_cpu(const at::Tensor& x, const std::optional<at::Tensor>& expand_weight,
                                 const std::optional<at::Tensor>& expand_bias, const at::Tensor& dw_weight,
                                 const at::Tensor& dw_bias, const at::Tensor& project_weight,
                                 const at::Tensor& project_bias, int64_t hidden, int64_t out_channels,
                                 int64_t kernel_size, int64_t stride, bool residual,
                                 c10::string_view expand_activation, c10::string_view dw_activation,
                                 c10::string_view shift, int64_t n_segment, int64_t fold);

at::Tensor inverted_residual_step_cpu(const at::Tensor& x, at::Tensor& cache,
                                      const std::optional<at::Tensor>& expand_weight,
                                      const std::optional<at::Tensor>& expand_bias, const at::Tensor& dw_weight,
                                      const at::Tensor& dw_bias, const at::Tensor& project_weight,
                                      const at::Tensor& project_bias, int64_t hidden, int64_t out_channels,
                                      int64_t kernel_size, int64_t stride, bool residual,
                                      c10::string_view expand_activation, c10::string_view dw_activation);

}  // namespace fastvfx::ops
