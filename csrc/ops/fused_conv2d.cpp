// Schema of the inference conv with its bias, activation and residual fused,
// on the core's pointwise kernels. Implementation: cpu/fused_conv2d_kernel.cpp;
// fake kernel, Python API, weight packing and reference:
// fastvfx/ops/fused_conv2d.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  // y = act(conv2d(x) + bias) combined with residual r (the output's shape)
  // by residual_op: "add" act(c + r) (ResNet), "add_after" act(c) + r, "mul"
  // act(c) * r. x (N, C_in, H, W): channels_last is read directly, NCHW too
  // for k > 1 (a network's stem); weight packed by
  // fastvfx.ops.fused_conv2d.pack_weight as (C_out, kh, kw, C_in); groups 1,
  // symmetric padding. Output channels_last (N, out_channels, OH, OW).
  // Inference only (float32, CPU).
  m.def("fused_conv2d(Tensor x, Tensor packed_weight, Tensor? bias, Tensor? residual, int out_channels, "
        "int[2] kernel_size, int stride, int[2] padding, str activation, str residual_op) -> Tensor");
  // The same with the result written over residual (channels_last
  // contiguous, sharing no memory with x, the weight or the bias) instead of
  // a fresh output: for a caller that owns the residual and needs it no more.
  m.def("fused_conv2d_residual_(Tensor x, Tensor packed_weight, Tensor? bias, Tensor(a!) residual, "
        "int out_channels, int[2] kernel_size, int stride, int[2] padding, str activation, str residual_op) -> ()");
}
