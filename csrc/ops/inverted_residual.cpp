// Schemas of the fused inverted residual block (MobileNetV2; TSM's shift on
// read). Implementation: cpu/inverted_residual_kernel.cpp; fake kernels,
// Python API, weight packing and reference: fastvfx/ops/inverted_residual.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  // x (N, C_in, H, W), channels_last is the layout the kernel reads (others are
  // converted); weights packed by fastvfx.ops.inverted_residual.pack_weights
  // (see fastvfx/inverted_residual.h for the layouts):
  //   h = expand_activation(expand(x))        (none when expand_weight is None: h = x)
  //   d = dw_activation(depthwise_k(h))        stride, symmetric padding k // 2
  //   y = project(d) (+ x when residual)       channels_last (N, C_out, H', W')
  // shift: "none", or TSM's shift of x's first channels as the block reads
  // them ("bidirectional", "past": clips of n_segment frames, fold channels
  // per direction); the residual is the unshifted x. Inference only.
  m.def("inverted_residual(Tensor x, Tensor? expand_weight, Tensor? expand_bias, Tensor dw_weight, "
        "Tensor dw_bias, Tensor project_weight, Tensor project_bias, int hidden, int out_channels, "
        "int kernel_size, int stride, bool residual, str expand_activation, str dw_activation, str shift, "
        "int n_segment, int fold) -> Tensor");
  // One frame of online TSM: channels [0, fold) of x are read from cache (N,
  // fold, H, W), the previous frame's; afterwards the cache holds x's.
  m.def("inverted_residual_step(Tensor x, Tensor(a!) cache, Tensor? expand_weight, Tensor? expand_bias, "
        "Tensor dw_weight, Tensor dw_bias, Tensor project_weight, Tensor project_bias, int hidden, "
        "int out_channels, int kernel_size, int stride, bool residual, str expand_activation, "
        "str dw_activation) -> Tensor");
}
