// Internal interface between the causal depthwise Conv3D drivers
// (causal_dwconv3d.cpp: argument packing, threading) and the per-ISA plane
// kernels (dwconv3d_impl.h compiled once per ISA). A plane is one (n, c) pair:
// planes never interact, so a kernel call takes a range of them.
#pragma once

#include <cstdint>

#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/isa.h"

namespace fastvfx::dwconv3d {

template <class T>
struct ForwardArgs {
  const T* x;        // (N, C, t, H, W)
  int64_t t;         // new frames
  T* history;        // (N, C, kT-1, H, W) ring, or null
  T* padded;         // the same frames padded, (N*C, kT-1, padded_plane_numel), or null
  int64_t position;  // frames consumed before x
  const T* weight;   // (C, kT, kH, kW)
  const T* bias;     // (C) or null
  T* y;              // (N, C, t, OH, OW)
  DwConv3dShape shape;
  Activation act;
};

template <class T>
struct BackwardArgs {
  const T* x;       // (N, C, T, H, W)
  const T* dy;      // (N, C, T, OH, OW)
  int64_t t;
  const T* weight;  // (C, kT, kH, kW)
  T* dx;            // (N, C, T, H, W) or null
  T* dweight_part;  // (N, C, kT*kH*kW): per-plane partial sums, or null
  T* dbias_part;    // (N, C): per-plane partial sums, or null
  DwConv3dShape shape;
};

// The channel-lane engine (channels innermost, for small or strided planes).
// Channels-first data is transposed around it by the driver (whole frames,
// in 8x8 register blocks).
// Pixels are cs >= C elements apart (cs below: the channel stride). Where cs
// has room for C rounded up to whole vectors, the lanes past C are computed
// and dropped: x, history, weight and bias must then hold finite values
// there (the driver's copies hold zeros).
template <class T>
struct LaneArgs {
  const T* x;          // new frames, (N, t, H, W, cs)
  int64_t t;
  const T* history;    // ring of past frames (frame a in slot a mod (kT-1)), or null: (N, kT-1, H, W, cs),
                       // or if history_padded already zero-padded, (N, kT-1, PH, PW, cs) with
                       // PH = (OH-1)*sh + kH, PW = (OW-1)*sw + kW
  bool history_padded;
  int64_t position;    // frames consumed before x (0 without history: zeros in front)
  const T* weight;     // (kT, kH, kW, cs): channels innermost
  const T* bias;       // (cs) or null
  T* y;                // (N, t, OH, OW, cs)
  DwConv3dShape shape;
  Activation act;
  int64_t cs;          // channel stride
  int64_t c_begin, c_end;  // the channels computed: c_begin a multiple of 16 (8 doubles)
};

struct DwConv3dKernels {
  int64_t (*padded_numel_f32)(const DwConv3dShape&);
  int64_t (*padded_numel_f64)(const DwConv3dShape&);
  void (*forward_f32)(const ForwardArgs<float>&, int64_t plane_begin, int64_t plane_end);
  void (*forward_f64)(const ForwardArgs<double>&, int64_t plane_begin, int64_t plane_end);
  void (*backward_f32)(const BackwardArgs<float>&, int64_t plane_begin, int64_t plane_end);
  void (*backward_f64)(const BackwardArgs<double>&, int64_t plane_begin, int64_t plane_end);
  // Output rows [row_begin, row_end) of (N, t, OH).
  void (*forward_lanes_f32)(const LaneArgs<float>&, int64_t row_begin, int64_t row_end);
  void (*forward_lanes_f64)(const LaneArgs<double>&, int64_t row_begin, int64_t row_end);
  // dst[j * dst_stride + k] = src[k * src_stride + j] for k < rows, j < cols.
  void (*transpose_f32)(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows,
                        int64_t cols);
  void (*transpose_f64)(const double* src, int64_t src_stride, double* dst, int64_t dst_stride, int64_t rows,
                        int64_t cols);
};

#define FVX_DWCONV3D_VARIANT(isa_enum, suffix) extern const DwConv3dKernels kernels__##suffix;
#include "dwconv3d_variants.inc"
#undef FVX_DWCONV3D_VARIANT

// The variant for an ISA; scalar for one not compiled in.
const DwConv3dKernels& kernels_for(Isa isa);

}  // namespace fastvfx::dwconv3d
