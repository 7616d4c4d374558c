// CPU implementation of the fused MoViNet block step (schema in
// ../movinet_block.cpp). A step on one frame is some 20 small ops; run from
// Python each costs more in dispatch than in compute at MoViNet's frame sizes
// (11x11 to 43x43), so the whole block is one call. In float32 the 1x1
// convolutions run on the core's pointwise kernels (pointwise_conv_nchw:
// weight rows broadcast against the frame's rows in place, nothing packed,
// the bias, activation and residual applied in the tiles); float64 takes
// at::addmm. (MKL's sgemm, at::addmm, ran at AVX2 speed on an AVX-512 AMD
// CPU; the TFC's packed GEMM, csrc/kernels/tfc, lost to it at these 36-1849
// pixels by its packing.) The depthwise units call the causal
// dwconv3d ops through the dispatcher (their public interface), so the stream
// state keeps the layout, ring and padded cache those ops own.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/library.h>

#include <optional>
#include <string_view>
#include <vector>

#include "../threading.h"
#include "causal_dwconv3d_kernel.h"
#include "fastvfx/movinet_block.h"
#include "fastvfx/pointwise_conv.h"

namespace fastvfx::ops {

namespace {

constexpr const char* kBlockOp = "fastvfx.movinet_block_step";

void check_activation(std::string_view name) {
  TORCH_CHECK(name == "swish" || name == "hardswish" || name == "relu" || name == "relu6" || name == "none",
              kBlockOp, ": activation must be one of none, relu, relu6, hardswish, swish; got '", name, "'");
}

void activate_(at::Tensor& y, std::string_view name) {
  if (name == "swish") {
    at::silu_(y);
  } else if (name == "hardswish") {
    at::hardswish_(y);
  } else if (name == "relu") {
    at::relu_(y);
  } else if (name == "relu6") {
    at::clamp_(y, 0, 6);
  }
}

// y (Cout, P) = act(weight (Cout, Cin) x (Cin, P) + bias) (+ residual, which
// may be y), float32, on the core's pointwise kernels.
void conv1x1(const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& x, at::Tensor& y,
             const at::Tensor* residual, std::string_view act) {
  const at::Tensor b = bias.contiguous();
  PointwiseConvNchw p;
  p.out_channels = weight.size(0), p.in_channels = weight.size(1), p.pixels = x.size(1);
  p.weight = weight.const_data_ptr<float>(), p.weight_stride = weight.stride(0);
  p.bias = b.const_data_ptr<float>();
  p.sources = 1;
  p.source[0] = PointwiseSource{x.const_data_ptr<float>(), 0, p.in_channels};
  p.y = y.mutable_data_ptr<float>();
  p.residual = residual != nullptr ? residual->const_data_ptr<float>() : nullptr;
  p.act = act == "sigmoid" ? Activation::kSigmoid : parse_activation(act, kBlockOp);
  pointwise_conv_nchw(p);
}

// A tensor argument: `what` of shape `sizes`, x's dtype, on the CPU.
void check_like(const at::Tensor& t, const at::Tensor& x, at::IntArrayRef sizes, const char* what) {
  TORCH_CHECK(t.sizes() == sizes, kBlockOp, ": ", what, " must have shape ", sizes, ", got ", t.sizes());
  TORCH_CHECK(t.scalar_type() == x.scalar_type(), kBlockOp, ": ", what, " dtype ", t.scalar_type(),
              " does not match x dtype ", x.scalar_type());
  TORCH_CHECK(t.device().is_cpu(), kBlockOp, ": ", what, " is on ", t.device(), ", expected the CPU");
}

void check_count(const at::Tensor& t, const char* what, int64_t minimum) {
  TORCH_CHECK(t.scalar_type() == at::kLong && t.numel() == 1 && t.device().is_cpu(), kBlockOp, ": ", what,
              " must be a one-element int64 CPU tensor");
  TORCH_CHECK(t.item<int64_t>() >= minimum, kBlockOp, ": ", what, " must be >= ", minimum, ", got ",
              t.item<int64_t>());
}

int64_t same_out(int64_t size, int64_t stride) { return (size + stride - 1) / stride; }

// TF-"same" 3x3 average pooling of frames (N, C, H, W), padding excluded from
// the mean (MoViNet's strided shortcut), by the core.
at::Tensor same_avg_pool3(const at::Tensor& x, int64_t stride) {
  const at::Tensor xc = x.contiguous();
  const int64_t h = x.size(2), w = x.size(3);
  at::Tensor y = at::empty({x.size(0), x.size(1), same_out(h, stride), same_out(w, stride)}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "same_avg_pool3", [&] {
    same_avg_pool3x3(xc.const_data_ptr<scalar_t>(), y.mutable_data_ptr<scalar_t>(), x.size(0) * x.size(1), h, w,
                     stride);
  });
  return y;
}

at::Tensor dwconv_stream(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::Tensor& buffer,
                         at::Tensor& position, at::Tensor& padded, int64_t stride, std::string_view act) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("fastvfx::causal_dwconv3d_stream_", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, at::Tensor&,
                            at::Tensor&, at::Tensor&, at::IntArrayRef, at::IntArrayRef, bool, c10::string_view)>();
  const int64_t s[2] = {stride, stride}, zero[2] = {0, 0};
  return op.call(x, weight, bias, buffer, position, padded, s, zero, true, act);
}

at::Tensor dwconv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                  std::string_view act) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("fastvfx::causal_dwconv3d", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                            at::IntArrayRef, at::IntArrayRef, bool, c10::string_view)>();
  const int64_t s[2] = {stride, stride}, zero[2] = {0, 0};
  return op.call(x, weight, bias, s, zero, true, act);
}

