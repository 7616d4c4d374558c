// Host launchers of the CUDA kernels (csrc/kernels/cuda/*.cu): raw device
// pointers, sizes and a stream; each enqueues its kernels on `stream` and
// returns without synchronising. Shapes and semantics are those of the CPU
// functions of the same names (temporal_shift.h, causal_dwconv3d.h, tfc.h).
// Launch errors are left for the caller to collect (cudaGetLastError).
#pragma once

#include <cstdint>

#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/temporal_shift.h"
#include "fastvfx/tfc.h"

typedef struct CUstream_st* cudaStream_t;

namespace fastvfx::cuda {

enum class DType : int { kFloat32 = 0, kFloat64 = 1, kFloat16 = 2, kBFloat16 = 3 };

// The architectures this build holds code for, e.g. "sm_75 sm_80 ... compute_90".
const char* compiled_architectures();

void temporal_shift(const void* src, void* dst, const ShiftShape& shape, ShiftMode mode, bool reverse,
                    cudaStream_t stream);
void temporal_shift_inplace(void* x, const ShiftShape& shape, ShiftMode mode, bool reverse,
                            cudaStream_t stream);
void temporal_shift_online_swap(void* x, void* cache, const ShiftShape& shape, cudaStream_t stream);

// Full clip: history = position = null. Streaming step: history is the ring
// and position the device int64 frame count, read by the kernels and then
// advanced by t on the device.
void causal_dwconv3d_forward(DType dtype, const void* x, int64_t t, void* history, int64_t* position,
                             const void* weight, const void* bias, void* y, const DwConv3dShape& shape,
                             Activation act, cudaStream_t stream);
void causal_dwconv3d_backward(DType dtype, const void* x, const void* dy, int64_t t, const void* weight,
                              void* dx, void* dweight, void* dbias, const DwConv3dShape& shape,
                              cudaStream_t stream);

void global_pool2d(DType dtype, const void* x, void* out, const PoolShape& shape, PoolKind kind,
                   cudaStream_t stream);
// False, with nothing launched, when `hidden` is too large for the kernel.
bool tfc_gate(DType dtype, const void* pooled, int64_t n, int64_t channels, int64_t hidden,
              const void* w1, const void* b1, const void* w2, const void* b2, void* scale,
              cudaStream_t stream);
// w_n (n, cout, cin, k) = w (cout, cin, k) * scale (n, cin).
void fold_scale(DType dtype, const void* w, const void* scale, void* w_n, int64_t n, int64_t cout,
                int64_t cin, int64_t k, cudaStream_t stream);

}  // namespace fastvfx::cuda
