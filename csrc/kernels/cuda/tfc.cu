// Launchers of the TFC kernels (tfc_kernels.h).
#include "fastvfx/cuda.h"
#include "launch.cuh"
#include "tfc_kernels.h"

namespace fastvfx::cuda {

void global_pool2d(DType dtype, const void* x, void* out, const PoolShape& shape, PoolKind kind,
                   cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    global_pool2d_run(static_cast<const T*>(x), static_cast<T*>(out), shape, kind, DeviceRun{stream});
  });
}

bool tfc_gate(DType dtype, const void* pooled, int64_t n, int64_t channels, int64_t hidden,
              const void* w1, const void* b1, const void* w2, const void* b2, void* scale,
              cudaStream_t stream) {
  bool launched = false;
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    launched = tfc_gate_run(static_cast<const T*>(pooled), n, channels, hidden, static_cast<const T*>(w1),
                            static_cast<const T*>(b1), static_cast<const T*>(w2), static_cast<const T*>(b2),
                            static_cast<T*>(scale), DeviceRun{stream});
  });
  return launched;
}

void fold_scale(DType dtype, const void* w, const void* scale, void* w_n, int64_t n, int64_t cout,
                int64_t cin, int64_t k, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    fold_scale_run(static_cast<const T*>(w), static_cast<const T*>(scale), static_cast<T*>(w_n), n, cout, cin, k,
                   DeviceRun{stream});
  });
}

}  // namespace fastvfx::cuda
