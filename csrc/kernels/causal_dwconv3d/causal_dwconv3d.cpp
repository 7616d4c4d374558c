// Drivers of the causal depthwise Conv3D: split the (n, c) planes (or, for
// channels-last data, the output rows) over threads and call the active ISA's
// kernels (dwconv3d_impl.h).
#include "fastvfx/causal_dwconv3d.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "dwconv3d_kernels.h"
#include "fastvfx/parallel.h"

namespace fastvfx {
namespace dwconv3d {

const DwConv3dKernels& kernels_for(Isa isa) {
  struct Table {
    const DwConv3dKernels* by_isa[kIsaCount] = {};
    Table() {
#define FVX_DWCONV3D_VARIANT(isa_enum, suffix) by_isa[static_cast<int>(Isa::isa_enum)] = &kernels__##suffix;
#include "dwconv3d_variants.inc"
#undef FVX_DWCONV3D_VARIANT
      for (auto& k : by_isa) {
        if (k == nullptr) k = by_isa[static_cast<int>(Isa::kScalar)];
      }
    }
  };
  static const Table table;
  return *table.by_isa[static_cast<int>(isa)];
}

namespace {

// Planes per task: about this many multiply-adds, so that small layers (7x7
// late in the network) still use every thread but never pay a task per plane.
constexpr int64_t kTaskMacs = 1 << 17;

int64_t plane_grain(const DwConv3dShape& s, int64_t t) {
  const int64_t macs = std::max<int64_t>(1, t * s.out_h * s.out_w * s.kt * s.kh * s.kw);
  return std::max<int64_t>(1, kTaskMacs / macs);
}

template <class T>
void forward_planes(const T* x, int64_t t, T* history, T* padded, int64_t position, const T* weight,
                    const T* bias, T* y, const DwConv3dShape& shape, Activation act) {
  const int64_t planes = shape.batch * shape.channels;
  const ForwardArgs<T> args{x, t, history, history ? padded : nullptr, position, weight, bias, y, shape, act};
  const DwConv3dKernels& k = kernels_for(active_isa());
  auto fn = [&] {
    if constexpr (sizeof(T) == 4) return k.forward_f32;
    else return k.forward_f64;
  }();
  parallel_for(0, planes, plane_grain(shape, t), [&](int64_t b, int64_t e) { fn(args, b, e); });
}

// The channel-lane engine over t frames x, channels-first (N, C, t, H, W,
// with the (N, C, kT-1, H, W) history ring read and then updated, as the
// plane engine) or channels-last (N, t, H, W, C, no history); y in the same
// layout.
template <class T>
void forward_lanes(const T* x, bool channels_first, int64_t t, T* history, int64_t position, const T* weight,
                   const T* bias, T* y, const DwConv3dShape& s, Activation act) {
  const int64_t rows = s.batch * t * s.out_h, taps = s.kt * s.kh * s.kw, C = s.channels;
  if (rows <= 0 || C <= 0) return;
  // The engine reads the weights channels innermost too: (kT, kH, kW, C).
  std::vector<T> weight_t(static_cast<size_t>(taps * C));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < taps; ++k) weight_t[k * C + c] = weight[c * taps + k];
  const LaneArgs<T> args{x, channels_first, t, history, position, weight_t.data(), bias, y, channels_first, s, act};
  const DwConv3dKernels& k = kernels_for(active_isa());
  auto fn = [&] {
    if constexpr (sizeof(T) == 4) return k.forward_lanes_f32;
    else return k.forward_lanes_f64;
  }();
  const int64_t grain = std::max<int64_t>(1, kTaskMacs / std::max<int64_t>(1, s.out_w * C * taps));
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) { fn(args, b, e); });
  if (history != nullptr) {
    // The newest kT-1 frames overwrite the oldest slots.
    const int64_t nh = s.kt - 1, hw = s.in_h * s.in_w;
    for (int64_t p = 0; p < s.batch * C; ++p)
      for (int64_t f = std::max(position, position + t - nh); f < position + t; ++f)
        std::memcpy(history + (p * nh + f % nh) * hw, x + (p * t + f - position) * hw, sizeof(T) * hw);
  }
}

template <class T>
void forward(const T* x, int64_t t, T* history, T* padded, int64_t position, const T* weight,
             const T* bias, T* y, const DwConv3dShape& s, Activation act) {
  if (s.batch * s.channels <= 0 || t <= 0) return;
  if (causal_dwconv3d_uses_channel_lanes(s)) {
    forward_lanes(x, true, t, history, position, weight, bias, y, s, act);
  } else {
    forward_planes(x, t, history, padded, position, weight, bias, y, s, act);
  }
}

