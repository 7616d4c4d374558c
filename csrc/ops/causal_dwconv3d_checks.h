// Argument checks of the causal depthwise Conv3D ops, shared by the CPU and
// CUDA implementations so that both raise the same messages.
#pragma once

#include <ATen/ATen.h>

#include <string_view>
#include <vector>

#include "fastvfx/causal_dwconv3d.h"

namespace fastvfx::ops {

inline constexpr const char* kOp = "fastvfx.causal_dwconv3d";

// The fused activation an op's `activation` string names; op prefixes the error.
inline Activation parse_activation(std::string_view name, const char* op = kOp) {
  if (name == "none") return Activation::kNone;
  if (name == "relu") return Activation::kReLU;
  if (name == "relu6") return Activation::kReLU6;
  if (name == "hardswish") return Activation::kHardswish;
  if (name == "swish" || name == "silu") return Activation::kSwish;
  TORCH_CHECK(false, op, ": activation must be one of none, relu, relu6, hardswish, swish; got '",
              name, "'");
}

// The depthwise convolutions' argument checks, shared by causal_dwconv3d
// (frames: x (N, C, T, H, W), weight (C, 1, kT, kH, kW)) and depthwise_conv2d
// (no frames: x (N, C, H, W), weight (C, 1, kH, kW), the layer a one-frame
// causal conv with kT = 1); `op` names the op in the messages.
inline void check_depthwise_input(const char* op, const at::Tensor& x, const at::Tensor& weight,
                                  const std::optional<at::Tensor>& bias, bool frames) {
  const int64_t dims = frames ? 5 : 4;
  TORCH_CHECK(x.dim() == dims, op, ": expected x of shape ", frames ? "(N, C, T, H, W)" : "(N, C, H, W)",
              ", got ", x.sizes());
  const auto dt = x.scalar_type();
  TORCH_CHECK(dt == at::kFloat || dt == at::kDouble || dt == at::kHalf || dt == at::kBFloat16, op,
              ": supports float32, float64, bfloat16 and float16, got ", dt);
  bool kernel_ok = weight.dim() == dims && weight.size(0) == x.size(1) && weight.size(1) == 1;
  for (int64_t d = 2; kernel_ok && d < dims; ++d) kernel_ok = weight.size(d) >= 1;
  TORCH_CHECK(kernel_ok, op, ": weight must be ", frames ? "(C, 1, kT, kH, kW)" : "(C, 1, kH, kW)", " with C = ",
              x.size(1), " (depthwise), got ", weight.sizes());
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), op, ": weight dtype ", weight.scalar_type(),
              " does not match x dtype ", x.scalar_type());
  TORCH_CHECK(weight.device() == x.device(), op, ": weight is on ", weight.device(), " but x is on ", x.device());
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == x.size(1), op, ": bias must have shape (", x.size(1),
                "), got ", bias->sizes());
    TORCH_CHECK(bias->scalar_type() == x.scalar_type(), op, ": bias dtype ", bias->scalar_type(),
                " does not match x dtype ", x.scalar_type());
  }
}

// The layer's shape (kT = 1 without frames) after checking stride and padding.
inline DwConv3dShape depthwise_shape(const char* op, const at::Tensor& x, const at::Tensor& weight,
                                     at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same, bool frames) {
  TORCH_CHECK(stride.size() == 2 && stride[0] >= 1 && stride[1] >= 1 && stride[0] <= 8 && stride[1] <= 8, op,
              frames ? ": spatial stride" : ": stride", " must be two ints in [1, 8], got ", stride);
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, op,
              ": padding must be two non-negative ints, got ", padding);
  const int64_t h = x.dim() - 2, k = weight.dim() - 2;  // the spatial dims
  DwConv3dShape s;
  s.batch = x.size(0);
  s.channels = x.size(1);
  s.in_h = x.size(h);
  s.in_w = x.size(h + 1);
  s.kt = frames ? weight.size(2) : 1;
  s.kh = weight.size(k);
  s.kw = weight.size(k + 1);
  s.stride_h = stride[0];
  s.stride_w = stride[1];
  if (tf_same) {
    same_padding(s.in_h, s.kh, s.stride_h, &s.out_h, &s.pad_top);
    same_padding(s.in_w, s.kw, s.stride_w, &s.out_w, &s.pad_left);
  } else {
    s.pad_top = padding[0];
    s.pad_left = padding[1];
    TORCH_CHECK(s.in_h + 2 * s.pad_top >= s.kh && s.in_w + 2 * s.pad_left >= s.kw, op, ": kernel (", s.kh, ", ",
                s.kw, ") is larger than the padded input (", s.in_h + 2 * s.pad_top, ", ",
                s.in_w + 2 * s.pad_left, ")");
    s.out_h = symmetric_output(s.in_h, s.kh, s.stride_h, s.pad_top);
    s.out_w = symmetric_output(s.in_w, s.kw, s.stride_w, s.pad_left);
  }
  return s;
}

inline void check_input(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias) {
  check_depthwise_input(kOp, x, weight, bias, /*frames=*/true);
}

inline DwConv3dShape make_shape(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                                at::IntArrayRef padding, bool tf_same) {
  return depthwise_shape(kOp, x, weight, stride, padding, tf_same, /*frames=*/true);
}

// The stream buffer of a step with shape s.
inline void check_stream_buffer(const at::Tensor& x, const at::Tensor& buffer, const DwConv3dShape& s) {
  const std::vector<int64_t> want{s.batch, s.channels, s.kt - 1, s.in_h, s.in_w};
  TORCH_CHECK(buffer.sizes() == at::IntArrayRef(want), kOp, ": stream buffer of shape ", buffer.sizes(),
              " does not match this step: expected ", at::IntArrayRef(want),
              " (batch, channels, kT-1, height, width); create it with init_state");
  TORCH_CHECK(buffer.scalar_type() == x.scalar_type(), kOp, ": stream buffer dtype ",
              buffer.scalar_type(), " does not match x dtype ", x.scalar_type());
  TORCH_CHECK(buffer.device() == x.device(), kOp, ": stream buffer is on ", buffer.device(),
              " but x is on ", x.device());
  TORCH_CHECK(buffer.is_contiguous(), kOp, ": stream buffer must be contiguous");
}

// The preallocated output of a step with shape s.
inline void check_stream_out(const at::Tensor& x, const at::Tensor& out, const DwConv3dShape& s) {
  const std::vector<int64_t> want{s.batch, s.channels, x.size(2), s.out_h, s.out_w};
  TORCH_CHECK(out.sizes() == at::IntArrayRef(want) && out.scalar_type() == x.scalar_type() &&
                  out.is_contiguous() && out.device() == x.device(),
              kOp, ": out must be a contiguous ", x.scalar_type(), " tensor of shape ",
              at::IntArrayRef(want), ", got ", out.scalar_type(), " ", out.sizes());
}

}  // namespace fastvfx::ops
