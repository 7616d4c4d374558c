// 1x1 convolutions (GEMMs over pixels) on the pointwise microkernels: the
// bias, the activation and a residual applied before the only store, inputs
// read in place (no packing per call, but the weights in channels-last), and
// TSM's temporal shift on read (channel ranges of the input from other
// frames). float32.
#pragma once

#include <cstdint>

#include "fastvfx/causal_dwconv3d.h"  // Activation
#include "fastvfx/inverted_residual.h"  // pack_pointwise_weights, kPointwisePanel

namespace fastvfx {

// Input channels [k_begin, k_end) come from x (null: zeros).
struct PointwiseSource {
  const float* x = nullptr;
  int64_t k_begin = 0, k_end = 0;
};

// Channels-first, one sample: y (Cout, P) = act(W (Cout, Cin) x (Cin, P) +
// bias) (+ residual). Input channel k of a source lives at x + k * pixels.
struct PointwiseConvNchw {
  int64_t out_channels = 0, in_channels = 0, pixels = 0;
  const float* weight = nullptr;  // row o at weight + o * weight_stride
  int64_t weight_stride = 0;
  const float* bias = nullptr;    // (Cout) or null
  int sources = 0;
  PointwiseSource source[3];
  float* y = nullptr;             // (Cout, P)
  const float* residual = nullptr;  // (Cout, P) or null; may be y (accumulate)
  Activation act = Activation::kNone;
  bool residual_first = false;  // act(conv + residual) instead of act(conv) + residual
};
void pointwise_conv_nchw(const PointwiseConvNchw& p);

// Channels-last: pixel q's input channel k at source.x + q * x_stride + k,
// its outputs at y + q * y_stride (and the residual's likewise).
struct PointwiseConvNhwc {
  int64_t out_channels = 0, in_channels = 0, pixels = 0;
  const float* packed_weight = nullptr;  // pack_pointwise_weights(W, Cout, Cin, Cin, ...)
  const float* bias = nullptr;           // (Cout) or null
  int sources = 0;
  PointwiseSource source[3];
  int64_t x_stride = 0;
  float* y = nullptr;
  int64_t y_stride = 0;
  const float* residual = nullptr;  // or null; may be y
  int64_t residual_stride = 0;
  Activation act = Activation::kNone;
  bool residual_first = false;  // act(conv + residual) (ResNet) instead of act(conv) + residual
};
void pointwise_conv_nhwc(const PointwiseConvNhwc& p);

}  // namespace fastvfx
