// CPU implementation of the fused inference conv on the core's pointwise
// kernels: check the arguments, then one call (a 1x1 conv: the channels-last
// GEMM on x in place; k x k: conv2d_nhwc, which reads NCHW or channels-last x
// into a zero-padded channels-last copy; a 3x3 weight packed for Winograd:
// conv2d_winograd_nhwc on channels-last x). fused_conv2d_residual_ writes the
// result over its residual instead of into a fresh output: the residual's
// lines are read and written back in place, where a fresh output's lines are
// first fetched (a write-allocate) from wherever the allocator's block last
// was (SqueezeTime's expansions, one thread: see squeezetime.py).
#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>
#include <torch/library.h>

#include <string>
#include <string_view>
#include <vector>

#include "../causal_dwconv3d_checks.h"
#include "fastvfx/pointwise_conv.h"
#include "large_outputs.h"
#include "plan_calls.h"

namespace fastvfx::ops {
namespace {

constexpr const char* kConvOp = "fastvfx.fused_conv2d";
constexpr const char* kConvIntoOp = "fastvfx.fused_conv2d_residual_";

Activation parse_conv_activation(std::string_view name, const char* op) {
  if (name == "sigmoid") return Activation::kSigmoid;
  return parse_activation(name, op);
}

ResidualOp parse_residual_op(std::string_view name, const char* op) {
  if (name == "add") return ResidualOp::kAddFirst;
  if (name == "add_after") return ResidualOp::kAddAfter;
  if (name == "mul") return ResidualOp::kMultiply;
  TORCH_CHECK(false, op, ": residual_op must be one of add, add_after, mul; got '", name, "'");
}

// The conv of fused_conv2d into a fresh output, or (into_residual) over the
// residual, which must then be a channels_last tensor of its own memory.
at::Tensor run_fused_conv2d(const at::Tensor& x_in, const at::Tensor& packed_weight,
                            const std::optional<at::Tensor>& bias_in, const std::optional<at::Tensor>& residual_in,
                            int64_t out_channels, at::IntArrayRef kernel_size, int64_t stride,
                            at::IntArrayRef padding, c10::string_view activation, c10::string_view residual_op,
                            bool into_residual) {
  const char* op = into_residual ? kConvIntoOp : kConvOp;
  TORCH_CHECK(x_in.dim() == 4, op, ": expected x of shape (N, C, H, W), got ", x_in.sizes());
  TORCH_CHECK(x_in.device().is_cpu(), op, ": x must be a CPU tensor, got ", x_in.device());
  TORCH_CHECK(x_in.scalar_type() == at::kFloat, op, ": supports float32 only, got ", x_in.scalar_type());
  TORCH_CHECK(out_channels >= 1, op, ": out_channels must be positive, got ", out_channels);
  TORCH_CHECK(kernel_size.size() == 2 && kernel_size[0] >= 1 && kernel_size[1] >= 1 &&
                  kernel_size[0] <= kMaxConvKernelRows,
              op, ": kernel_size must be (kh, kw) with 1 <= kh <= ", kMaxConvKernelRows, ", got ", kernel_size);
  TORCH_CHECK(stride >= 1, op, ": stride must be positive, got ", stride);
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, op,
              ": padding must be two non-negative values, got ", padding);
  const int64_t cin = x_in.size(1), kh = kernel_size[0], kw = kernel_size[1];
  const int64_t panels = pointwise_padded(out_channels) / kPointwisePanel, kk = kh * kw * cin;
  // A weight packed for Winograd F(2x2, 3x3) or F(4x4, 3x3) (pack_weight(...,
  // winograd=2 or 4)) is 4-D, (panels, 16 or 36, C_in, 32): 16 or 36
  // transformed rows per input channel where the direct conv's (panels, kh *
  // kw * C_in, 32) has 9, a shape no direct packing can take.
  const bool winograd = packed_weight.dim() == 4;
  const int64_t tile = winograd && packed_weight.size(1) == winograd_planes(4) ? 4 : 2;
  const std::vector<int64_t> shape = winograd ? std::vector<int64_t>{panels, winograd_planes(tile), cin, kPointwisePanel}
                                              : std::vector<int64_t>{panels, kk, kPointwisePanel};
  TORCH_CHECK(packed_weight.scalar_type() == at::kFloat && packed_weight.device().is_cpu() &&
                  packed_weight.is_contiguous() && packed_weight.sizes() == at::IntArrayRef(shape),
              op, ": packed_weight must be a contiguous float32 CPU tensor of the packed shape ",
              at::IntArrayRef(shape), " for ", out_channels, " outputs of a ", kh, "x", kw, " kernel over ", cin,
              " channels", winograd ? " by Winograd" : "", " (pack it with fastvfx.ops.fused_conv2d.pack_weight), got ",
              packed_weight.sizes());
  TORCH_CHECK(!winograd || (kh == 3 && kw == 3 && stride == 1), op, ": a weight packed for Winograd F(", tile, "x",
              tile, ", 3x3) takes a 3x3 kernel and stride 1, got ", kh, "x", kw,
              " and stride ", stride);
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  if (bias_in) {
    TORCH_CHECK(bias.scalar_type() == at::kFloat && bias.device().is_cpu() && bias.dim() == 1 &&
                    bias.size(0) == out_channels,
                op, ": bias must be a float32 CPU vector of ", out_channels, " values, got ", bias.sizes());
  }
  const Activation act = parse_conv_activation(activation, op);
  const ResidualOp join = parse_residual_op(residual_op, op);
  Conv2dNhwc c;
  c.batch = x_in.size(0), c.height = x_in.size(2), c.width = x_in.size(3);
  c.in_channels = cin, c.out_channels = out_channels;
  c.kernel_h = kh, c.kernel_w = kw, c.stride = stride, c.pad_top = padding[0], c.pad_left = padding[1];
  const int64_t oh = c.out_h(), ow = c.out_w();
  TORCH_CHECK(c.height == 0 || c.width == 0 || (oh >= 1 && ow >= 1), op, ": the ", kh, "x", kw,
              " kernel is larger than the padded input ", x_in.sizes());
  const int64_t n = c.batch;
  at::Tensor residual;
  if (residual_in) {
    TORCH_CHECK(residual_in->sizes() == at::IntArrayRef({n, out_channels, std::max<int64_t>(oh, 0),
                                                         std::max<int64_t>(ow, 0)}) &&
                    residual_in->scalar_type() == at::kFloat && residual_in->device().is_cpu(),
                op, ": residual must be a float32 CPU tensor of the output's shape (", n, ", ", out_channels, ", ",
                oh, ", ", ow, "), got ", residual_in->sizes(), " ", residual_in->scalar_type());
    residual = residual_in->contiguous(at::MemoryFormat::ChannelsLast);
  }
  if (into_residual && residual_in->numel() > 0) {  // an empty residual: nothing written
    const at::Tensor& r = *residual_in;
    TORCH_CHECK(r.is_contiguous(at::MemoryFormat::ChannelsLast), op,
                ": the residual is written in place, so it must be channels_last contiguous (make it with "
                ".contiguous(memory_format=torch.channels_last)), got strides ", r.strides());
    for (const at::Tensor* other : {&x_in, &packed_weight, &bias}) {
      TORCH_CHECK(!other->defined() || other->numel() == 0 ||
                      at::get_overlap_status(r, *other) == at::MemOverlapStatus::No,
                  op, ": the residual is written in place, so it must not share memory with x, the "
                  "weight or the bias");
    }
  }
  at::Tensor y = into_residual ? residual
                               : at::empty({n, out_channels, std::max<int64_t>(oh, 0), std::max<int64_t>(ow, 0)},
                                           x_in.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (y.numel() == 0) return y;
  if (!into_residual) prepare_large_output(y);
  const bool pointwise = kh == 1 && kw == 1 && stride == 1 && padding[0] == 0 && padding[1] == 0;
  const bool nchw = !pointwise && !winograd && x_in.is_contiguous() &&
                    !x_in.is_contiguous(at::MemoryFormat::ChannelsLast);
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
    p.act = act, p.residual_op = join;
    pointwise_conv_nhwc(p);
    return y;
  }
  c.nchw_input = nchw;
  c.x = x.const_data_ptr<float>();
  c.packed_weight = packed_weight.const_data_ptr<float>();
  c.bias = bias_in ? bias.const_data_ptr<float>() : nullptr;
  c.y = y.mutable_data_ptr<float>();
  c.residual = residual_in ? residual.const_data_ptr<float>() : nullptr;
  c.act = act, c.residual_op = join;
  if (winograd) {
    c.winograd_tile = tile;
    conv2d_winograd_nhwc(c);
  } else {
    conv2d_nhwc(c);
  }
  return y;
}

}  // namespace

at::Tensor fused_conv2d_cpu(const at::Tensor& x, const at::Tensor& packed_weight, const std::optional<at::Tensor>& bias,
                            const std::optional<at::Tensor>& residual, int64_t out_channels,
                            at::IntArrayRef kernel_size, int64_t stride, at::IntArrayRef padding,
                            c10::string_view activation, c10::string_view residual_op) {
  return run_fused_conv2d(x, packed_weight, bias, residual, out_channels, kernel_size, stride, padding, activation,
                          residual_op, false);
}

void fused_conv2d_residual_cpu(const at::Tensor& x, const at::Tensor& packed_weight,
                               const std::optional<at::Tensor>& bias, const at::Tensor& residual,
                               int64_t out_channels, at::IntArrayRef kernel_size, int64_t stride,
                               at::IntArrayRef padding, c10::string_view activation, c10::string_view residual_op) {
  run_fused_conv2d(x, packed_weight, bias, residual, out_channels, kernel_size, stride, padding, activation,
                   residual_op, true);
}

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) {
  m.impl("fused_conv2d", &fused_conv2d_cpu);
  m.impl("fused_conv2d_residual_", &fused_conv2d_residual_cpu);
}

}  // namespace fastvfx::ops
