// Pieces of MoViNet's fused block step (the op movinet_block_step) on raw
// memory, beside its GEMMs and causal depthwise units: the strided shortcut's
// pooling and the causal squeeze-excitation's pooling. Each replaced a chain
// of small torch ops whose dispatch cost more than their arithmetic.
#pragma once

#include <cstdint>

namespace fastvfx {

// The strided shortcut: 3x3 average pooling of planes x (P, H, W) into
// y (P, OH, OW) at stride `stride`, TensorFlow "same" padding (OH =
// ceil(H / stride), the odd extra pixel at the bottom / right), the padding
// excluded from each window's mean. (Two torch poolings, of x and of ones,
// took 68-177 us a call on MoViNet-A0's 11²-86² shortcut frames, one thread.)
void same_avg_pool3x3(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t stride);
void same_avg_pool3x3(const double* x, double* y, int64_t planes, int64_t h, int64_t w, int64_t stride);

// The causal SE's pooling of one frame: features (N, E, P); each channel's
// mean over its P pixels is added to the running sum total (N, E), and
// pooled (N, E) gets total / count (both_pools: pooled (N, 2E), the frame's
// means in columns [E, 2E)). (mean, add, mul and cat took 25-30 us a block.)
void movinet_se_pool(const float* features, int64_t n, int64_t e, int64_t pixels, int64_t count, bool both_pools,
                     float* total, float* pooled);
void movinet_se_pool(const double* features, int64_t n, int64_t e, int64_t pixels, int64_t count, bool both_pools,
                     double* total, double* pooled);

}  // namespace fastvfx
