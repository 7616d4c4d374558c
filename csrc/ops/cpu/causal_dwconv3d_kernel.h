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

}  // namespace fastvfx::ops
