// CPU implementation of the depthwise 2-D convolution: check the arguments,
// then one call into the core for the input's layout.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "causal_dwconv3d_kernel.h"
#include "fastvfx/depthwise_conv2d.h"

namespace fastvfx::ops {
namespace {

constexpr const char* kOp = "fastvfx.depthwise_conv2d";

DwConv3dShape make_shape(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                         at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same) {
  TORCH_CHECK(x.dim() == 4, kOp, ": expected x of shape (N, C, H, W), got ", x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, kOp,
              ": supports float32 and float64, got ", x.scalar_type());
  TORCH_CHECK(weight.dim() == 4 && weight.size(0) == x.size(1) && weight.size(1) == 1 &&
                  weight.size(2) >= 1 && weight.size(3) >= 1,
              kOp, ": weight must be (C, 1, kH, kW) with C = ", x.size(1), " (depthwise), got ",
              weight.sizes());
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), kOp, ": weight dtype ", weight.scalar_type(),
              " does not match x dtype ", x.scalar_type());
  TORCH_CHECK(weight.device() == x.device(), kOp, ": weight is on ", weight.device(), " but x is on ",
              x.device());
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == x.size(1), kOp, ": bias must have shape (",
                x.size(1), "), got ", bias->sizes());
    TORCH_CHECK(bias->scalar_type() == x.scalar_type(), kOp, ": bias dtype ", bias->scalar_type(),
                " does not match x dtype ", x.scalar_type());
  }
  TORCH_CHECK(stride.size() == 2 && stride[0] >= 1 && stride[1] >= 1 && stride[0] <= 8 && stride[1] <= 8,
              kOp, ": stride must be two ints in [1, 8], got ", stride);
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, kOp,
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
    TORCH_CHECK(s.in_h + 2 * s.pad_top >= s.kh && s.in_w + 2 * s.pad_left >= s.kw, kOp, ": kernel (",
                s.kh, ", ", s.kw, ") is larger than the padded input (", s.in_h + 2 * s.pad_top, ", ",
                s.in_w + 2 * s.pad_left, ")");
    s.out_h = symmetric_output(s.in_h, s.kh, s.stride_h, s.pad_top);
    s.out_w = symmetric_output(s.in_w, s.kw, s.stride_w, s.pad_left);
  }
  return s;
}

at::Tensor depthwise_conv2d_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                                const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride,
                                at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  const DwConv3dShape s = make_shape(x_in, weight_in, bias_in, stride, padding, tf_same);
  const Activation act = parse_activation(activation, kOp);
  // The output keeps the input's layout; a tensor that is both (C = 1 or
  // H = W = 1) counts as NCHW, as the fake kernel decides.
  const bool channels_last_in =
      !x_in.is_contiguous() && x_in.is_contiguous(at::MemoryFormat::ChannelsLast);
  const auto layout = channels_last_in ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  const at::Tensor x = x_in.contiguous(layout);
  const at::Tensor weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  at::Tensor y = at::empty({s.batch, s.channels, s.out_h, s.out_w}, x.options().memory_format(layout));
  if (y.numel() == 0) return y;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kOp, [&] {
    const scalar_t* b = bias.defined() ? bias.const_data_ptr<scalar_t>() : nullptr;
    if (channels_last_in) {
      depthwise_conv2d_channels_last_forward(x.const_data_ptr<scalar_t>(), weight.const_data_ptr<scalar_t>(), b,
                                             y.mutable_data_ptr<scalar_t>(), s, act);
    } else {
      depthwise_conv2d_forward(x.const_data_ptr<scalar_t>(), weight.const_data_ptr<scalar_t>(), b,
                               y.mutable_data_ptr<scalar_t>(), s, act);
    }
  });
  return y;
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) { m.impl("depthwise_conv2d", depthwise_conv2d_cpu); }

}  // namespace fastvfx::ops
