// Layout changes of whole tensors the models need between ops.
#pragma once

#include <cstdint>

namespace fastvfx {

// dst (N, HW, C) = src (N, C, HW), float32: an NCHW tensor copied into
// channels_last. Blocks of the ISA's register transposes (the depthwise
// kernels' own), split between threads over images and column chunks; a
// transposing copy by torch ran at a tenth of a plain copy's speed (48
// channels at 224x224: 2.9 ms against a clone's 0.28).
void nchw_to_nhwc_f32(const float* src, float* dst, int64_t n, int64_t c, int64_t hw);

// dst (N, H/2, W/2, 4C) = the 2x2 space-to-depth of src (N, C, H, W),
// float32, W even: dst[n][a][b][2pC + 2c + q] = src[n][c][2a + p][2b + q]
// (an odd last row dropped). A stride-2 conv on src is a stride-1 conv on
// dst (SqueezeTime's 5x5 stem: a 3x3 one, which Winograd runs). Each pixel
// pair (q = 0, 1) moves as one 64-bit element of the register transposes;
// src and dst 8-byte aligned.
void nchw_space_to_depth2_nhwc_f32(const float* src, float* dst, int64_t n, int64_t c, int64_t h, int64_t w);

// dst (N, C) = scale * the sum over the HW rows of src (N, HW, C), float32: a
// channels-last map's global average pool (scale 1 / HW). Rows in order, the
// channels in the vector lanes; on the calling thread (a classifier's pool
// is a few hundred KB: torch's reduction took 120-180 us where it had been
// evicted from the caches, against its 5-10 us warm).
void nhwc_row_sum_f32(const float* src, float* dst, int64_t n, int64_t hw, int64_t c, float scale);

}  // namespace fastvfx