struct BlockShape {
  int64_t n, c_in, h, w, expand, out_h, out_w, stride, macs;
};

// A block step below this many multiply-adds runs on the calling thread
// alone. MoViNet-A0's blocks at 172x172 are 2-5 M (at batch 1), some ten ops
// of 20-200 us each: with two threads every op opened its own parallel region
// (addmm, the activations, the depthwise kernel), and the two-thread step was
// slower than the one-thread one, under load by 20x (docs/models.md,
// "MoViNet: threads"). Frames of 344x344 and up, or batches, keep torch's
// threads.
constexpr int64_t kSerialBlockMacs = int64_t{8} << 20;

// Every check, before any state is written.
BlockShape check_block(const at::Tensor& x, const at::Tensor& expand_weight, const at::Tensor& expand_bias,
                       at::TensorList dw_weights, at::TensorList dw_biases, at::IntArrayRef dw_strides,
                       at::TensorList buffers, at::TensorList positions, at::TensorList paddeds,
                       const at::Tensor& se_weight1, const at::Tensor& se_bias1, const at::Tensor& se_weight2,
                       const at::Tensor& se_bias2, const at::Tensor& se_total, const at::Tensor& count,
                       bool both_pools, const at::Tensor& project_weight, const at::Tensor& project_bias,
                       const std::optional<at::Tensor>& shortcut_weight,
                       const std::optional<at::Tensor>& shortcut_bias, std::string_view activation,
                       std::string_view gate) {
  TORCH_CHECK(x.dim() == 5 && x.size(2) == 1, kBlockOp, ": expected one frame x of shape (N, C, 1, H, W), got ",
              x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, kBlockOp,
              ": supports float32 and float64, got ", x.scalar_type());
  TORCH_CHECK(x.device().is_cpu(), kBlockOp, ": x is on ", x.device(), ", expected the CPU");
  TORCH_CHECK(x.numel() > 0, kBlockOp, ": x is empty (shape ", x.sizes(), ")");
  check_activation(activation);
  TORCH_CHECK(gate == "sigmoid" || gate == "hardsigmoid", kBlockOp,
              ": gate must be 'sigmoid' or 'hardsigmoid', got '", gate, "'");
  BlockShape s{x.size(0), x.size(1), x.size(3), x.size(4), expand_weight.dim() == 2 ? expand_weight.size(0) : 0,
               x.size(3), x.size(4), 1, 0};
  check_like(expand_weight, x, {s.expand, s.c_in}, "expand_weight");
  TORCH_CHECK(s.expand > 0, kBlockOp, ": expand_weight has no rows");
  check_like(expand_bias, x, {s.expand}, "expand_bias");
  TORCH_CHECK(!dw_weights.empty() && dw_biases.size() == dw_weights.size() && dw_strides.size() == dw_weights.size(),
              kBlockOp, ": dw_weights, dw_biases and dw_strides must be equally long and not empty, got ",
              dw_weights.size(), ", ", dw_biases.size(), " and ", dw_strides.size());
  size_t state = 0;
  for (size_t u = 0; u < dw_weights.size(); ++u) {
    const at::Tensor& weight = dw_weights[u];
    TORCH_CHECK(weight.dim() == 5 && weight.size(0) == s.expand && weight.size(1) == 1, kBlockOp, ": dw_weights[", u,
                "] must be (", s.expand, ", 1, kT, kH, kW), got ", weight.sizes());
    check_like(weight, x, weight.sizes(), "a depthwise weight");
    check_like(dw_biases[u], x, {s.expand}, "a depthwise bias");
    TORCH_CHECK(dw_strides[u] >= 1 && dw_strides[u] <= 8, kBlockOp, ": dw_strides must be in [1, 8], got ",
                dw_strides[u]);
    if (weight.size(2) > 1) {
      TORCH_CHECK(state < buffers.size() && state < positions.size() && state < paddeds.size(), kBlockOp,
                  ": one stream state (buffer, position, padded) per depthwise unit with kT > 1; got ",
                  buffers.size(), " buffers, ", positions.size(), " positions, ", paddeds.size(), " padded caches");
      const at::Tensor& buffer = buffers[state];
      check_like(buffer, x, {s.n, s.expand, weight.size(2) - 1, s.out_h, s.out_w}, "a stream buffer");
      TORCH_CHECK(buffer.is_contiguous(), kBlockOp, ": a stream buffer must be contiguous");
      check_count(positions[state], "a stream position", 0);
      const at::Tensor& padded = paddeds[state];
      if (padded.numel() != 0) {
        const int64_t want = s.n * s.expand * (weight.size(2) - 1) *
                             causal_dwconv3d_padded_numel_for({s.n, s.expand, 1, s.out_h, s.out_w}, weight.sizes().slice(2),
                                                              {dw_strides[u], dw_strides[u]}, {0, 0}, true,
                                                              x.scalar_type());
        TORCH_CHECK(padded.numel() == want && padded.scalar_type() == x.scalar_type() && padded.device().is_cpu() &&
                        padded.is_contiguous(),
                    kBlockOp, ": a padded cache of ", padded.numel(), " elements does not match its unit (", want,
                    " expected); create the states with init_state");
      }
      ++state;
    }
    s.out_h = same_out(s.out_h, dw_strides[u]);
    s.out_w = same_out(s.out_w, dw_strides[u]);
    s.stride *= dw_strides[u];
    s.macs += s.expand * s.out_h * s.out_w * weight.size(2) * weight.size(3) * weight.size(4);
  }
  TORCH_CHECK(state == buffers.size() && state == positions.size() && state == paddeds.size(), kBlockOp,
              ": one stream state per depthwise unit with kT > 1 (", state, "), got ", buffers.size(), " buffers, ",
              positions.size(), " positions, ", paddeds.size(), " padded caches");
  const int64_t squeeze = se_weight1.dim() == 2 ? se_weight1.size(0) : 0;
  check_like(se_weight1, x, {squeeze, s.expand * (both_pools ? 2 : 1)}, "se_weight1");
  check_like(se_bias1, x, {squeeze}, "se_bias1");
  check_like(se_weight2, x, {s.expand, squeeze}, "se_weight2");
  check_like(se_bias2, x, {s.expand}, "se_bias2");
  check_like(se_total, x, {s.n, s.expand, 1, 1, 1}, "se_total");
  TORCH_CHECK(se_total.is_contiguous(), kBlockOp, ": se_total must be contiguous");
  check_count(count, "count (the frame's position in the stream, from 1)", 1);
  const int64_t out_channels = project_weight.dim() == 2 ? project_weight.size(0) : 0;
  check_like(project_weight, x, {out_channels, s.expand}, "project_weight");
  check_like(project_bias, x, {out_channels}, "project_bias");
  TORCH_CHECK(shortcut_weight.has_value() == shortcut_bias.has_value(), kBlockOp,
              ": pass both shortcut_weight and shortcut_bias, or neither");
  if (shortcut_weight) {
    check_like(*shortcut_weight, x, {out_channels, s.c_in}, "shortcut_weight");
    check_like(*shortcut_bias, x, {out_channels}, "shortcut_bias");
  } else {
    TORCH_CHECK(s.stride == 1 && out_channels == s.c_in, kBlockOp,
                ": without a shortcut projection the block must keep its width and size (C_in ", s.c_in,
                ", C_out ", out_channels, ", stride ", s.stride, ")");
  }
  const int64_t out_pixels = s.out_h * s.out_w;
  s.macs = s.n * (s.macs + s.expand * s.c_in * s.h * s.w + out_channels * (s.expand + (shortcut_weight ? s.c_in : 0)) *
                                                                 out_pixels);
  return s;
}

