// CPU implementation of the depthwise 2-D convolution: check the arguments,
// then one call into the core for the input's layout.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../depthwise_conv2d_checks.h"
#include "causal_dwconv3d_kernel.h"
#include "fastvfx/depthwise_conv2d.h"

namespace fastvfx::ops {
namespace {

at::Tensor depthwise_conv2d_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                                const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride,
                                at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  const DwConv3dShape s = depthwise_conv2d_shape(x_in, weight_in, bias_in, stride, padding, tf_same);
  const Activation act = parse_activation(activation, kDepthwiseOp);
  const bool channels_last_in = depthwise_conv2d_channels_last(x_in);
  const auto layout = channels_last_in ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  const at::Tensor x = x_in.contiguous(layout);
  const at::Tensor weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  at::Tensor y = at::empty({s.batch, s.channels, s.out_h, s.out_w}, x.options().memory_format(layout));
  if (y.numel() == 0) return y;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), kDepthwiseOp, [&] {
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
