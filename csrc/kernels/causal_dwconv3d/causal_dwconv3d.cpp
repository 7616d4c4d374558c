// Drivers of the causal depthwise Conv3D: split the (n, c) planes (or, for
// channels-last data, the output rows) over threads and call the active ISA's
// kernels (dwconv3d_impl.h).
#include "fastvfx/causal_dwconv3d.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
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
// A channels-last layer of fewer multiply-adds runs on one thread (see forward_lanes).
constexpr int64_t kSerialMacs = 1 << 20;

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

template <class T>
auto transpose_fn(const DwConv3dKernels& k) {
  if constexpr (sizeof(T) == 4) return k.transpose_f32;
  else return k.transpose_f64;
}

// Raw scratch memory, not zero-filled (every element is written before it is
// read). Up to kKeptBytes it is the calling thread's block for that use
// (Slot), kept across calls: a fresh block above malloc's mmap threshold
// cost a page fault per 4 KiB at every call (a third of a 7x7 clip's time).
// 2 MiB holds the frames of a 50-frame clip of MoViNet-A0's 7x7 layer.
constexpr size_t kKeptBytes = size_t{2} << 20;

template <class T>
class Scratch {
 public:
  T* get() const { return ptr_; }

  // 64-byte aligned (whole cache lines for the vectors of a pixel).
  template <int Slot>
  static Scratch make(int64_t n) {
    const size_t count = static_cast<size_t>(std::max<int64_t>(n, 1)) + 64 / sizeof(T);
    Scratch s;
    if (count * sizeof(T) > kKeptBytes) {
      s.own_.reset(new T[count]);
      s.ptr_ = align64(s.own_.get());
      return s;
    }
    thread_local std::unique_ptr<T[]> kept;
    thread_local size_t kept_count = 0;
    if (kept_count < count) {
      kept.reset(new T[count]);
      kept_count = count;
    }
    s.ptr_ = align64(kept.get());
    return s;
  }

 private:
  static T* align64(T* p) {
    return reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63});
  }

 public:

 private:
  std::unique_ptr<T[]> own_;
  T* ptr_ = nullptr;
};
enum ScratchSlot { kWeightSlot, kBiasSlot, kInputSlot, kHistorySlot, kOutputSlot };

// dst (N, P, cs) from src (N, C, P) (to_lanes; lanes [C, cs) of each pixel
// zeroed) or back, in register blocks (16x16 with AVX-512), split over
// threads by strips of 16 rows of the source.
template <class T>
void transpose_batches(const T* src, T* dst, int64_t batch, int64_t channels, int64_t pixels, int64_t cs,
                       bool to_lanes) {
  const auto fn = transpose_fn<T>(kernels_for(active_isa()));
  constexpr int64_t kStrip = 16;
  const int64_t rows = to_lanes ? channels : pixels, cols = to_lanes ? pixels : channels;
  const int64_t src_stride = to_lanes ? pixels : cs, dst_stride = to_lanes ? cs : pixels;
  const int64_t src_batch = rows * src_stride, dst_batch = cols * dst_stride;
  const int64_t strips = (rows + kStrip - 1) / kStrip;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, kStrip * cols));
  parallel_for(0, batch * strips, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t n = i / strips, r0 = i % strips * kStrip;
      fn(src + n * src_batch + r0 * src_stride, src_stride, dst + n * dst_batch + r0, dst_stride,
         std::min(kStrip, rows - r0), cols);
    }
  });
  if (to_lanes && cs > channels) {
    for (int64_t p = 0; p < batch * pixels; ++p) std::fill(dst + p * cs + channels, dst + (p + 1) * cs, T(0));
  }
}

// Copies a (H, W, cs) frame into its place in a zero-padded (PH, PW, cs)
// one; the border is left as it is (zero since the cache was created).
template <class T>
void pad_into_cache(const T* frame, T* dst, const DwConv3dShape& s, int64_t cs, int64_t ph, int64_t pw) {
  const int64_t c0 = std::max<int64_t>(0, s.pad_left), c1 = std::min(pw, s.pad_left + s.in_w);
  if (c1 <= c0) return;
  for (int64_t ih = std::max<int64_t>(0, -s.pad_top); ih < std::min(s.in_h, ph - s.pad_top); ++ih) {
    std::memcpy(dst + ((ih + s.pad_top) * pw + c0) * cs, frame + (ih * s.in_w + c0 - s.pad_left) * cs,
                sizeof(T) * (c1 - c0) * cs);
  }
}

