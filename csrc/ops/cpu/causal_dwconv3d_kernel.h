// What the pybind module and the depthwise 2-D binding need from the causal
// depthwise Conv3D binding.
#pragma once

#include <ATen/ATen.h>

#include <string_view>

#include "../causal_dwconv3d_checks.h"
#include "fastvfx/causal_dwconv3d.h"

namespace fastvfx::ops {

// Elements of one padded history frame of the stream cache for a layer with
// input size x_size (N, C, T, H, W) and this kernel / geometry / dtype.
int64_t causal_dwconv3d_padded_numel_for(at::IntArrayRef x_size, at::IntArrayRef kernel,
                                         at::IntArrayRef stride, at::IntArrayRef padding,
                                         bool tf_same, at::ScalarType dtype);

// The forward of a 16-bit (bfloat16, float16) layer through the float32
// kernels, a tile of (n, c) planes at a time (fp32_tiles.h): x (N, C, T, H, W)
// and y contiguous, weight and bias of x's dtype; history, when given, the
// (N, C, kT-1, H, W) ring of a stream at `position`, updated in place.
void causal_dwconv3d_forward_16bit(const at::Tensor& x, at::Tensor* history, int64_t position,
                                   const at::Tensor& weight, const at::Tensor& bias, at::Tensor& y,
                                   const DwConv3dShape& s, Activation act);

}  // namespace fastvfx::ops
