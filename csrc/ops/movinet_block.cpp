// Schema of the fused MoViNet block stream step. Implementation:
// cpu/movinet_block_kernel.cpp; fake kernel, Python API and reference:
// fastvfx/ops/movinet_block.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  // One frame x (N, C_in, 1, H, W) through a MoViNet block with its
  // BatchNorms folded (inference only):
  //   e = act(expand_weight @ x + expand_bias)                    (E, C_in) 1x1
  //   d = the causal depthwise units in turn, each act(dwconv(.)) with TF
  //       "same" padding and its spatial stride; a unit with kT > 1 steps its
  //       stream state (buffer, position, padded: as causal_dwconv3d_stream_),
  //       the states in unit order
  //   se_total += mean over H, W of d; pooled = se_total / count (and, with
  //       both_pools, the frame's mean appended); g = gate(fc2(act(fc1(pooled))))
  //   y = (project_weight * g) @ d + project_bias + residual, the residual
  //       being x, or (TF-"same" 3x3 average pool of x with the block's stride,
  //       padding excluded) through shortcut_weight / shortcut_bias.
  // buffers, positions, paddeds and se_total are updated in place (all
  // arguments are checked before any of them is written).
  m.def("movinet_block_step(Tensor x, Tensor expand_weight, Tensor expand_bias, Tensor[] dw_weights, "
        "Tensor[] dw_biases, int[] dw_strides, Tensor(a!)[] buffers, Tensor(b!)[] positions, "
        "Tensor(c!)[] paddeds, Tensor se_weight1, Tensor se_bias1, Tensor se_weight2, Tensor se_bias2, "
        "Tensor(d!) se_total, Tensor count, bool both_pools, Tensor project_weight, Tensor project_bias, "
        "Tensor? shortcut_weight, Tensor? shortcut_bias, str activation, str gate) -> Tensor");
}
