// CUDA implementation of the depthwise 2-D convolution: the CPU side's
// checks, then the causal depthwise Conv3D launcher with one frame (kT = 1)
// on the current stream. The kernel reads NCHW; a channels_last input is
// made contiguous and the output returned in its layout, as on the CPU.
#include <torch/library.h>

#include "../causal_dwconv3d_checks.h"
#include "../depthwise_conv2d_checks.h"
#include "cuda_common.h"

namespace fastvfx::ops {
namespace {

at::Tensor depthwise_conv2d_cuda(const at::Tensor& x_in, const at::Tensor& weight_in,
                                 const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride,
                                 at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  const DwConv3dShape s = depthwise_conv2d_shape(x_in, weight_in, bias_in, stride, padding, tf_same);
  const Activation act = parse_activation(activation, kDepthwiseOp);
  const at::Tensor x = x_in.contiguous(), weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  at::Tensor y = at::empty({s.batch, s.channels, s.out_h, s.out_w}, x.options());
  if (y.numel() > 0) {
    on_stream_of(x, [&](cudaStream_t stream) {
      cuda::causal_dwconv3d_forward(cuda_dtype(x), x.const_data_ptr(), /*t=*/1, nullptr, nullptr,
                                    weight.const_data_ptr(), bias.defined() ? bias.const_data_ptr() : nullptr,
                                    y.mutable_data_ptr(), s, act, stream);
    });
  }
  return depthwise_conv2d_channels_last(x_in) ? y.contiguous(at::MemoryFormat::ChannelsLast) : y;
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CUDA, m) { m.impl("depthwise_conv2d", depthwise_conv2d_cuda); }

}  // namespace fastvfx::ops
