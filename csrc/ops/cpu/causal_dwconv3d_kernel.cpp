// CPU implementations of the causal depthwise Conv3D ops: check the
// arguments (before touching any state), then one call into the core.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <string_view>

#include "../causal_dwconv3d_checks.h"
#include "causal_dwconv3d_kernel.h"
#include "fastvfx/causal_dwconv3d.h"
#include "fp32_tiles.h"
#include "large_outputs.h"

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

// 16-bit tensors: whole (n, c) planes at a time through the float32 kernels
// (fp32_tiles.h). A tile is a run of one sample's channels, run as a layer of
// batch 1 with those channels; the history tile is converted and written back
// with it. 16-bit streams keep no padded cache (check_stream).
DwConv3dShape channel_tile(DwConv3dShape s, int64_t channels) {
  s.batch = 1;
  s.channels = channels;
  return s;
}

}  // namespace

void causal_dwconv3d_forward_16bit(const at::Tensor& x, at::Tensor* history, int64_t position,
                                   const at::Tensor& weight, const at::Tensor& bias, at::Tensor& y,
                                   const DwConv3dShape& s, Activation act) {
  const int64_t t = x.size(2), planes = s.batch * s.channels, taps = s.kt * s.kh * s.kw;
  const int64_t in_plane = t * s.in_h * s.in_w, out_plane = t * s.out_h * s.out_w;
  const int64_t hist_plane = (s.kt - 1) * s.in_h * s.in_w;
  const at::Tensor w32 = weight.to(at::kFloat);
  const at::Tensor b32 = bias.defined() ? bias.to(at::kFloat) : at::Tensor();
  for_each_fp32_tile(planes, s.channels, 4 * (in_plane + out_plane + hist_plane), [&](int64_t p0, int64_t cc) {
    const int64_t c0 = p0 % s.channels;
    const at::Tensor x32 = rows_of(x, planes, in_plane, p0, cc).to(at::kFloat);
    at::Tensor h32 = history ? rows_of(*history, planes, hist_plane, p0, cc).to(at::kFloat) : at::Tensor();
    at::Tensor y32 = at::empty({cc, out_plane}, x32.options());
    causal_dwconv3d_forward(x32.const_data_ptr<float>(), t, history ? h32.mutable_data_ptr<float>() : nullptr,
                            nullptr, position, w32.const_data_ptr<float>() + c0 * taps,
                            b32.defined() ? b32.const_data_ptr<float>() + c0 : nullptr,
                            y32.mutable_data_ptr<float>(), channel_tile(s, cc), act);
    rows_of(y, planes, out_plane, p0, cc).copy_(y32);
    if (history) rows_of(*history, planes, hist_plane, p0, cc).copy_(h32);
  });
}

