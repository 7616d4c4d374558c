// Schema of the depthwise 2-D convolution. Implementation:
// cpu/depthwise_conv2d_kernel.cpp; fake kernel and autograd (through the
// causal depthwise Conv3D's backward with one frame):
// fastvfx/ops/depthwise_conv2d.py. Geometry and activation as
// causal_dwconv3d: stride (sh, sw), TensorFlow "same" padding (tf_same=True,
// padding ignored) or PyTorch's symmetric (ph, pw); activation none, relu,
// relu6, hardswish, swish. The output is channels_last when x is.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  m.def("depthwise_conv2d(Tensor x, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, "
        "bool tf_same, str activation) -> Tensor");
}
