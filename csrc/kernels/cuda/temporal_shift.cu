// Launchers of the temporal shift kernels (temporal_shift_kernels.h).
#include "fastvfx/cuda.h"
#include "launch.cuh"
#include "temporal_shift_kernels.h"

namespace fastvfx::cuda {

void temporal_shift(const void* src, void* dst, const ShiftShape& shape, ShiftMode mode, bool reverse,
                    cudaStream_t stream) {
  temporal_shift_run(src, dst, shape, mode, reverse, DeviceRun{stream});
}

void temporal_shift_inplace(void* x, const ShiftShape& shape, ShiftMode mode, bool reverse,
                            cudaStream_t stream) {
  temporal_shift_inplace_run(x, shape, mode, reverse, DeviceRun{stream});
}

void temporal_shift_online_swap(void* x, void* cache, const ShiftShape& shape, cudaStream_t stream) {
  temporal_shift_online_swap_run(x, cache, shape, DeviceRun{stream});
}

}  // namespace fastvfx::cuda
