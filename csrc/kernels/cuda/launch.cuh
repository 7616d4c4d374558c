// The device side of grid.h: one __global__ entry per kernel functor, its
// phases separated by __syncthreads(). Included by the .cu files only.
#pragma once

#include <cuda_runtime.h>

#include "grid.h"

namespace fastvfx::cuda {

template <class K> __global__ void kernel_entry(const K kernel) {
  extern __shared__ __align__(16) unsigned char shared[];
  const Thread th{static_cast<int64_t>(blockIdx.x), static_cast<int>(threadIdx.x),
                  static_cast<int>(blockDim.x), static_cast<int64_t>(gridDim.x)};
  const int phases = kernel.phases();
  for (int p = 0; p < phases; ++p) {
    if (p > 0) __syncthreads();
    kernel(p, th, shared);
  }
}

// A `Run` for the builders of the *_kernels.h headers.
struct DeviceRun {
  cudaStream_t stream;
  template <class K> void operator()(const K& kernel, const Grid& g) const {
    if (g.blocks == 0) return;
    kernel_entry<K><<<static_cast<unsigned>(g.blocks), g.threads, static_cast<size_t>(g.shared_bytes), stream>>>(kernel);
  }
};

}  // namespace fastvfx::cuda