// The channel-lane engine over t frames x, channels-last (N, t, H, W, C) and
// no history (y the same), or channels-first (N, C, t, H, W, with the
// (N, C, kT-1, H, W) history ring read and then updated, as the plane
// engine; y (N, C, t, OH, OW)). Channels-first frames are transposed whole,
// in and out, with the pixels cs apart: C rounded up to whole cache lines
// (every vector load aligned; 168 channels ran 10% slower than 160 or 176),
// the lanes past C zero. A stream's padded cache keeps the history
// channels-last and zero-padded, (N, kT-1, PH, PW, cs), borders zero from
// the start: a step then transposes and pads only its new frames (a 7x7 step
// did both to all five frames of its window).
template <class T>
void forward_lanes(const T* x_in, bool channels_first, int64_t t, T* history, T* padded, int64_t position,
                   const T* weight, const T* bias, T* y, const DwConv3dShape& s, Activation act) {
  const T* x = x_in;
  const int64_t rows = s.batch * t * s.out_h, taps = s.kt * s.kh * s.kw, C = s.channels;
  if (rows <= 0 || C <= 0) return;
  const DwConv3dKernels& k = kernels_for(active_isa());
  const int64_t nh = s.kt - 1, hw = s.in_h * s.in_w, ohw = s.out_h * s.out_w;
  const int64_t ph = (s.out_h - 1) * s.stride_h + s.kh, pw = (s.out_w - 1) * s.stride_w + s.kw;
  // The plane engine's cache holds C * padded_numel per frame: room for
  // (PH, PW, cs) unless C is small. The channel stride (and so the layout)
  // depends on the shape alone, never on the ISA.
  const int64_t line = 64 / static_cast<int64_t>(sizeof(T)), cs_lines = (C + line - 1) / line * line;
  const auto fits = [&](int64_t cs) { return C * causal_dwconv3d_padded_numel(s, sizeof(T)) >= ph * pw * cs; };
  const int64_t cs = !channels_first ? C : (padded == nullptr || fits(cs_lines)) ? cs_lines : C;
  const bool cached = padded != nullptr && fits(cs);
  // The engine reads the weights channels innermost too: (kT, kH, kW, cs).
  const Scratch<T> weight_t = Scratch<T>::template make<kWeightSlot>(taps * cs);
  Scratch<T> bias_cs;
  if (cs > C) {
    if (bias != nullptr) {
      bias_cs = Scratch<T>::template make<kBiasSlot>(cs);
      std::copy(bias, bias + C, bias_cs.get());
      std::fill(bias_cs.get() + C, bias_cs.get() + cs, T(0));
      bias = bias_cs.get();
    }
  }
  Scratch<T> x_lanes, history_lanes, y_lanes;
  const T* history_cl = nullptr;
  auto fn = [&] {
    if constexpr (sizeof(T) == 4) return k.forward_lanes_f32;
    else return k.forward_lanes_f64;
  }();
  const auto transpose = transpose_fn<T>(k);
  if (channels_first) {
    x_lanes = Scratch<T>::template make<kInputSlot>(s.batch * t * hw * cs);
    if (history != nullptr && cached) {
      history_cl = padded;
    } else if (history != nullptr) {
      history_lanes = Scratch<T>::template make<kHistorySlot>(s.batch * nh * hw * cs);
      history_cl = history_lanes.get();
    }
    y_lanes = Scratch<T>::template make<kOutputSlot>(s.batch * t * ohw * cs);
  }
  T* const y_cl = channels_first ? y_lanes.get() : y;
  const LaneArgs<T> args{channels_first ? x_lanes.get() : x,
                         t,
                         history_cl,
                         history_cl != nullptr && history_cl == padded,
                         history != nullptr ? position : 0,
                         weight_t.get(),
                         bias,
                         y_cl,
                         s,
                         act,
                         cs,
                         0,
                         C};
  // Channel groups of two cache lines, each one task from the transposes in
  // to the ring's update: one parallel region, and nothing serial but the
  // cache's rows. Where there are too few groups for the threads, the
  // transposes, the rows and the transposes out each split over threads
  // instead (three regions).
  const int64_t group = 2 * line, groups = (cs + group - 1) / group;
  if (channels_first && cs % line == 0 && groups >= 2 * default_num_threads()) {
    // Below kSerialMacs the groups run on the calling thread: a parallel
    // region costs more than it saves (a MoViNet-A0 step at 168@7², 5x3x3,
    // 0.37 M multiply-adds, two threads: 43 us in one, 28 without, in a
    // diagnostic A/B; fastvfx bench's "dwconv3d step 168ch 7² k5x3x3" row
    // 0.029 ms in stop 28's run against 0.041 in stop 27's).
    const int64_t macs = rows * s.out_w * C * taps;
    parallel_for(0, groups, macs < kSerialMacs ? groups : 1, [&](int64_t gb, int64_t ge) {
      for (int64_t g = gb; g < ge; ++g) {
        const int64_t c0 = g * group, c1 = std::min(C, c0 + group), n_c = c1 - c0;
        if (n_c <= 0) continue;
        const bool last = c1 == C;
        auto zero_lanes = [&](T* base, int64_t pixels) {
          if (last && cs > C) {
            for (int64_t q = 0; q < pixels; ++q) std::fill(base + q * cs + C, base + (q + 1) * cs, T(0));
          }
        };
        transpose(weight + c0 * taps, taps, weight_t.get() + c0, cs, n_c, taps);
        zero_lanes(weight_t.get(), taps);
        for (int64_t n = 0; n < s.batch; ++n) {
          transpose(x_in + (n * C + c0) * t * hw, t * hw, x_lanes.get() + n * t * hw * cs + c0, cs, n_c, t * hw);
          if (history_lanes.get() != nullptr) {
            transpose(history + (n * C + c0) * nh * hw, nh * hw, history_lanes.get() + n * nh * hw * cs + c0, cs, n_c,
                      nh * hw);
          }
        }
        zero_lanes(x_lanes.get(), s.batch * t * hw);
        if (history_lanes.get() != nullptr) zero_lanes(history_lanes.get(), s.batch * nh * hw);
        LaneArgs<T> part = args;
        part.c_begin = c0;
        part.c_end = c1;
        fn(part, 0, rows);
        for (int64_t n = 0; n < s.batch; ++n) {
          transpose(y_cl + n * t * ohw * cs + c0, cs, y + (n * C + c0) * t * ohw, t * ohw, t * ohw, n_c);
          if (history == nullptr) continue;
          for (int64_t f = std::max(position, position + t - nh); f < position + t; ++f) {
            const int64_t slot = f % nh, i = f - position;
            for (int64_t c = c0; c < c1; ++c) {
              std::memcpy(history + ((n * C + c) * nh + slot) * hw, x_in + ((n * C + c) * t + i) * hw,
                          sizeof(T) * hw);
            }
          }
        }
      }
    });
  } else {
    transpose(weight, taps, weight_t.get(), cs, C, taps);
    if (cs > C) {
      for (int64_t i = 0; i < taps; ++i) std::fill(weight_t.get() + i * cs + C, weight_t.get() + (i + 1) * cs, T(0));
    }
    if (channels_first) {
      transpose_batches(x, x_lanes.get(), s.batch, C, t * hw, cs, true);
      if (history_lanes.get() != nullptr) transpose_batches(history, history_lanes.get(), s.batch, C, nh * hw, cs, true);
    }
    const int64_t grain = std::max<int64_t>(1, kTaskMacs / std::max<int64_t>(1, s.out_w * C * taps));
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) { fn(args, b, e); });
    if (channels_first) transpose_batches(y_cl, y, s.batch, C, t * ohw, cs, false);
    if (history != nullptr) {
      for (int64_t n = 0; n < s.batch; ++n) {
        for (int64_t f = std::max(position, position + t - nh); f < position + t; ++f) {
          const int64_t slot = f % nh, i = f - position;
          for (int64_t c = 0; c < C; ++c) {
            std::memcpy(history + ((n * C + c) * nh + slot) * hw, x_in + ((n * C + c) * t + i) * hw,
                        sizeof(T) * hw);
          }
        }
      }
    }
  }
  if (history != nullptr && cached) {
    // The newest kT-1 frames overwrite the oldest slots of the channels-last
    // cache (the channels-first ring's were written above).
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t f = std::max(position, position + t - nh); f < position + t; ++f) {
        const int64_t slot = f % nh, i = f - position;
        pad_into_cache(x_lanes.get() + (n * t + i) * hw * cs, padded + (n * nh + slot) * ph * pw * cs, s, cs, ph, pw);
      }
    }
  }
}

