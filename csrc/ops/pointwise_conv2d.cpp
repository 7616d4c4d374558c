// Schema of the 1x1 convolution on the core's pointwise kernels.
// Implementation: cpu/pointwise_conv2d_kernel.cpp; fake kernel, Python API,
// weight packing and reference: fastvfx/ops/pointwise_conv2d.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  // y = act(conv1x1(x) + bias [+ residual]) (residual_first) or
  // act(conv1x1(x) + bias) [+ residual], channels_last (N, out_channels, H, W);
  // x (N, C_in, H, W), channels_last is read directly; the weight packed by
  // fastvfx.ops.pointwise_conv2d.pack_weight. Inference only (float32, CPU).
  m.def("pointwise_conv2d(Tensor x, Tensor packed_weight, Tensor? bias, Tensor? residual, int out_channels, "
        "str activation, bool residual_first) -> Tensor");
}
