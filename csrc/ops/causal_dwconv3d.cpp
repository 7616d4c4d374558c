// Schemas of the causal depthwise Conv3D, the streaming step's autograd
// kernels, and the eager entry points for Python of the step and of the
// clip without gradients. Implementation: cpu/causal_dwconv3d_kernel.cpp; fake
// kernels and autograd: fastvfx/ops/causal_dwconv3d.py. Spatial geometry: stride (sh, sw) and either
// TensorFlow "same" padding (tf_same=True, padding ignored) or PyTorch's
// symmetric (ph, pw). activation: none, relu, relu6, hardswish, swish.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/utils/pybind.h>
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

namespace {

using ClipSignature = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                 at::IntArrayRef, at::IntArrayRef, bool, c10::string_view);
using StreamSignature = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                   at::Tensor&, at::Tensor&, at::Tensor&, at::IntArrayRef, at::IntArrayRef, bool,
                                   c10::string_view);
using StreamOutSignature = void(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                at::Tensor&, at::Tensor&, at::Tensor&, at::Tensor&, at::IntArrayRef,
                                at::IntArrayRef, bool, c10::string_view);

const c10::TypedOperatorHandle<ClipSignature>& clip_op() {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("fastvfx::causal_dwconv3d", "").typed<ClipSignature>();
  return op;
}

const c10::TypedOperatorHandle<StreamSignature>& stream_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("fastvfx::causal_dwconv3d_stream_", "")
                             .typed<StreamSignature>();
  return op;
}

const c10::TypedOperatorHandle<StreamOutSignature>& stream_out_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("fastvfx::causal_dwconv3d_stream_out_", "")
                             .typed<StreamOutSignature>();
  return op;
}

// The step has no autograd: with grad wanted for an input it refuses (the
// Python step says so in more words); otherwise it goes straight on to the
// backend's kernel and bumps the version counters of what it wrote, as the
// ADInplaceOrView kernel does. In C++: the boxed fallbacks (autograd's and
// ADInplaceOrView's) box every argument twice, ~1 us of a small step.
void refuse_grad(std::initializer_list<const at::Tensor*> inputs) {
  if (!at::GradMode::is_enabled()) return;
  for (const at::Tensor* t : inputs) {
    TORCH_CHECK(!(t->defined() && t->requires_grad()), "fastvfx.causal_dwconv3d_stream_: the streaming step is "
                "inference-only (no autograd); run it under torch.no_grad() or torch.inference_mode()");
  }
}

at::Tensor stream_autograd(c10::DispatchKeySet keys, const at::Tensor& x, const at::Tensor& weight,
                           const std::optional<at::Tensor>& bias, at::Tensor& buffer, at::Tensor& position,
                           at::Tensor& padded, at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same,
                           c10::string_view activation) {
  const at::Tensor no_bias;
  refuse_grad({&x, &weight, bias ? &*bias : &no_bias, &buffer});
  at::Tensor y;
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    y = stream_op().redispatch(keys & c10::after_ADInplaceOrView_keyset, x, weight, bias, buffer, position, padded,
                               stride, padding, tf_same, activation);
  }
  for (const at::Tensor* t : {&buffer, &position, &padded}) torch::autograd::impl::bump_version(*t);
  return y;
}

void stream_out_autograd(c10::DispatchKeySet keys, const at::Tensor& x, const at::Tensor& weight,
                         const std::optional<at::Tensor>& bias, at::Tensor& buffer, at::Tensor& position,
                         at::Tensor& padded, at::Tensor& out, at::IntArrayRef stride, at::IntArrayRef padding,
                         bool tf_same, c10::string_view activation) {
  const at::Tensor no_bias;
  refuse_grad({&x, &weight, bias ? &*bias : &no_bias, &buffer, &out});
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    stream_out_op().redispatch(keys & c10::after_ADInplaceOrView_keyset, x, weight, bias, buffer, position, padded,
                               out, stride, padding, tf_same, activation);
  }
  for (const at::Tensor* t : {&buffer, &position, &padded, &out}) torch::autograd::impl::bump_version(*t);
}

// What fastvfx.causal_dwconv3d_step calls in eager mode for plain tensors:
// the dispatcher's typed call (every dispatch key still applies) without
// torch.ops' Python binding, which matches the arguments against the schema
// and boxes them (~2 us of a 7x7 step's ~15). As for the temporal shift
// (docs/temporal_shift.md, "The call").
at::Tensor stream_eager(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                        at::Tensor& buffer, at::Tensor& position, at::Tensor& padded, at::IntArrayRef stride,
                        at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  HANDLE_TH_ERRORS
  pybind11::gil_scoped_release no_gil;
  return stream_op().call(x, weight, bias, buffer, position, padded, stride, padding, tf_same, activation);
  END_HANDLE_TH_ERRORS_PYBIND
}

// The full clip in eager mode when no gradient is wanted (grad mode off, or
// no input requiring grad): the typed call below autograd. The clip's
// autograd kernel is Python (torch.library.register_autograd) and costs
// ~4 us a call even when it only passes the call on (one thread, a 2x2
// clip: 7.5 us against 3.2 under inference_mode).
at::Tensor clip_no_grad_eager(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                              at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same,
                              c10::string_view activation) {
  HANDLE_TH_ERRORS
  pybind11::gil_scoped_release no_gil;
  at::AutoDispatchBelowADInplaceOrView guard;
  return clip_op().call(x, weight, bias, stride, padding, tf_same, activation);
  END_HANDLE_TH_ERRORS_PYBIND
}

void stream_out_eager(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                      at::Tensor& buffer, at::Tensor& position, at::Tensor& padded, at::Tensor& out,
                      at::IntArrayRef stride, at::IntArrayRef padding, bool tf_same, c10::string_view activation) {
  HANDLE_TH_ERRORS
  pybind11::gil_scoped_release no_gil;
  stream_out_op().call(x, weight, bias, buffer, position, padded, out, stride, padding, tf_same, activation);
  END_HANDLE_TH_ERRORS_PYBIND
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, Autograd, m) {
  m.impl("causal_dwconv3d_stream_", stream_autograd);
  m.impl("causal_dwconv3d_stream_out_", stream_out_autograd);
}

namespace fastvfx::ops {

void def_causal_dwconv3d_eager(pybind11::module_& m) {
  m.def("_causal_dwconv3d_no_grad", &clip_no_grad_eager);
  m.def("_causal_dwconv3d_stream_", &stream_eager);
  m.def("_causal_dwconv3d_stream_out_", &stream_out_eager);
}

}  // namespace fastvfx::ops
