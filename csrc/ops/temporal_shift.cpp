// Schemas of the temporal-shift family. Implementations: cpu/*_kernel.cpp;
// fake kernels and autograd: fastvfx/ops/temporal_shift.py. The argument is
// `shift_mode`, not `mode`: torch.compile passes a keyword named `mode` to
// the kernels of mutating ops, and the two collide.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(fastvfx, m) {
  // reverse=True is the adjoint shift (the backward of reverse=False).
  m.def("temporal_shift(Tensor x, int n_segment, int fold_div=8, str shift_mode='bidirectional', "
        "bool reverse=False) -> Tensor");
  m.def("temporal_shift_(Tensor(a!) x, int n_segment, int fold_div=8, "
        "str shift_mode='bidirectional', bool reverse=False) -> ()");
  m.def("temporal_shift_online_(Tensor(a!) x, Tensor(b!) cache) -> ()");
  m.def("shift_conv1x1(Tensor x, Tensor weight, Tensor? bias, int n_segment, int fold_div=8, "
        "str shift_mode='bidirectional') -> Tensor");
}
