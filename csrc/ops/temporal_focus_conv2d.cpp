// Schemas of the Temporal Focus Convolution (SqueezeTime). Implementation:
// cpu/temporal_focus_conv2d_kernel.cpp; fake kernels and autograd:
// fastvfx/ops/temporal_focus_conv2d.py. The pooling argument is `pool`, not
// `mode`: torch.compile passes a keyword named `mode` to some kernels, and the
// two collide.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  // scale = sigmoid(fc2(relu(fc1(pool(x))))) of shape (N, C_in); y = conv2d(x * scale, weight, bias).
  // fc weights are (out, in) matrices or (out, in, 1, 1) conv weights.
  m.def("temporal_focus_conv2d(Tensor x, Tensor weight, Tensor fc1_weight, Tensor? fc1_bias, "
        "Tensor fc2_weight, Tensor? fc2_bias=None, Tensor? bias=None, int[2] stride=1, "
        "int[2] padding=0, str pool='avg') -> (Tensor, Tensor)");
  // y = conv2d(x * scale[:, :, None, None], weight, bias) for a given scale of shape (N, C_in)
  // or (N, C_in, 1, 1): the conv half of the op, for a gate computed elsewhere.
  m.def("channel_scaled_conv2d(Tensor x, Tensor scale, Tensor weight, Tensor? bias=None, "
        "int[2] stride=1, int[2] padding=0) -> Tensor");
}
