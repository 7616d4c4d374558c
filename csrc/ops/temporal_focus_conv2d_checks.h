// Argument checks of the Temporal Focus Convolution ops, shared by the CPU and
// CUDA implementations so that both raise the same messages.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "fastvfx/tfc.h"

namespace fastvfx::ops {

inline PoolKind parse_pool(std::string_view pool, const char* op) {
  if (pool == "avg") return PoolKind::kAvg;
  if (pool == "max") return PoolKind::kMax;
  TORCH_CHECK(false, op, ": pool must be 'avg' or 'max', got '", pool, "'");
}

inline void check_like_x(const at::Tensor& t, const at::Tensor& x, const char* name, const char* op) {
  TORCH_CHECK(t.scalar_type() == x.scalar_type(), op, ": ", name, " dtype ", t.scalar_type(),
              " does not match x dtype ", x.scalar_type());
  TORCH_CHECK(t.device() == x.device(), op, ": ", name, " is on ", t.device(), " but x is on ",
              x.device());
}

// Checks x, the conv weight and bias, stride and padding; returns the output size.
inline std::array<int64_t, 2> check_conv_args(const at::Tensor& x, const at::Tensor& weight,
                                              const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                              at::IntArrayRef padding, const char* op) {
  TORCH_CHECK(x.dim() == 4, op, ": expected x of shape (N, C_in, H, W), got a ", x.dim(),
              "-D tensor of shape ", x.sizes());
  const auto dt = x.scalar_type();
  TORCH_CHECK(dt == at::kFloat || dt == at::kDouble || dt == at::kHalf || dt == at::kBFloat16, op,
              ": expected a float32, float64, bfloat16 or float16 tensor, got ", dt);
  const int64_t cin = x.size(1);
  TORCH_CHECK(weight.dim() == 4, op, ": expected weight of shape (C_out, C_in, kH, kW), got a ",
              weight.dim(), "-D tensor of shape ", weight.sizes());
  TORCH_CHECK(!(weight.size(1) != cin && weight.size(1) > 0 && cin % weight.size(1) == 0), op,
              ": weight has ", weight.size(1), " input channels for x's ", cin,
              ", which is a grouped convolution (groups = ", cin / std::max<int64_t>(1, weight.size(1)),
              "); only groups = 1 is supported");
  TORCH_CHECK(weight.size(1) == cin, op, ": weight expects ", weight.size(1),
              " input channels but x has ", cin);
  check_like_x(weight, x, "weight", op);
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == weight.size(0), op, ": bias must have shape (",
                weight.size(0), "), got ", bias->sizes());
    check_like_x(*bias, x, "bias", op);
  }
  TORCH_CHECK(stride.size() == 2 && stride[0] >= 1 && stride[1] >= 1, op,
              ": stride must be one or two integers >= 1, got ", stride);
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, op,
              ": padding must be one or two integers >= 0, got ", padding);
  std::array<int64_t, 2> out_size{};
  for (int d = 0; d < 2; ++d) {
    const int64_t padded = x.size(2 + d) + 2 * padding[d];
    TORCH_CHECK(padded >= weight.size(2 + d), op, ": kernel size ", weight.sizes().slice(2),
                " is larger than the padded input ", x.sizes().slice(2), " (padding ", padding, ")");
    out_size[d] = (padded - weight.size(2 + d)) / stride[d] + 1;
  }
  return out_size;
}

// An (rows, cols) matrix given as one, or as an (rows, cols, 1, 1) conv weight.
inline at::Tensor as_matrix(const at::Tensor& w, int64_t rows, int64_t cols, const char* name, const char* op) {
  const bool conv1x1 = w.dim() == 4 && w.size(2) == 1 && w.size(3) == 1;
  TORCH_CHECK((w.dim() == 2 || conv1x1) && w.size(0) == rows && w.size(1) == cols, op, ": ", name,
              " must have shape (", rows, ", ", cols, ") or (", rows, ", ", cols, ", 1, 1), got ",
              w.sizes());
  return w.reshape({rows, cols});
}

