// Depthwise 2-D convolution (MobileNet's 3x3 layers) on raw memory: the
// causal depthwise Conv3D's engines with one frame and kT = 1 (see
// causal_dwconv3d.h for the shape, padding and activation conventions;
// shape.kt must be 1).
//
// x: (N, C, H, W) contiguous, weight (C, kH, kW), bias (C) or null,
// y: (N, C, OH, OW). The engine is causal_dwconv3d_forward's choice.
// The _channels_last functions take x (N, H, W, C) and write y (N, OH, OW, C),
// always on the channel-lane engine.
#pragma once

#include "fastvfx/causal_dwconv3d.h"

namespace fastvfx {

void depthwise_conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                              const DwConv3dShape& shape, Activation act);
void depthwise_conv2d_forward(const double* x, const double* weight, const double* bias, double* y,
                              const DwConv3dShape& shape, Activation act);
void depthwise_conv2d_channels_last_forward(const float* x, const float* weight, const float* bias,
                                            float* y, const DwConv3dShape& shape, Activation act);
void depthwise_conv2d_channels_last_forward(const double* x, const double* weight, const double* bias,
                                            double* y, const DwConv3dShape& shape, Activation act);

}  // namespace fastvfx
