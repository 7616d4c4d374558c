// CPU implementation of the fused inference conv on the core's pointwise
// kernels: check the arguments, then one call (a 1x1 conv: the channels-last
// GEMM on x in place; k x k: conv2d_nhwc, which reads NCHW or channels-last x
// into a zero-padded channels-last copy).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <string_view>

#include "../causal_dwconv3d_checks.h"
#include "fastvfx/pointwise_conv.h"
#include "large_outputs.h"

namespace fastvfx::ops {
namespace {

constexpr const char* kConvOp = "fastvfx.fused_conv2d";

Activation parse_conv_activation(std::string_view name) {
  if (name == "sigmoid") return Activation::kSigmoid;
  return parse_activation(name, kConvOp);
}

ResidualOp parse_residual_op(std::string_view name) {
  if (name == "add") return ResidualOp::kAddFirst;
  if (name == "add_after") return ResidualOp::kAddAfter;
  if (name == "mul") return ResidualOp::kMultiply;
  TORCH_CHECK(false, kConvOp, ": residual_op must be one of add, add_after, mul; got '", name, "'");
}

at::Tensor fused_conv2d_cpu(const at::Tensor& x_in, const at::Tensor& packed_weight,
                            const std::optional<at::Tensor>& bias_in, const std::optional<at::Tensor>& residual_in,
                            int64_t out_channels, at::IntArrayRef kernel_size, int64_t stride,
                            at::IntArrayRef padding, c10::string_view activation, c10::string_view residual_op) {
  TORCH_CHECK(x_in.dim() == 4, kConvOp, ": expected x of shape (N, C, H, W), got ", x_in.sizes());
  TORCH_CHECK(x_in.device().is_cpu(), kConvOp, ": x must be a CPU tensor, got ", x_in.device());
  TORCH_CHECK(x_in.scalar_type() == at::kFloat, kConvOp, ": supports float32 only, got ", x_in.scalar_type());
  TORCH_CHECK(out_channels >= 1, kConvOp, ": out_channels must be positive, got ", out_channels);
  TORCH_CHECK(kernel_size.size() == 2 && kernel_size[0] >= 1 && kernel_size[1] >= 1 &&
                  kernel_size[0] <= kMaxConvKernelRows,
              kConvOp, ": kernel_size must be (kh, kw) with 1 <= kh <= ", kMaxConvKernelRows, ", got ", kernel_size);
  TORCH_CHECK(stride >= 1, kConvOp, ": stride must be positive, got ", stride);
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, kConvOp,
              ": padding must be two non-negative values, got ", padding);
  const int64_t cin = x_in.size(1), kh = kernel_size[0], kw = kernel_size[1];
  const int64_t panels = pointwise_padded(out_channels) / kPointwisePanel, kk = kh * kw * cin;
  TORCH_CHECK(packed_weight.scalar_type() == at::kFloat && packed_weight.device().is_cpu() &&
                  packed_weight.is_contiguous() && packed_weight.sizes() == at::IntArrayRef({panels, kk, kPointwisePanel}),
              kConvOp, ": packed_weight must be a contiguous float32 CPU tensor of the packed shape (", panels, ", ",
              kk, ", ", kPointwisePanel, ") for ", out_channels, " outputs of a ", kh, "x", kw, " kernel over ", cin,
              " channels (pack it with fastvfx.ops.fused_conv2d.pack_weight), got ", packed_weight.sizes());
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  if (bias_in) {
    TORCH_CHECK(bias.scalar_type() == at::kFloat && bias.device().is_cpu() && bias.dim() == 1 &&
                    bias.size(0) == out_channels,
                kConvOp, ": bias must be a float32 CPU vector of ", out_channels, " values, got ", bias.sizes());
  }
  const Activation act = parse_conv_activation(activation);
  const ResidualOp op = parse_residual_op(residual_op);
  Conv2dNhwc c;
  c.batch = x_in.size(0), c.height = x_in.size(2), c.width = x_in.size(3);
  c.in_channels = cin, c.out_channels = out_channels;
  c.kernel_h = kh, c.kernel_w = kw, c.stride = stride, c.pad_top = padding[0], c.pad_left = padding[1];
  const int64_t oh = c.out_h(), ow = c.out_w();
  TORCH_CHECK(c.height == 0 || c.width == 0 || (oh >= 1 && ow >= 1), kConvOp, ": the ", kh, "x", kw,
              " kernel is larger than the padded input ", x_in.sizes());
  const int64_t n = c.batch;
  at::Tensor residual;
  if (residual_in) {
    TORCH_CHECK(residual_in->sizes() == at::IntArrayRef({n, out_channels, std::max<int64_t>(oh, 0),
                                                         std::max<int64_t>(ow, 0)}) &&
                    residual_in->scalar_type() == at::kFloat && residual_in->device().is_cpu(),
                kConvOp, ": residual must be a float32 CPU tensor of the output's shape (", n, ", ", out_channels, ", ",
                oh, ", ", ow, "), got ", residual_in->sizes(), " ", residual_in->scalar_type());
    residual = residual_in->contiguous(at::MemoryFormat::ChannelsLast);
  }
  at::Tensor y = at::empty({n, out_channels, std::max<int64_t>(oh, 0), std::max<int64_t>(ow, 0)},
                           x_in.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (y.numel() == 0) return y;
  prepare_large_output(y);
  const bool pointwise = kh == 1 && kw == 1 && stride == 1 && padding[0] == 0 && padding[1] == 0;
  const bool nchw = !pointwise && x_in.is_contiguous() && !x_in.is_contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor x = nchw ? x_in : x_in.contiguous(at::MemoryFormat::ChannelsLast);
  if (pointwise) {
    PointwiseConvNhwc p;
    p.out_channels = out_channels, p.in_channels = cin, p.pixels = n * c.height * c.width;
    p.packed_weight = packed_weight.const_data_ptr<float>();
    p.bias = bias_in ? bias.const_data_ptr<float>() : nullptr;
    p.sources = 1;
    p.source[0] = PointwiseSource{x.const_data_ptr<float>(), 0, cin};
    p.x_stride = cin;
    p.y = y.mutable_data_ptr<float>(), p.y_stride = out_channels;
    p.residual = residual_in ? residual.const_data_ptr<float>() : nullptr;
    p.residual_stride = out_channels;
    p.act = act, p.residual_op = op;
    pointwise_conv_nhwc(p);
    return y;
  }
  c.nchw_input = nchw;
  c.x = x.const_data_ptr<float>();
  c.packed_weight = packed_weight.const_data_ptr<float>();
  c.bias = bias_in ? bias.const_data_ptr<float>() : nullptr;
  c.y = y.mutable_data_ptr<float>();
  c.residual = residual_in ? residual.const_data_ptr<float>() : nullptr;
  c.act = act, c.residual_op = op;
  conv2d_nhwc(c);
  return y;
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) { m.impl("fused_conv2d", &fused_conv2d_cpu); }

}  // namespace fastvfx::ops
