// Version-counter bumps for the mutating ops. The autograd engine checks the
// counters of saved tensors; a kernel that writes through a raw pointer must
// bump them itself, or a tensor saved for backward could be changed silently.
// One boxed kernel serves every op: it bumps each argument the schema marks
// as written (Tensor(a!)).
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/library.h>

#include <vector>

namespace {

void bump_mutated_versions(const c10::OperatorHandle& op, c10::DispatchKeySet keys,
                           torch::jit::Stack* stack) {
  const auto& args = op.schema().arguments();
  const size_t first = stack->size() - args.size();
  std::vector<at::Tensor> written;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto* alias = args[i].alias_info();
    if (alias != nullptr && alias->isWrite() && (*stack)[first + i].isTensor()) {
      written.push_back((*stack)[first + i].toTensor());
    }
  }
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    op.redispatchBoxed(keys & c10::after_ADInplaceOrView_keyset, stack);
  }
  for (const auto& t : written) torch::autograd::impl::bump_version(t);
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, ADInplaceOrView, m) {
  m.impl("temporal_shift_", torch::CppFunction::makeFromBoxedFunction<&bump_mutated_versions>());
  m.impl("temporal_shift_online_",
         torch::CppFunction::makeFromBoxedFunction<&bump_mutated_versions>());
  m.impl("causal_dwconv3d_stream_", torch::CppFunction::makeFromBoxedFunction<&bump_mutated_versions>());
  m.impl("causal_dwconv3d_stream_out_",
         torch::CppFunction::makeFromBoxedFunction<&bump_mutated_versions>());
}