template <class T>
void forward(const T* x, int64_t t, T* history, T* padded, int64_t position, const T* weight,
             const T* bias, T* y, const DwConv3dShape& s, Activation act) {
  if (s.batch * s.channels <= 0 || t <= 0) return;
  if (causal_dwconv3d_uses_channel_lanes(s)) {
    forward_lanes(x, true, t, history, padded, position, weight, bias, y, s, act);
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
  // engine's rows are short. Purely temporal kernels read their planes in
  // place. Up to 12-wide output rows (stop 30, the engine reading its rows in
  // place): MoViNet-A0's 11² step at 184 channels, 5x3x3, 96 -> 64 us, its
  // 8-frame clip 622 -> 322 us; its 22² -> 11² stride-2 step 146 -> 108 us;
  // 2-D 3x3 at 10-12² about 2x. 14-wide rows stay on the plane engine (level
  // to 20% ahead there; at stride 2, 192@28² batch 8: the lanes 0.54 -> 0.41
  // ms at one thread in the core, but slower at two in an interleaved run).
  const bool temporal_only = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1;
  return !temporal_only && s.out_w <= 12;
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
  dwconv3d::forward_lanes(x, false, t, static_cast<decltype(y)>(nullptr), static_cast<decltype(y)>(nullptr), 0, weight,
                          bias, y, shape, act);
}

void causal_dwconv3d_channels_last_forward(const double* x, int64_t t, const double* weight,
                                           const double* bias, double* y, const DwConv3dShape& shape,
                                           Activation act) {
  dwconv3d::forward_lanes(x, false, t, static_cast<decltype(y)>(nullptr), static_cast<decltype(y)>(nullptr), 0, weight,
                          bias, y, shape, act);
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
