// Argument checks of the depthwise 2-D convolution, shared by the CPU and
// CUDA implementations so that both raise the same messages.
#pragma once

#include <ATen/ATen.h>

#include "fastvfx/causal_dwconv3d.h"

namespace fastvfx::ops {

inline constexpr const char* kDepthwiseOp = "fastvfx.depthwise_conv2d";

// Checks every argument; the layer as a one-frame causal depthwise Conv3D (kT = 1).
inline DwConv3dShape depthwise_conv2d_shape(const at::Tensor& x, const at::Tensor& weight,
                                           const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                           at::IntArrayRef padding, bool tf_same) {
  TORCH_CHECK(x.dim() == 4, kDepthwiseOp, ": expected x of shape (N, C, H, W), got ", x.sizes());
  const auto dt = x.scalar_type();
  TORCH_CHECK(dt == at::kFloat || dt == at::kDouble || dt == at::kHalf || dt == at::kBFloat16, kDepthwiseOp,
              ": supports float32, float64, bfloat16 and float16, got ", dt);
  TORCH_CHECK(weight.dim() == 4 && weight.size(0) == x.size(1) && weight.size(1) == 1 &&
                  weight.size(2) >= 1 && weight.size(3) >= 1,
              kDepthwiseOp, ": weight must be (C, 1, kH, kW) with C = ", x.size(1), " (depthwise), got ",
              weight.sizes());
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), kDepthwiseOp, ": weight dtype ", weight.scalar_type(),
              " does not match x dtype ", x.scalar_type());
  TORCH_CHECK(weight.device() == x.device(), kDepthwiseOp, ": weight is on ", weight.device(), " but x is on ",
              x.device());
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == x.size(1), kDepthwiseOp, ": bias must have shape (",
                x.size(1), "), got ", bias->sizes());
    TORCH_CHECK(bias->scalar_type() == x.scalar_type(), kDepthwiseOp, ": bias dtype ", bias->scalar_type(),
                " does not match x dtype ", x.scalar_type());
  }
  TORCH_CHECK(stride.size() == 2 && stride[0] >= 1 && stride[1] >= 1 && stride[0] <= 8 && stride[1] <= 8,
              kDepthwiseOp, ": stride must be two ints in [1, 8], got ", stride);
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, kDepthwiseOp,
              ": padding must be two non-negative ints, got ", padding);
  DwConv3dShape s;
  s.batch = x.size(0);
  s.channels = x.size(1);
  s.in_h = x.size(2);
  s.in_w = x.size(3);
  s.kh = weight.size(2);
  s.kw = weight.size(3);
  s.stride_h = stride[0];
  s.stride_w = stride[1];
  if (tf_same) {
    same_padding(s.in_h, s.kh, s.stride_h, &s.out_h, &s.pad_top);
    same_padding(s.in_w, s.kw, s.stride_w, &s.out_w, &s.pad_left);
  } else {
    s.pad_top = padding[0];
    s.pad_left = padding[1];
    TORCH_CHECK(s.in_h + 2 * s.pad_top >= s.kh && s.in_w + 2 * s.pad_left >= s.kw, kDepthwiseOp, ": kernel (",
                s.kh, ", ", s.kw, ") is larger than the padded input (", s.in_h + 2 * s.pad_top, ", ",
                s.in_w + 2 * s.pad_left, ")");
    s.out_h = symmetric_output(s.in_h, s.kh, s.stride_h, s.pad_top);
    s.out_w = symmetric_output(s.in_w, s.kw, s.stride_w, s.pad_left);
  }
  return s;
}

// The output keeps the input's layout; a tensor that is both (C = 1 or
// H = W = 1) counts as NCHW, as the fake kernel decides.
inline bool depthwise_conv2d_channels_last(const at::Tensor& x) {
  return !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace fastvfx::ops
