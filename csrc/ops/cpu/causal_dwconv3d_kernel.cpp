// CPU implementations of the causal depthwise Conv3D ops: check the
// arguments (before touching any state), then one call into the core.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <string_view>

#include "../causal_dwconv3d_checks.h"
#include "causal_dwconv3d_kernel.h"
#include "fastvfx/causal_dwconv3d.h"

namespace fastvfx::ops {
namespace {

template <class Fn>
void dispatch_float(const at::Tensor& x, Fn&& fn) {
  if (x.scalar_type() == at::kFloat) {
    fn(float{});
  } else {
    fn(double{});
  }
}

at::Tensor causal_dwconv3d_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                               const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride,
                               at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  check_input(x_in, weight_in, bias_in);
  const Activation act = parse_activation(activation);
  const DwConv3dShape s = make_shape(x_in, weight_in, stride, padding, tf_same);
  const at::Tensor x = x_in.contiguous();
  const at::Tensor weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  at::Tensor y = at::empty({s.batch, s.channels, x.size(2), s.out_h, s.out_w}, x.options());
  if (y.numel() == 0) return y;
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    causal_dwconv3d_forward(x.const_data_ptr<T>(), x.size(2), nullptr, nullptr, 0, weight.const_data_ptr<T>(),
                            bias.defined() ? bias.const_data_ptr<T>() : nullptr, y.mutable_data_ptr<T>(),
                            s, act);
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> causal_dwconv3d_backward_cpu(
    const at::Tensor& grad_in, const at::Tensor& x_in, const at::Tensor& weight_in,
    at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same, std::array<bool, 3> mask) {
  check_input(x_in, weight_in, std::nullopt);
  const DwConv3dShape s = make_shape(x_in, weight_in, stride, padding, tf_same);
  TORCH_CHECK(grad_in.sizes() == at::IntArrayRef({s.batch, s.channels, x_in.size(2), s.out_h, s.out_w}),
              kOp, ": grad of shape ", grad_in.sizes(), " does not match the output");
  const at::Tensor x = x_in.contiguous(), weight = weight_in.contiguous();
  const at::Tensor grad = grad_in.contiguous().to(x.scalar_type());
  at::Tensor dx = mask[0] ? at::empty_like(x) : at::empty({0}, x.options());
  at::Tensor dw = mask[1] ? at::empty_like(weight) : at::empty({0}, x.options());
  at::Tensor db = mask[2] ? at::empty({s.channels}, x.options()) : at::empty({0}, x.options());
  if (mask[0] && dx.numel() == 0) return {dx, dw.zero_(), db.zero_()};
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    causal_dwconv3d_backward(x.const_data_ptr<T>(), grad.const_data_ptr<T>(), x.size(2),
                             weight.const_data_ptr<T>(), mask[0] ? dx.mutable_data_ptr<T>() : nullptr,
                             mask[1] ? dw.mutable_data_ptr<T>() : nullptr,
                             mask[2] ? db.mutable_data_ptr<T>() : nullptr, s);
  });
  return {dx, dw, db};
}

// Checks everything a step needs before anything is written.
DwConv3dShape check_stream(const at::Tensor& x, const at::Tensor& weight,
                           const std::optional<at::Tensor>& bias, const at::Tensor& buffer,
                           const at::Tensor& position, const at::Tensor& padded,
                           at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same) {
  check_input(x, weight, bias);
  TORCH_CHECK(x.size(2) >= 1, kOp, ": a streaming step needs at least one new frame, got T = 0");
  const DwConv3dShape s = make_shape(x, weight, stride, padding, tf_same);
  check_stream_buffer(x, buffer, s);
  TORCH_CHECK(position.scalar_type() == at::kLong && position.numel() == 1 &&
                  position.device().is_cpu(),
              kOp, ": position must be a one-element int64 CPU tensor");
  TORCH_CHECK(position.item<int64_t>() >= 0, kOp, ": position must be >= 0");
  if (padded.numel() != 0) {
    const int64_t want_padded = s.batch * s.channels * (s.kt - 1) *
                                causal_dwconv3d_padded_numel(s, static_cast<int64_t>(x.element_size()));
    TORCH_CHECK(padded.numel() == want_padded && padded.scalar_type() == x.scalar_type() &&
                    padded.device() == x.device() && padded.is_contiguous(),
                kOp, ": padded cache of ", padded.numel(), " ", padded.scalar_type(),
                " elements does not match this layer (", want_padded,
                " expected); create the state with the layer's init_state, or pass an empty tensor");
  }
  return s;
}

