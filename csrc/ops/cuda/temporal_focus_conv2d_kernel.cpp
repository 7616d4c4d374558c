// CUDA Temporal Focus Convolution: the CPU side's checks, then the pooling
// kernel (one pass, in x's own layout), the gate kernel, and the conv of
// x * scale without writing x * scale: the scale folded into per-sample
// weights (a kernel), then one strided-batched GEMM for a 1x1 conv (cuBLAS)
// or one grouped conv over the samples (cuDNN) for other kernels.
#include <torch/library.h>

#include "../temporal_focus_conv2d_checks.h"
#include "cuda_common.h"

namespace fastvfx::ops {
namespace {

const void* data_or_null(const std::optional<at::Tensor>& t) { return t ? t->const_data_ptr() : nullptr; }

// y = conv2d(x * scale, weight, bias), scale (N, C_in) contiguous.
at::Tensor scaled_conv_cuda(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& weight_in,
                            const std::optional<at::Tensor>& bias, at::IntArrayRef stride, at::IntArrayRef padding) {
  const int64_t n = x.size(0), cin = x.size(1), cout = weight_in.size(0);
  const int64_t kh = weight_in.size(2), kw = weight_in.size(3);
  const at::Tensor weight = weight_in.contiguous();
  at::Tensor w_n = at::empty({n, cout, cin, kh, kw}, x.options());
  on_stream_of(x, [&](cudaStream_t stream) {
    cuda::fold_scale(cuda_dtype(x), weight.const_data_ptr(), scale.const_data_ptr(), w_n.mutable_data_ptr(), n, cout,
                     cin, kh * kw, stream);
  });
  const bool pointwise = kh == 1 && kw == 1 && stride[0] == 1 && stride[1] == 1 && padding[0] == 0 && padding[1] == 0;
  if (!pointwise) {
    at::Tensor y = at::conv2d(x.reshape({1, n * cin, x.size(2), x.size(3)}), w_n.view({n * cout, cin, kh, kw}),
                              bias ? std::optional<at::Tensor>(bias->repeat({n})) : std::nullopt, stride, padding,
                              /*dilation=*/1, /*groups=*/n);
    return y.view({n, cout, y.size(2), y.size(3)}).contiguous(output_format(x));
  }
  const int64_t hw = x.size(2) * x.size(3);
  const at::Tensor wm = w_n.view({n, cout, cin});
  if (is_channels_last(x)) {  // Y_n (HW, C_out) = X_n (HW, C_in) @ W_n^T
    const at::Tensor x_rows = x.permute({0, 2, 3, 1}).reshape({n, hw, cin});
    at::Tensor out = at::empty({n, x.size(2), x.size(3), cout}, x.options());
    at::Tensor y = out.view({n, hw, cout});
    if (bias) {
      at::baddbmm_out(y, bias->view({1, 1, cout}).expand({n, hw, cout}), x_rows, wm.transpose(1, 2));
    } else {
      at::bmm_out(y, x_rows, wm.transpose(1, 2));
    }
    return out.permute({0, 3, 1, 2});
  }
  at::Tensor out = at::empty({n, cout, x.size(2), x.size(3)}, x.options());
  at::Tensor y = out.view({n, cout, hw});
  const at::Tensor xs = x.reshape({n, cin, hw});
  if (bias) {
    at::baddbmm_out(y, bias->view({1, cout, 1}).expand({n, cout, hw}), wm, xs);
  } else {
    at::bmm_out(y, wm, xs);
  }
  return out;
}

std::tuple<at::Tensor, at::Tensor> temporal_focus_conv2d_cuda(
    const at::Tensor& x_in, const at::Tensor& weight_in, const at::Tensor& fc1_weight,
    const std::optional<at::Tensor>& fc1_bias, const at::Tensor& fc2_weight, const std::optional<at::Tensor>& fc2_bias,
    const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride, at::IntArrayRef padding, c10::string_view pool) {
  constexpr const char* op = "fastvfx.temporal_focus_conv2d";
  const auto out_size = check_conv_args(x_in, weight_in, bias_in, stride, padding, op);
  const PoolKind kind = parse_pool(pool, op);
  const int64_t cin = x_in.size(1);
  const auto [w1_in, w2_in] = check_gate_args(x_in, fc1_weight, fc1_bias, fc2_weight, fc2_bias, op);
  const at::Tensor x_d = x_in.detach(), weight = weight_in.detach();
  const auto bias = detached(bias_in);
  const int64_t n = x_d.size(0), cout = weight.size(0), hidden = w1_in.size(0);
  if (n == 0 || cin == 0) return {empty_input_result(x_d, cout, bias, out_size), at::empty({n, cin}, x_d.options())};
  const bool nhwc = is_channels_last(x_d);
  const at::Tensor x = nhwc || x_d.is_contiguous() ? x_d : x_d.contiguous();
  const at::Tensor w1 = w1_in.contiguous(), w2 = w2_in.contiguous();
  const auto b1 = fc1_bias ? std::optional<at::Tensor>(fc1_bias->detach().contiguous()) : std::nullopt;
  const auto b2 = fc2_bias ? std::optional<at::Tensor>(fc2_bias->detach().contiguous()) : std::nullopt;
  at::Tensor pooled = at::empty({n, cin}, x.options());
  at::Tensor scale = at::empty({n, cin}, x.options());
  bool gated = false;
  on_stream_of(x, [&](cudaStream_t stream) {
    cuda::global_pool2d(cuda_dtype(x), x.const_data_ptr(), pooled.mutable_data_ptr(),
                        PoolShape{n, cin, x.size(2) * x.size(3), nhwc}, kind, stream);
    gated = cuda::tfc_gate(cuda_dtype(x), pooled.const_data_ptr(), n, cin, hidden, w1.const_data_ptr(),
                           data_or_null(b1), w2.const_data_ptr(), data_or_null(b2), scale.mutable_data_ptr(), stream);
  });
  if (!gated) {  // a hidden layer too wide for the kernel's shared memory: two GEMMs
    at::Tensor hid = b1 ? at::addmm(*b1, pooled, w1.t()) : at::mm(pooled, w1.t());
    hid.relu_();
    scale = (b2 ? at::addmm(*b2, hid, w2.t()) : at::mm(hid, w2.t())).sigmoid_();
  }
  return {scaled_conv_cuda(x, scale, weight, bias, stride, padding), scale};
}

at::Tensor channel_scaled_conv2d_cuda(const at::Tensor& x_in, const at::Tensor& scale_in, const at::Tensor& weight_in,
                                      const std::optional<at::Tensor>& bias_in, at::IntArrayRef stride,
                                      at::IntArrayRef padding) {
  constexpr const char* op = "fastvfx.channel_scaled_conv2d";
  const auto out_size = check_conv_args(x_in, weight_in, bias_in, stride, padding, op);
  const at::Tensor scale = check_scale_arg(x_in, scale_in, op).contiguous();
  const at::Tensor x = x_in.detach(), weight = weight_in.detach();
  const auto bias = detached(bias_in);
  if (x.size(0) == 0 || x.size(1) == 0) return empty_input_result(x, weight.size(0), bias, out_size);
  return scaled_conv_cuda(x, scale, weight, bias, stride, padding);
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CUDA, m) {
  m.impl("temporal_focus_conv2d", temporal_focus_conv2d_cuda);
  m.impl("channel_scaled_conv2d", channel_scaled_conv2d_cuda);
}

}  // namespace fastvfx::ops
