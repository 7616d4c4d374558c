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
template <class T>
struct LaneArgs {
  const T* x;          // new frames: (N, t, H, W, C), or (N, C, t, H, W) if x_channels_first
  bool x_channels_first;
  int64_t t;
  const T* history;    // (N, C, kT-1, H, W) ring of past frames, as ForwardArgs, or null
  int64_t position;    // frames consumed before x (0 without history: zeros in front)
  const T* weight;     // (kT, kH, kW, C): channels innermost
  const T* bias;       // (C) or null
  T* y;                // (N, t, OH, OW, C), or (N, C, t, OH, OW) if y_channels_first
  bool y_channels_first;
  DwConv3dShape shape;
  Activation act;
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
};

#define FVX_DWCONV3D_VARIANT(isa_enum, suffix) extern const DwConv3dKernels kernels__##suffix;
#include "dwconv3d_variants.inc"
#undef FVX_DWCONV3D_VARIANT

// The variant for an ISA; scalar for one not compiled in.
const DwConv3dKernels& kernels_for(Isa isa);

}  // namespace fastvfx::dwconv3d