inline void check_vector(const std::optional<at::Tensor>& b, int64_t size, const at::Tensor& x, const char* name,
                  const char* op) {
  if (!b) return;
  TORCH_CHECK(b->dim() == 1 && b->size(0) == size, op, ": ", name, " must have shape (", size,
              "), got ", b->sizes());
  check_like_x(*b, x, name, op);
}

inline bool is_channels_last(const at::Tensor& x) {
  return !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

inline at::MemoryFormat output_format(const at::Tensor& x) {
  return is_channels_last(x) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

inline std::optional<at::Tensor> detached(const std::optional<at::Tensor>& t) {
  return t ? std::optional<at::Tensor>(t->detach()) : std::nullopt;
}

// The gate's weights as (hidden, C_in) and (C_in, hidden) matrices, detached;
// x, the conv weight and bias are checked already.
struct GateMatrices {
  at::Tensor w1, w2;
};
inline GateMatrices check_gate_args(const at::Tensor& x_in, const at::Tensor& fc1_weight,
                                    const std::optional<at::Tensor>& fc1_bias, const at::Tensor& fc2_weight,
                                    const std::optional<at::Tensor>& fc2_bias, const char* op) {
  const int64_t cin = x_in.size(1);
  TORCH_CHECK(fc1_weight.dim() == 2 || fc1_weight.dim() == 4, op,
              ": fc1_weight must be (C_hidden, C_in) or (C_hidden, C_in, 1, 1), got ", fc1_weight.sizes());
  const int64_t hidden = fc1_weight.size(0);
  check_like_x(fc1_weight, x_in, "fc1_weight", op);
  check_like_x(fc2_weight, x_in, "fc2_weight", op);
  // Detached: this kernel runs below autograd (the op's backward is registered
  // in Python), and the out= GEMMs reject inputs that require grad.
  const at::Tensor w1 = as_matrix(fc1_weight, hidden, cin, "fc1_weight", op).detach();
  const at::Tensor w2 = as_matrix(fc2_weight, cin, hidden, "fc2_weight", op).detach();
  check_vector(fc1_bias, hidden, x_in, "fc1_bias", op);
  check_vector(fc2_bias, cin, x_in, "fc2_bias", op);
  TORCH_CHECK(x_in.size(0) == 0 || x_in.size(2) * x_in.size(3) > 0, op,
              ": the gate pools over H*W, which is empty in x of shape ", x_in.sizes());
  return {w1, w2};
}

// The scale of channel_scaled_conv2d as an (N, C_in) tensor, detached.
inline at::Tensor check_scale_arg(const at::Tensor& x_in, const at::Tensor& scale_in, const char* op) {
  const int64_t n = x_in.size(0), cin = x_in.size(1);
  const bool as_map = scale_in.dim() == 4 && scale_in.size(2) == 1 && scale_in.size(3) == 1;
  TORCH_CHECK((scale_in.dim() == 2 || as_map) && scale_in.size(0) == n && scale_in.size(1) == cin, op,
              ": scale must have shape (", n, ", ", cin, ") or (", n, ", ", cin, ", 1, 1), got ",
              scale_in.sizes());
  check_like_x(scale_in, x_in, "scale", op);
  return scale_in.detach().reshape({n, cin});
}

// The result when x has no samples or no input channels: zeros plus the bias.
inline at::Tensor empty_input_result(const at::Tensor& x, int64_t cout, const std::optional<at::Tensor>& bias,
                                     std::array<int64_t, 2> out_size) {
  const int64_t n = x.size(0);
  at::Tensor y = at::zeros({n, cout, out_size[0], out_size[1]}, x.options().memory_format(output_format(x)));
  if (bias && n > 0) y.add_(bias->view({1, cout, 1, 1}));
  return y;
}

}  // namespace fastvfx::ops