namespace {

// Weight and bias gradients are summed over the batch in float32 from
// per-sample parts, then rounded once.
void backward_16bit(const at::Tensor& x, const at::Tensor& grad, const at::Tensor& weight, at::Tensor& dx,
                    at::Tensor& dw, at::Tensor& db, const DwConv3dShape& s, std::array<bool, 3> mask) {
  const int64_t t = x.size(2), planes = s.batch * s.channels, taps = s.kt * s.kh * s.kw;
  const int64_t in_plane = t * s.in_h * s.in_w, out_plane = t * s.out_h * s.out_w;
  const at::Tensor w32 = weight.to(at::kFloat);
  const auto f32 = x.options().dtype(at::kFloat);
  at::Tensor dw_parts = mask[1] ? at::zeros({s.batch, s.channels, taps}, f32) : at::Tensor();
  at::Tensor db_parts = mask[2] ? at::zeros({s.batch, s.channels}, f32) : at::Tensor();
  for_each_fp32_tile(planes, s.channels, 4 * (2 * in_plane + out_plane), [&](int64_t p0, int64_t cc) {
    const int64_t c0 = p0 % s.channels;
    const at::Tensor x32 = rows_of(x, planes, in_plane, p0, cc).to(at::kFloat);
    const at::Tensor dy32 = rows_of(grad, planes, out_plane, p0, cc).to(at::kFloat);
    at::Tensor dx32 = mask[0] ? at::empty({cc, in_plane}, f32) : at::Tensor();
    causal_dwconv3d_backward(x32.const_data_ptr<float>(), dy32.const_data_ptr<float>(), t,
                             w32.const_data_ptr<float>() + c0 * taps,
                             mask[0] ? dx32.mutable_data_ptr<float>() : nullptr,
                             mask[1] ? dw_parts.mutable_data_ptr<float>() + p0 * taps : nullptr,
                             mask[2] ? db_parts.mutable_data_ptr<float>() + p0 : nullptr, channel_tile(s, cc));
    if (mask[0]) rows_of(dx, planes, in_plane, p0, cc).copy_(dx32);
  });
  if (mask[1]) dw.copy_(dw_parts.sum(0).view(dw.sizes()));
  if (mask[2]) db.copy_(db_parts.sum(0));
}

at::Tensor causal_dwconv3d_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                               const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride,
                               at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  check_input(x_in, weight_in, bias_in);
  const Activation act = parse_activation(activation, kOp);
  const DwConv3dShape s = make_shape(x_in, weight_in, stride, padding, tf_same);
  const at::Tensor x = x_in.contiguous();
  const at::Tensor weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  at::Tensor y = at::empty({s.batch, s.channels, x.size(2), s.out_h, s.out_w}, x.options());
  if (y.numel() == 0) return y;
  prepare_large_output(y);
  if (is_16bit(x.scalar_type())) {
    causal_dwconv3d_forward_16bit(x, nullptr, 0, weight, bias, y, s, act);
    return y;
  }
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
  if (is_16bit(x.scalar_type())) {
    backward_16bit(x, grad, weight, dx, dw, db, s, mask);
    return {dx, dw, db};
  }
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
  TORCH_CHECK(*position.const_data_ptr<int64_t>() >= 0, kOp, ": position must be >= 0");
  TORCH_CHECK(padded.numel() == 0 || !is_16bit(x.scalar_type()), kOp,
              ": a 16-bit stream keeps no padded cache; pass an empty tensor (init_state does)");
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
  // The position is read and advanced in place rather than by item() and
  // fill_(): two fewer dispatcher calls per step. (The ADInplaceOrView
  // kernel bumps its version, as for the buffer.)
  int64_t* const position_ptr = position.mutable_data_ptr<int64_t>();
  const int64_t pos = *position_ptr;
  if (is_16bit(x.scalar_type())) {
    causal_dwconv3d_forward_16bit(x, s.kt > 1 ? &buffer : nullptr, pos, weight, bias, out, s, act);
    *position_ptr = pos + x.size(2);
    return;
  }
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    causal_dwconv3d_forward(x.const_data_ptr<T>(), x.size(2),
                            s.kt > 1 ? buffer.mutable_data_ptr<T>() : nullptr,
                            (s.kt > 1 && padded.numel() != 0) ? padded.mutable_data_ptr<T>() : nullptr, pos,
                            weight.const_data_ptr<T>(), bias.defined() ? bias.const_data_ptr<T>() : nullptr,
                            out.mutable_data_ptr<T>(), s, act);
  });
  *position_ptr = pos + x.size(2);
}

at::Tensor causal_dwconv3d_stream_cpu(const at::Tensor& x, const at::Tensor& weight,
                                      const std::optional<at::Tensor>& bias, at::Tensor& buffer,
                                      at::Tensor& position, at::Tensor& padded,
                                      at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same,
                                      c10::string_view activation) {
  const Activation act = parse_activation(activation, kOp);
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
  const Activation act = parse_activation(activation, kOp);
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
  if (is_16bit(dtype)) return 0;
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
