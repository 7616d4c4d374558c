// Schemas of the causal depthwise Conv3D. Implementation:
// cpu/causal_dwconv3d_kernel.cpp; fake kernels and autograd:
// fastvfx/ops/causal_dwconv3d.py. Spatial geometry: stride (sh, sw) and either
// TensorFlow "same" padding (tf_same=True, padding ignored) or PyTorch's
// symmetric (ph, pw). activation: none, relu, relu6, hardswish, swish.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  m.def("causal_dwconv3d(Tensor x, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, "
        "bool tf_same, str activation) -> Tensor");
  // Gradients of the op without activation; output_mask = (dx, dweight, dbias),
  // a masked-out gradient comes back as an empty tensor.
  m.def("_causal_dwconv3d_backward(Tensor grad, Tensor x, Tensor weight, int[2] stride, "
        "int[2] padding, bool tf_same, bool[3] output_mask) -> (Tensor, Tensor, Tensor)");
  // One streaming step: x (N, C, t, H, W) are the next t frames; buffer
  // (N, C, kT-1, H, W) is the ring of past input frames, position (int64,
  // one element) the number of frames consumed, and padded either empty or a
  // cache of the buffer in the kernel's padded layout; all are updated in place.
  m.def("causal_dwconv3d_stream_(Tensor x, Tensor weight, Tensor? bias, Tensor(a!) buffer, "
        "Tensor(b!) position, Tensor(c!) padded, int[2] stride, int[2] padding, bool tf_same, "
        "str activation) -> Tensor");
  // The same step writing into a preallocated output.
  m.def("causal_dwconv3d_stream_out_(Tensor x, Tensor weight, Tensor? bias, Tensor(a!) buffer, "
        "Tensor(b!) position, Tensor(c!) padded, Tensor(d!) out, int[2] stride, int[2] padding, "
        "bool tf_same, str activation) -> ()");
}
