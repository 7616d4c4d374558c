// Launchers of the causal depthwise Conv3D kernels (causal_dwconv3d_kernels.h).
#include "causal_dwconv3d_kernels.h"
#include "fastvfx/cuda.h"
#include "launch.cuh"

namespace fastvfx::cuda {

void causal_dwconv3d_forward(DType dtype, const void* x, int64_t t, void* history, int64_t* position,
                             const void* weight, const void* bias, void* y, const DwConv3dShape& shape,
                             Activation act, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    dwconv3d_forward_run(static_cast<const T*>(x), t, static_cast<T*>(history), position,
                         static_cast<const T*>(weight), static_cast<const T*>(bias), static_cast<T*>(y), shape,
                         act, DeviceRun{stream});
  });
}

void causal_dwconv3d_backward(DType dtype, const void* x, const void* dy, int64_t t, const void* weight,
                              void* dx, void* dweight, void* dbias, const DwConv3dShape& shape,
                              cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    dwconv3d_backward_run(static_cast<const T*>(x), static_cast<const T*>(dy), t, static_cast<const T*>(weight),
                          static_cast<T*>(dx), static_cast<T*>(dweight), static_cast<T*>(dbias), shape,
                          DeviceRun{stream});
  });
}

}  // namespace fastvfx::cuda
