// CPU implementation of the depthwise 2-D convolution: check the arguments,
// then one call into the core for the input's layout. 16-bit tensors
// (bfloat16, float16) run the float32 kernels on converted tiles
// (fp32_tiles.h), each result rounded once.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>

#include "../depthwise_conv2d_checks.h"
#include "causal_dwconv3d_kernel.h"
#include "fastvfx/depthwise_conv2d.h"
#include "fp32_tiles.h"
#include "large_outputs.h"

namespace fastvfx::ops {
namespace {

// channels_last 16-bit: a plane is not contiguous there, so a tile is a block
// of channels over every sample and pixel, gathered into a dense (pixels,
// block) float32 matrix: itself a channels_last layer of that many channels.
// Blocks of 16 channels keep the channel-lane engine on whole vectors.
void channels_last_forward_16bit(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 at::Tensor& y, const DwConv3dShape& s, Activation act) {
  constexpr int64_t kBlock = 16;
  const int64_t blocks = (s.channels + kBlock - 1) / kBlock, taps = s.kh * s.kw;
  const int64_t in_pixels = s.batch * s.in_h * s.in_w, out_pixels = s.batch * s.out_h * s.out_w;
  const at::Tensor x_rows = x.permute({0, 2, 3, 1}).view({in_pixels, s.channels});
  const at::Tensor y_rows = y.permute({0, 2, 3, 1}).view({out_pixels, s.channels});
  const at::Tensor w32 = weight.to(at::kFloat);
  const at::Tensor b32 = bias.defined() ? bias.to(at::kFloat) : at::Tensor();
  const auto f32 = x.options().dtype(at::kFloat);
  for_each_fp32_tile(blocks, blocks, 4 * kBlock * (in_pixels + out_pixels), [&](int64_t b0, int64_t count) {
    const int64_t c0 = b0 * kBlock, cc = std::min(s.channels, (b0 + count) * kBlock) - c0;
    at::Tensor x32 = at::empty({in_pixels, cc}, f32);
    x32.copy_(x_rows.narrow(1, c0, cc));
    at::Tensor y32 = at::empty({out_pixels, cc}, f32);
    DwConv3dShape tile = s;
    tile.channels = cc;
    depthwise_conv2d_channels_last_forward(x32.const_data_ptr<float>(), w32.const_data_ptr<float>() + c0 * taps,
                                           b32.defined() ? b32.const_data_ptr<float>() + c0 : nullptr,
                                           y32.mutable_data_ptr<float>(), tile, act);
    y_rows.narrow(1, c0, cc).copy_(y32);
  });
}

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
  prepare_large_output(y);
  if (is_16bit(x.scalar_type())) {
    if (channels_last_in) {
      channels_last_forward_16bit(x, weight, bias, y, s, act);
    } else {  // the causal depthwise Conv3D's 16-bit forward with one frame
      at::Tensor y_frames = y.unsqueeze(2);
      causal_dwconv3d_forward_16bit(x.unsqueeze(2), nullptr, 0, weight, bias, y_frames, s, act);
    }
    return y;
  }
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
