// Temporal Focus Convolution (SqueezeTime) on raw memory.
//
// TFC computes, per sample n and input channel c,
//   scale[n, c] = sigmoid(W2 · relu(W1 · pool(x[n]) + b1) + b2)[c]
// and then y = conv2d(x * scale, W). The core provides the three pieces: the
// one-pass global pooling, the gate on the pooled statistics, and the conv
// with the scale folded into its packed weights (a GEMM per sample, used by
// the C API and board builds; the torch binding hands that GEMM to at::bmm).
#pragma once

#include <cstdint>

namespace fastvfx {

enum class PoolKind : int { kAvg = 0, kMax = 1 };

// x holds n_batch samples of `channels` channels over `hw` positions:
//   channels_last = false (NCHW):  x[(n * channels + c) * hw + p]
//   channels_last = true  (NHWC):  x[(n * hw + p) * channels + c]
struct PoolShape {
  int64_t n_batch = 1;
  int64_t channels = 1;
  int64_t hw = 1;
  bool channels_last = false;
};

// out[n * channels + c] = mean (kAvg) or max (kMax) of x over the hw positions
// of channel c of sample n; hw must be >= 1. As in torch's adaptive pooling, a
// NaN anywhere in a channel makes its max NaN. Runs the active ISA's variant.
void global_pool2d(const float* x, float* out, const PoolShape& shape, PoolKind kind);
void global_pool2d(const double* x, double* out, const PoolShape& shape, PoolKind kind);

}  // namespace fastvfx

namespace fastvfx {

// The gate of TFC on pooled statistics, for n samples:
//   hidden = relu(w1 · pooled[n] + b1)        w1: (hidden, channels)
//   scale[n] = sigmoid(w2 · hidden + b2)      w2: (channels, hidden)
// (a BatchNorm between the first 1x1 conv and the ReLU is folded into w1, b1
// by the caller). b1 and b2 may be null.
struct TfcGateWeights {
  int64_t channels = 1;
  int64_t hidden = 1;
  const float* w1 = nullptr;
  const float* b1 = nullptr;
  const float* w2 = nullptr;
  const float* b2 = nullptr;
};
void tfc_gate(const float* pooled, int64_t n, const TfcGateWeights& gate, float* scale);

// A conv2d whose input channels are re-weighted per sample, in NCHW:
//   y[n, o, oh, ow] = bias[o] + sum_{i, dy, dx} weight[o, i, dy, dx] * scale[n, i]
//                     * x[n, i, oh * stride_h - pad_h + dy, ow * stride_w - pad_w + dx]
// (zero outside the input). It is a GEMM per sample with the scale folded
// into the packed weights: x * scale is never written. scale and bias may be
// null (scale 1, bias 0). y must not overlap x.
struct ScaledConvShape {
  int64_t n_batch = 1;
  int64_t in_channels = 1;
  int64_t out_channels = 1;
  int64_t in_h = 1, in_w = 1;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t out_h() const { return (in_h + 2 * pad_h - kh) / stride_h + 1; }
  int64_t out_w() const { return (in_w + 2 * pad_w - kw) / stride_w + 1; }
};
void scaled_conv2d(const float* x, const float* scale, const float* weight, const float* bias, float* y,
                   const ScaledConvShape& shape);

}  // namespace fastvfx
