// Temporal Focus Convolution (SqueezeTime) on raw memory: the part of the op
// that is not a GEMM.
//
// TFC computes, per sample n and input channel c,
//   scale[n, c] = sigmoid(W2 · relu(W1 · pool(x[n]) + b1) + b2)[c]
// and then y = conv2d(x * scale, W). The pooled statistics are one pass over
// x; the gate is two tiny GEMMs and the conv a GEMM with per-sample weights
// W[o, i] * scale[n, i], both left to a BLAS (at::mm / at::bmm in the torch
// binding). What the core provides is that pass.
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
