// Schemas of the temporal-shift family, the out-of-place shift's autograd
// kernel, and the shifts' eager entry points for Python. Implementations:
// cpu/*_kernel.cpp; fake kernels and the other ops' autograd:
// fastvfx/ops/temporal_shift.py. The argument is `shift_mode`, not
// `mode`: torch.compile passes a keyword named `mode` to the kernels of
// mutating ops, and the two collide.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/utils/pybind.h>
#include <torch/library.h>

#include <string>

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

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using ShiftSignature = at::Tensor(const at::Tensor&, int64_t, int64_t, c10::string_view, bool);
using ShiftInplaceSignature = void(at::Tensor&, int64_t, int64_t, c10::string_view, bool);

const c10::TypedOperatorHandle<ShiftSignature>& shift_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("fastvfx::temporal_shift", "")
                             .typed<ShiftSignature>();
  return op;
}

const c10::TypedOperatorHandle<ShiftInplaceSignature>& shift_inplace_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("fastvfx::temporal_shift_", "")
                             .typed<ShiftInplaceSignature>();
  return op;
}

at::Tensor shift(const at::Tensor& x, int64_t n_segment, int64_t fold_div, c10::string_view mode,
                 bool reverse) {
  return shift_op().call(x, n_segment, fold_div, mode, reverse);
}

// The shift's adjoint is the opposite shift (reverse flipped).
class TemporalShiftFunction : public torch::autograd::Function<TemporalShiftFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t n_segment,
                            int64_t fold_div, c10::string_view mode, bool reverse) {
    ctx->saved_data["n_segment"] = n_segment;
    ctx->saved_data["fold_div"] = fold_div;
    ctx->saved_data["mode"] = std::string(mode);
    ctx->saved_data["reverse"] = reverse;
    at::AutoDispatchBelowADInplaceOrView guard;
    return shift(x, n_segment, fold_div, mode, reverse);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto& saved = ctx->saved_data;
    const std::string mode = saved.at("mode").toStringRef();
    // Differentiable itself (through this kernel): double backward works.
    return {shift(grads[0], saved.at("n_segment").toInt(), saved.at("fold_div").toInt(), mode,
                  !saved.at("reverse").toBool()),
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// In C++ rather than torch.library.register_autograd: a Python autograd
// kernel runs on every eager call, ~2 us, as much as the rest of the call
// (dispatch and checks) on a small stage.
// With nothing to record it goes straight on to the backend's kernel.
at::Tensor temporal_shift_autograd(c10::DispatchKeySet keys, const at::Tensor& x, int64_t n_segment,
                                   int64_t fold_div, c10::string_view mode, bool reverse) {
  if (!(at::GradMode::is_enabled() && x.requires_grad())) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return shift_op().redispatch(keys & c10::after_ADInplaceOrView_keyset, x, n_segment, fold_div,
                                 mode, reverse);
  }
  return TemporalShiftFunction::apply(x, n_segment, fold_div, mode, reverse);
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, Autograd, m) { m.impl("temporal_shift", temporal_shift_autograd); }

namespace fastvfx::ops {

// What fastvfx.temporal_shift / temporal_shift_ call in eager mode for a plain
// tensor: the dispatcher's typed call (every dispatch key still applies), but
// without torch.ops' Python path, which matches the arguments against the
// schema and boxes them (~1.5 us, as much as the rest of a small shift).
// Errors and warnings reach Python as torch's own bindings raise them.
at::Tensor temporal_shift_eager(const at::Tensor& x, int64_t n_segment, int64_t fold_div,
                                c10::string_view mode, bool reverse) {
  HANDLE_TH_ERRORS
  pybind11::gil_scoped_release no_gil;
  return shift_op().call(x, n_segment, fold_div, mode, reverse);
  END_HANDLE_TH_ERRORS_PYBIND
}

void temporal_shift_inplace_eager(at::Tensor& x, int64_t n_segment, int64_t fold_div,
                                  c10::string_view mode, bool reverse) {
  HANDLE_TH_ERRORS
  pybind11::gil_scoped_release no_gil;
  shift_inplace_op().call(x, n_segment, fold_div, mode, reverse);
  END_HANDLE_TH_ERRORS_PYBIND
}

void def_temporal_shift_eager(pybind11::module_& m) {
  m.def("_temporal_shift", &temporal_shift_eager);
  m.def("_temporal_shift_", &temporal_shift_inplace_eager);
}

}  // namespace fastvfx::ops
