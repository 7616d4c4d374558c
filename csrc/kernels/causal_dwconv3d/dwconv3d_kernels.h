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

struct DwConv3dKernels {
  int64_t (*padded_numel_f32)(const DwConv3dShape&);
  int64_t (*padded_numel_f64)(const DwConv3dShape&);
  void (*forward_f32)(const ForwardArgs<float>&, int64_t plane_begin, int64_t plane_end);
  void (*forward_f64)(const ForwardArgs<double>&, int64_t plane_begin, int64_t plane_end);
  void (*backward_f32)(const BackwardArgs<float>&, int64_t plane_begin, int64_t plane_end);
  void (*backward_f64)(const BackwardArgs<double>&, int64_t plane_begin, int64_t plane_end);
};

#define FVX_DWCONV3D_VARIANT(isa_enum, suffix) extern const DwConv3dKernels kernels__##suffix;
#include "dwconv3d_variants.inc"
#undef FVX_DWCONV3D_VARIANT

// The variant for an ISA; scalar for one not compiled in.
const DwConv3dKernels& kernels_for(Isa isa);

}  // namespace fastvfx::dwconv3d
