// Argument checks of the depthwise 2-D convolution, shared by the CPU and
// CUDA implementations so that both raise the same messages.
#pragma once

#include <ATen/ATen.h>

#include "causal_dwconv3d_checks.h"

namespace fastvfx::ops {

inline constexpr const char* kDepthwiseOp = "fastvfx.depthwise_conv2d";

// Checks every argument; the layer as a one-frame causal depthwise Conv3D (kT = 1).
inline DwConv3dShape depthwise_conv2d_shape(const at::Tensor& x, const at::Tensor& weight,
                                           const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                           at::IntArrayRef padding, bool tf_same) {
  check_depthwise_input(kDepthwiseOp, x, weight, bias, /*frames=*/false);
  return depthwise_shape(kDepthwiseOp, x, weight, stride, padding, tf_same, /*frames=*/false);
}

// The output keeps the input's layout; a tensor that is both (C = 1 or
// H = W = 1) counts as NCHW, as the fake kernel decides.
inline bool depthwise_conv2d_channels_last(const at::Tensor& x) {
  return !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace fastvfx::ops