template <class T>
void backward(const T* x, const T* dy, int64_t t, const T* weight, T* dx, T* dweight, T* dbias,
              const DwConv3dShape& s) {
  const int64_t planes = s.batch * s.channels, taps = s.kt * s.kh * s.kw;
  if (planes <= 0) return;
  if (t <= 0) {
    if (dweight) std::fill(dweight, dweight + s.channels * taps, T(0));
    if (dbias) std::fill(dbias, dbias + s.channels, T(0));
    return;
  }
  // Per-plane partial sums, reduced over the batch below: no two threads
  // ever add into the same weight gradient.
  std::vector<T> dw_part(dweight ? static_cast<size_t>(planes * taps) : 0);
  std::vector<T> db_part(dbias ? static_cast<size_t>(planes) : 0);
  const BackwardArgs<T> args{x, dy, t, weight, dx, dweight ? dw_part.data() : nullptr,
                             dbias ? db_part.data() : nullptr, s};
  const DwConv3dKernels& k = kernels_for(active_isa());
  auto fn = [&] {
    if constexpr (sizeof(T) == 4) return k.backward_f32;
    else return k.backward_f64;
  }();
  parallel_for(0, planes, plane_grain(s, t), [&](int64_t b, int64_t e) { fn(args, b, e); });
  for (int64_t c = 0; c < s.channels; ++c) {
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t p = n * s.channels + c;
      for (int64_t i = 0; dweight && i < taps; ++i) {
        dweight[c * taps + i] = (n == 0 ? T(0) : dweight[c * taps + i]) + dw_part[p * taps + i];
      }
      if (dbias) dbias[c] = (n == 0 ? T(0) : dbias[c]) + db_part[p];
    }
  }
}

}  // namespace
}  // namespace dwconv3d

void same_padding(int64_t in, int64_t kernel, int64_t stride, int64_t* out, int64_t* pad_front) {
  *out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((*out - 1) * stride + kernel - in, 0);
  *pad_front = total / 2;
}

int64_t symmetric_output(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

bool causal_dwconv3d_uses_channel_lanes(const DwConv3dShape& s) {
  // Measured (1 thread, MobileNetV2's and MoViNet-A0's layers): on
  // (N, C, T, H, W) data the transposes in and out cost about as much as the
  // convolution, so the channel-lane engine only wins where the plane
  // engine's rows are shortest. Purely temporal kernels read their planes in
  // place.
  const bool temporal_only = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1;
  return !temporal_only && s.out_w <= 8;
}

int64_t causal_dwconv3d_padded_numel(const DwConv3dShape& shape, int64_t elem_size) {
  // The layout does not depend on the ISA (64-byte vectors everywhere).
  const auto& k = dwconv3d::kernels_for(Isa::kScalar);
  return elem_size == 4 ? k.padded_numel_f32(shape) : k.padded_numel_f64(shape);
}

void causal_dwconv3d_forward(const float* x, int64_t t, float* history, float* padded,
                             int64_t position, const float* weight, const float* bias, float* y,
                             const DwConv3dShape& shape, Activation act) {
  dwconv3d::forward(x, t, history, padded, position, weight, bias, y, shape, act);
}

void causal_dwconv3d_forward(const double* x, int64_t t, double* history, double* padded,
                             int64_t position, const double* weight, const double* bias, double* y,
                             const DwConv3dShape& shape, Activation act) {
  dwconv3d::forward(x, t, history, padded, position, weight, bias, y, shape, act);
}

void causal_dwconv3d_channels_last_forward(const float* x, int64_t t, const float* weight,
                                           const float* bias, float* y, const DwConv3dShape& shape,
                                           Activation act) {
  dwconv3d::forward_lanes(x, false, t, static_cast<decltype(y)>(nullptr), 0, weight, bias, y, shape, act);
}

void causal_dwconv3d_channels_last_forward(const double* x, int64_t t, const double* weight,
                                           const double* bias, double* y, const DwConv3dShape& shape,
                                           Activation act) {
  dwconv3d::forward_lanes(x, false, t, static_cast<decltype(y)>(nullptr), 0, weight, bias, y, shape, act);
}

void causal_dwconv3d_backward(const float* x, const float* dy, int64_t t, const float* weight,
                              float* dx, float* dweight, float* dbias, const DwConv3dShape& shape) {
  dwconv3d::backward(x, dy, t, weight, dx, dweight, dbias, shape);
}

void causal_dwconv3d_backward(const double* x, const double* dy, int64_t t, const double* weight,
                              double* dx, double* dweight, double* dbias,
                              const DwConv3dShape& shape) {
  dwconv3d::backward(x, dy, t, weight, dx, dweight, dbias, shape);
}

}  // namespace fastvfx