void stream_step(const at::Tensor& x_in, const at::Tensor& weight_in,
                 const std::optional<at::Tensor>& bias_in, at::Tensor& buffer, at::Tensor& position,
                 at::Tensor& padded, at::Tensor& out, const DwConv3dShape& s, Activation act) {
  const at::Tensor x = x_in.contiguous(), weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  const int64_t pos = position.item<int64_t>();
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    causal_dwconv3d_forward(x.const_data_ptr<T>(), x.size(2),
                            s.kt > 1 ? buffer.mutable_data_ptr<T>() : nullptr,
                            (s.kt > 1 && padded.numel() != 0) ? padded.mutable_data_ptr<T>() : nullptr, pos,
                            weight.const_data_ptr<T>(), bias.defined() ? bias.const_data_ptr<T>() : nullptr,
                            out.mutable_data_ptr<T>(), s, act);
  });
  position.fill_(pos + x.size(2));
}

at::Tensor causal_dwconv3d_stream_cpu(const at::Tensor& x, const at::Tensor& weight,
                                      const std::optional<at::Tensor>& bias, at::Tensor& buffer,
                                      at::Tensor& position, at::Tensor& padded,
                                      at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same,
                                      c10::string_view activation) {
  const Activation act = parse_activation(activation);
  const DwConv3dShape s =
      check_stream(x, weight, bias, buffer, position, padded, stride, padding, tf_same);
  at::Tensor out = at::empty({s.batch, s.channels, x.size(2), s.out_h, s.out_w}, x.options());
  stream_step(x, weight, bias, buffer, position, padded, out, s, act);
  return out;
}

void causal_dwconv3d_stream_out_cpu(const at::Tensor& x, const at::Tensor& weight,
                                    const std::optional<at::Tensor>& bias, at::Tensor& buffer,
                                    at::Tensor& position, at::Tensor& padded, at::Tensor& out,
                                    at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same,
                                    c10::string_view activation) {
  const Activation act = parse_activation(activation);
  const DwConv3dShape s =
      check_stream(x, weight, bias, buffer, position, padded, stride, padding, tf_same);
  check_stream_out(x, out, s);
  stream_step(x, weight, bias, buffer, position, padded, out, s, act);
}

}  // namespace

int64_t causal_dwconv3d_padded_numel_for(at::IntArrayRef x_size, at::IntArrayRef kernel,
                                         at::IntArrayRef stride, at::IntArrayRef padding,
                                         bool tf_same, at::ScalarType dtype) {
  TORCH_CHECK(x_size.size() == 5 && kernel.size() == 3, kOp, ": expected a 5-D size and a 3-D kernel");
  const at::Tensor x = at::empty(x_size, at::TensorOptions().dtype(dtype).device(at::kMeta));
  const at::Tensor w = at::empty({x_size[1], 1, kernel[0], kernel[1], kernel[2]}, x.options());
  return causal_dwconv3d_padded_numel(make_shape(x, w, stride, padding, tf_same),
                                      static_cast<int64_t>(x.element_size()));
}

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) {
  m.impl("causal_dwconv3d", causal_dwconv3d_cpu);
  m.impl("_causal_dwconv3d_backward", causal_dwconv3d_backward_cpu);
  m.impl("causal_dwconv3d_stream_", causal_dwconv3d_stream_cpu);
  m.impl("causal_dwconv3d_stream_out_", causal_dwconv3d_stream_out_cpu);
}

}  // namespace fastvfx::ops
