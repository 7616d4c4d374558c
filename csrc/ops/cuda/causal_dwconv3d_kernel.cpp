// CUDA implementations of the causal depthwise Conv3D ops: the CPU side's
// checks, then the launchers on the current stream. A streaming step keeps
// its position on the device (the kernels read and advance it): no host
// read, so a loop of steps can be captured in a CUDA graph.
#include <torch/library.h>

#include "../causal_dwconv3d_checks.h"
#include "cuda_common.h"

namespace fastvfx::ops {
namespace {

const void* data_or_null(const at::Tensor& t) { return t.defined() ? t.const_data_ptr() : nullptr; }

at::Tensor causal_dwconv3d_cuda(const at::Tensor& x_in, const at::Tensor& weight_in,
                                const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride,
                                at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  check_input(x_in, weight_in, bias_in);
  const Activation act = parse_activation(activation);
  const DwConv3dShape s = make_shape(x_in, weight_in, stride, padding, tf_same);
  const at::Tensor x = x_in.contiguous(), weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  at::Tensor y = at::empty({s.batch, s.channels, x.size(2), s.out_h, s.out_w}, x.options());
  if (y.numel() == 0) return y;
  on_stream_of(x, [&](cudaStream_t stream) {
    cuda::causal_dwconv3d_forward(cuda_dtype(x), x.const_data_ptr(), x.size(2), nullptr, nullptr,
                                  weight.const_data_ptr(), data_or_null(bias), y.mutable_data_ptr(), s, act, stream);
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> causal_dwconv3d_backward_cuda(
    const at::Tensor& grad_in, const at::Tensor& x_in, const at::Tensor& weight_in, at::IntArrayRef stride,
    at::IntArrayRef padding, bool tf_same, std::array<bool, 3> mask) {
  check_input(x_in, weight_in, std::nullopt);
  const DwConv3dShape s = make_shape(x_in, weight_in, stride, padding, tf_same);
  TORCH_CHECK(grad_in.sizes() == at::IntArrayRef({s.batch, s.channels, x_in.size(2), s.out_h, s.out_w}), kOp,
              ": grad of shape ", grad_in.sizes(), " does not match the output");
  const at::Tensor x = x_in.contiguous(), weight = weight_in.contiguous();
  const at::Tensor grad = grad_in.contiguous().to(x.scalar_type());
  at::Tensor dx = mask[0] ? at::empty_like(x) : at::empty({0}, x.options());
  at::Tensor dw = mask[1] ? at::empty_like(weight) : at::empty({0}, x.options());
  at::Tensor db = mask[2] ? at::empty({s.channels}, x.options()) : at::empty({0}, x.options());
  if (x.numel() == 0) return {dx, dw.zero_(), db.zero_()};
  on_stream_of(x, [&](cudaStream_t stream) {
    cuda::causal_dwconv3d_backward(cuda_dtype(x), x.const_data_ptr(), grad.const_data_ptr(), x.size(2),
                                   weight.const_data_ptr(), mask[0] ? dx.mutable_data_ptr() : nullptr,
                                   mask[1] ? dw.mutable_data_ptr() : nullptr, mask[2] ? db.mutable_data_ptr() : nullptr,
                                   s, stream);
  });
  return {dx, dw, db};
}

// Checks everything a step needs before anything is written.
DwConv3dShape check_stream_cuda(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                                const at::Tensor& buffer, const at::Tensor& position, const at::Tensor& padded,
                                at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same) {
  check_input(x, weight, bias);
  TORCH_CHECK(x.size(2) >= 1, kOp, ": a streaming step needs at least one new frame, got T = 0");
  const DwConv3dShape s = make_shape(x, weight, stride, padding, tf_same);
  check_stream_buffer(x, buffer, s);
  TORCH_CHECK(position.scalar_type() == at::kLong && position.numel() == 1 && position.device() == x.device(), kOp,
              ": position must be a one-element int64 tensor on ", x.device(),
              " (on CUDA the kernels read and advance it on the device); got ", position.scalar_type(), " ",
              position.sizes(), " on ", position.device());
  TORCH_CHECK(padded.numel() == 0, kOp,
              ": the padded history cache is a CPU feature; on CUDA pass an empty tensor (init_state does)");
  return s;
}

void stream_step_cuda(const at::Tensor& x_in, const at::Tensor& weight_in, const std::optional<at::Tensor>& bias_in,
                      at::Tensor& buffer, at::Tensor& position, at::Tensor& out, const DwConv3dShape& s,
                      Activation act) {
  const at::Tensor x = x_in.contiguous(), weight = weight_in.contiguous();
  const at::Tensor bias = bias_in ? bias_in->contiguous() : at::Tensor();
  on_stream_of(x, [&](cudaStream_t stream) {
    cuda::causal_dwconv3d_forward(cuda_dtype(x), x.const_data_ptr(), x.size(2),
                                  s.kt > 1 ? buffer.mutable_data_ptr() : nullptr,
                                  position.mutable_data_ptr<int64_t>(), weight.const_data_ptr(), data_or_null(bias),
                                  out.mutable_data_ptr(), s, act, stream);
  });
}

at::Tensor causal_dwconv3d_stream_cuda(const at::Tensor& x, const at::Tensor& weight,
                                       const std::optional<at::Tensor>& bias, at::Tensor& buffer, at::Tensor& position,
                                       at::Tensor& padded, at::IntArrayRef stride, at::IntArrayRef padding,
                                       bool tf_same, c10::string_view activation) {
  const Activation act = parse_activation(activation);
  const DwConv3dShape s = check_stream_cuda(x, weight, bias, buffer, position, padded, stride, padding, tf_same);
  at::Tensor out = at::empty({s.batch, s.channels, x.size(2), s.out_h, s.out_w}, x.options());
  stream_step_cuda(x, weight, bias, buffer, position, out, s, act);
  return out;
}

void causal_dwconv3d_stream_out_cuda(const at::Tensor& x, const at::Tensor& weight,
                                     const std::optional<at::Tensor>& bias, at::Tensor& buffer, at::Tensor& position,
                                     at::Tensor& padded, at::Tensor& out, at::IntArrayRef stride,
                                     at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  const Activation act = parse_activation(activation);
  const DwConv3dShape s = check_stream_cuda(x, weight, bias, buffer, position, padded, stride, padding, tf_same);
  check_stream_out(x, out, s);
  stream_step_cuda(x, weight, bias, buffer, position, out, s, act);
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CUDA, m) {
  m.impl("causal_dwconv3d", causal_dwconv3d_cuda);
  m.impl("_causal_dwconv3d_backward", causal_dwconv3d_backward_cuda);
  m.impl("causal_dwconv3d_stream_", causal_dwconv3d_stream_cuda);
  m.impl("causal_dwconv3d_stream_out_", causal_dwconv3d_stream_out_cuda);
}

}  // namespace fastvfx::ops