at::Tensor movinet_block_step_cpu(const at::Tensor& x_in, const at::Tensor& expand_weight,
                                  const at::Tensor& expand_bias, at::TensorList dw_weights, at::TensorList dw_biases,
                                  at::IntArrayRef dw_strides, at::TensorList buffers, at::TensorList positions,
                                  at::TensorList paddeds, const at::Tensor& se_weight1, const at::Tensor& se_bias1,
                                  const at::Tensor& se_weight2, const at::Tensor& se_bias2, const at::Tensor& se_total,
                                  const at::Tensor& count, bool both_pools, const at::Tensor& project_weight,
                                  const at::Tensor& project_bias, const std::optional<at::Tensor>& shortcut_weight,
                                  const std::optional<at::Tensor>& shortcut_bias, c10::string_view activation,
                                  c10::string_view gate) {
  const BlockShape s = check_block(x_in, expand_weight, expand_bias, dw_weights, dw_biases, dw_strides, buffers,
                                   positions, paddeds, se_weight1, se_bias1, se_weight2, se_bias2, se_total, count,
                                   both_pools, project_weight, project_bias, shortcut_weight, shortcut_bias,
                                   activation, gate);
  // Inference only (the Python API refuses grad mode): the composed ops skip autograd.
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  std::optional<SerialScope> serial;
  if (s.macs < kSerialBlockMacs) serial.emplace();
  const at::Tensor x = x_in.contiguous();
  const int64_t n = s.n, pixels = s.h * s.w, out_pixels = s.out_h * s.out_w;

  // Expansion, one GEMM per sample.
  const bool f32 = x.scalar_type() == at::kFloat;
  at::Tensor y = at::empty({n, s.expand, 1, s.h, s.w}, x.options());
  const at::Tensor expand_column = expand_bias.unsqueeze(1);
  const at::Tensor expand_w = expand_weight.contiguous();
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor yi = y[i].view({s.expand, pixels});
    if (f32) {
      conv1x1(expand_w, expand_bias, x[i].view({s.c_in, pixels}), yi, nullptr, activation);
    } else {
      at::addmm_out(yi, expand_column, expand_w, x[i].view({s.c_in, pixels}));
    }
  }
  if (!f32) activate_(y, activation);

  // Depthwise units; their kernels apply the activation.
  size_t state = 0;
  for (size_t u = 0; u < dw_weights.size(); ++u) {
    if (dw_weights[u].size(2) > 1) {
      at::Tensor buffer = buffers[state], position = positions[state], padded = paddeds[state];
      y = dwconv_stream(y, dw_weights[u], dw_biases[u], buffer, position, padded, dw_strides[u], activation);
      ++state;
    } else {
      y = dwconv(y, dw_weights[u], dw_biases[u], dw_strides[u], activation);
    }
  }
  const at::Tensor features = y.view({n, s.expand, out_pixels});

  // Squeeze-excitation: the running sum gains this frame's mean; pooled is
  // the running mean (and the frame's, both_pools), by the core in one pass.
  // The count is a checked one-element CPU tensor.
  at::Tensor pooled = at::empty({n, both_pools ? 2 * s.expand : s.expand}, x.options());
  at::Tensor total = se_total.view({n, s.expand});
  const at::Tensor features_c = features.contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "movinet_se_pool", [&] {
    movinet_se_pool(features_c.const_data_ptr<scalar_t>(), n, s.expand, out_pixels, count.item<int64_t>(), both_pools,
                    total.mutable_data_ptr<scalar_t>(), pooled.mutable_data_ptr<scalar_t>());
  });
  at::Tensor scale;
  if (f32) {
    // The SE's two FCs as channels-first 1x1 convs over the samples (columns):
    // MKL's addmm on one row took 25-30 us a call on this path's CPUs.
    const int64_t squeeze = se_weight1.size(0);
    const at::Tensor pooled_t = pooled.t().contiguous();  // (E', n)
    at::Tensor hidden = at::empty({squeeze, n}, x.options());
    conv1x1(se_weight1.contiguous(), se_bias1, pooled_t, hidden, nullptr, activation);
    at::Tensor scale_t = at::empty({s.expand, n}, x.options());
    conv1x1(se_weight2.contiguous(), se_bias2, hidden, scale_t, nullptr, gate == "sigmoid" ? "sigmoid" : "none");
    if (gate != "sigmoid") at::hardsigmoid_(scale_t);
    scale = scale_t.t();
  } else {
    at::Tensor hidden = at::addmm(se_bias1, pooled, se_weight1.t());
    activate_(hidden, activation);
    scale = at::addmm(se_bias2, hidden, se_weight2.t());
    if (gate == "sigmoid") {
      scale.sigmoid_();
    } else {
      at::hardsigmoid_(scale);
    }
  }

  // Projection with the gate folded into its weights, then the residual.
  const int64_t out_channels = project_weight.size(0);
  at::Tensor out = at::empty({n, out_channels, 1, s.out_h, s.out_w}, x.options());
  const at::Tensor project_column = project_bias.unsqueeze(1);
  at::Tensor residual = x;
  if (s.stride > 1) residual = same_avg_pool3(x.view({n, s.c_in, s.h, s.w}), s.stride);
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor oi = out[i].view({out_channels, out_pixels});
    const at::Tensor wi = project_weight * scale[i].unsqueeze(0);
    const at::Tensor ri = residual[i].reshape({s.c_in, out_pixels});
    if (f32) {
      const at::Tensor fi = features[i];
      conv1x1(wi, project_bias, fi, oi, shortcut_weight ? nullptr : &ri, "none");
      if (shortcut_weight) conv1x1(shortcut_weight->contiguous(), *shortcut_bias, ri, oi, &oi, "none");
      continue;
    }
    at::addmm_out(oi, project_column, wi, features[i]);
    if (shortcut_weight) {
      oi.addmm_(*shortcut_weight, ri).add_(shortcut_bias->unsqueeze(1));
    } else {
      oi.add_(ri);
    }
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) { m.impl("movinet_block_step", movinet_block_step_cpu); }

}  // namespace fastvfx::ops
