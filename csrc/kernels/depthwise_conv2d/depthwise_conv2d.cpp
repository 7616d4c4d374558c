// Depthwise 2-D convolution: the causal depthwise Conv3D with one frame and
// kT = 1, whose driver picks the engine for the layer.
#include "fastvfx/depthwise_conv2d.h"

namespace fastvfx {

void depthwise_conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                              const DwConv3dShape& shape, Activation act) {
  causal_dwconv3d_forward(x, 1, nullptr, nullptr, 0, weight, bias, y, shape, act);
}

void depthwise_conv2d_forward(const double* x, const double* weight, const double* bias, double* y,
                              const DwConv3dShape& shape, Activation act) {
  causal_dwconv3d_forward(x, 1, nullptr, nullptr, 0, weight, bias, y, shape, act);
}

void depthwise_conv2d_channels_last_forward(const float* x, const float* weight, const float* bias,
                                            float* y, const DwConv3dShape& shape, Activation act) {
  causal_dwconv3d_channels_last_forward(x, 1, weight, bias, y, shape, act);
}

void depthwise_conv2d_channels_last_forward(const double* x, const double* weight, const double* bias,
                                            double* y, const DwConv3dShape& shape, Activation act) {
  causal_dwconv3d_channels_last_forward(x, 1, weight, bias, y, shape, act);
}

}  // namespace fastvfx
