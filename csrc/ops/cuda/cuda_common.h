// What the CUDA bindings share: the kernels' dtype of a tensor, and the
// device guard + current stream every launch uses.
#pragma once

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "fastvfx/cuda.h"

namespace fastvfx::ops {

inline cuda::DType cuda_dtype(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return cuda::DType::kFloat32;
    case at::kDouble: return cuda::DType::kFloat64;
    case at::kHalf: return cuda::DType::kFloat16;
    case at::kBFloat16: return cuda::DType::kBFloat16;
    default: TORCH_CHECK(false, "fastvfx: no CUDA kernel for dtype ", t.scalar_type());
  }
}

// Runs launch(stream) on x's device and current stream, then surfaces a
// launch error (no synchronisation).
template <class Launch> void on_stream_of(const at::Tensor& x, Launch&& launch) {
  const c10::cuda::CUDAGuard guard(x.device());
  launch(at::cuda::getCurrentCUDAStream().stream());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace fastvfx::ops
