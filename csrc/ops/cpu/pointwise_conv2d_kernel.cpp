// CPU implementation of the 1x1 convolution on the core's pointwise kernels:
// check the arguments, lay x (and the residual) out channels-last, one call.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../causal_dwconv3d_checks.h"
#include "fastvfx/pointwise_conv.h"

namespace fastvfx::ops {
namespace {

constexpr const char* kPwOp = "fastvfx.pointwise_conv2d";

at::Tensor pointwise_conv2d_cpu(const at::Tensor& x_in, const at::Tensor& packed_weight,
                                const std::optional<at::Tensor>& bias_in, const std::optional<at::Tensor>& residual_in,
                                int64_t out_channels, c10::string_view activation, bool residual_first) {
  TORCH_CHECK(x_in.dim() == 4, kPwOp, ": expected x of shape (N, C, H, W), got ", x_in.sizes());
  TORCH_CHECK(x_in.device().is_cpu(), kPwOp, ": x must be a CPU tensor, got ", x_in.device());
  TORCH_CHECK(x_in.scalar_type() == at::kFloat, kPwOp, ": supports float32 only, got ", x_in.scalar_type());
  TORCH_CHECK(out_channels >= 1, kPwOp, ": out_channels must be positive, got ", out_channels);
  const int64_t cin = x_in.size(1);
  const int64_t panels = pointwise_padded(out_channels) / kPointwisePanel;
  TORCH_CHECK(packed_weight.scalar_type() == at::kFloat && packed_weight.device().is_cpu() &&
                  packed_weight.is_contiguous() && packed_weight.sizes() == at::IntArrayRef({panels, cin, kPointwisePanel}),
              kPwOp, ": packed_weight must be a contiguous float32 CPU tensor of the packed shape (", panels, ", ", cin,
              ", ", kPointwisePanel, ") for ", out_channels, " outputs of ", cin,
              " channels (pack it with fastvfx.ops.pointwise_conv2d.pack_weight), got ", packed_weight.sizes());
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  if (bias_in) {
    TORCH_CHECK(bias.scalar_type() == at::kFloat && bias.device().is_cpu() && bias.dim() == 1 &&
                    bias.size(0) == out_channels,
                kPwOp, ": bias must be a float32 CPU vector of ", out_channels, " values, got ", bias.sizes());
  }
  const Activation act = parse_activation(activation, kPwOp);
  const int64_t n = x_in.size(0), h = x_in.size(2), w = x_in.size(3);
  at::Tensor residual;
  if (residual_in) {
    TORCH_CHECK(residual_in->sizes() == at::IntArrayRef({n, out_channels, h, w}) &&
                    residual_in->scalar_type() == at::kFloat && residual_in->device().is_cpu(),
                kPwOp, ": residual must be a float32 CPU tensor of the output's shape (", n, ", ", out_channels, ", ", h,
                ", ", w, "), got ", residual_in->sizes(), " ", residual_in->scalar_type());
    residual = residual_in->contiguous(at::MemoryFormat::ChannelsLast);
  }
  const at::Tensor x = x_in.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor y = at::empty({n, out_channels, h, w}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (y.numel() == 0) return y;
  PointwiseConvNhwc p;
  p.out_channels = out_channels, p.in_channels = cin, p.pixels = n * h * w;
  p.packed_weight = packed_weight.const_data_ptr<float>();
  p.bias = bias_in ? bias.const_data_ptr<float>() : nullptr;
  p.sources = 1;
  p.source[0] = PointwiseSource{x.const_data_ptr<float>(), 0, cin};
  p.x_stride = cin;
  p.y = y.mutable_data_ptr<float>(), p.y_stride = out_channels;
  p.residual = residual_in ? residual.const_data_ptr<float>() : nullptr;
  p.residual_stride = out_channels;
  p.act = act;
  p.residual_first = residual_first;
  pointwise_conv_nhwc(p);
  return y;
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) { m.impl("pointwise_conv2d", &pointwise_conv2d_cpu); }

}  // namespace fastvfx::ops
