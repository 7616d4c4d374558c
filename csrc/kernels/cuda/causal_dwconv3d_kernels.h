// Causal depthwise Conv3D kernels (see fastvfx/causal_dwconv3d.h for the
// shapes and the semantics). Direct convolution, one thread per output run:
// depthwise layers have a few taps per output and are bound by memory, which
// the neighbouring threads of a row share through the caches.
//
// Streaming keeps the ring position on the device: the forward kernel and the
// ring update read it, and a one-thread kernel advances it last (three
// launches on one stream: no host read, so a stream loop can be captured in
// a CUDA graph).
#pragma once

#include <cmath>

#include "dtype.h"
#include "fastvfx/causal_dwconv3d.h"
#include "grid.h"

namespace fastvfx::cuda {

template <class A> FVX_HD A activate(A v, Activation act) {
  const A zero = A(0), six = A(6);
  switch (act) {
    case Activation::kReLU: return v > zero ? v : zero;
    case Activation::kReLU6: return v < zero ? zero : (v > six ? six : v);
    case Activation::kHardswish: {
      const A r = v + A(3);
      return v * (r < zero ? zero : (r > six ? six : r)) / six;
    }
    case Activation::kSwish: return v / (A(1) + exp(-v));
    case Activation::kSigmoid: return A(1) / (A(1) + exp(-v));
    default: return v;
  }
}

// V outputs along a row per thread, stored with one access (V = 1: scalar).
// x holds the t new frames, the first at absolute index *position; earlier
// frames come from the ring `history`. A full clip passes null for both (its
// past is zeros).
template <class T, int V> struct DwForwardKernel {
  using A = acc_t<T>;
  const T* x;
  const T* history;
  const int64_t* position;  // device; null: 0
  const T* weight;
  const T* bias;
  T* y;
  DwConv3dShape s;
  int64_t t;
  Activation act;

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t pos = position ? *position : 0;
    const int64_t ow_groups = s.out_w / V, hw = s.in_h * s.in_w, ring = s.kt - 1;
    const int64_t total = s.batch * s.channels * t * s.out_h * ow_groups;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      const int64_t ow0 = (i % ow_groups) * V;
      const int64_t oh = (i / ow_groups) % s.out_h;
      const int64_t j = (i / (ow_groups * s.out_h)) % t;
      const int64_t nc = i / (ow_groups * s.out_h * t);
      const int64_t c = nc % s.channels;
      A acc[V];
      for (int v = 0; v < V; ++v) acc[v] = A(0);
      for (int64_t dt = 0; dt < s.kt; ++dt) {
        const int64_t a = pos + j - ring + dt;  // absolute input frame
        if (a < 0) continue;                      // before the video: zeros
        const T* frame = a >= pos ? x + (nc * t + (a - pos)) * hw : history + (nc * ring + a % ring) * hw;
        const T* w = weight + (c * s.kt + dt) * s.kh * s.kw;
        for (int64_t ki = 0; ki < s.kh; ++ki) {
          const int64_t ih = oh * s.stride_h - s.pad_top + ki;
          if (ih < 0 || ih >= s.in_h) continue;
          const T* in = frame + ih * s.in_w;
          for (int64_t kj = 0; kj < s.kw; ++kj) {
            const A wv = load(w[ki * s.kw + kj]);
            for (int v = 0; v < V; ++v) {
              const int64_t iw = (ow0 + v) * s.stride_w - s.pad_left + kj;
              if (iw >= 0 && iw < s.in_w) acc[v] += wv * load(in[iw]);
            }
          }
        }
      }
      const A b = bias ? load(bias[c]) : A(0);
      Pack<T, V> out;
      for (int v = 0; v < V; ++v) out.v[v] = store<T>(activate(acc[v] + b, act));
      *reinterpret_cast<Pack<T, V>*>(y + ((nc * t + j) * s.out_h + oh) * s.out_w + ow0) = out;
    }
  }
};

// After a step's forward: the newest min(t, kT-1) frames of x overwrite their
// ring slots (slot = absolute frame mod kT-1).
template <class T> struct DwRingUpdateKernel {
  const T* x;
  T* history;
  const int64_t* position;
  int64_t planes, hw, t, ring;

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t pos = *position;
    const int64_t keep = t < ring ? t : ring;
    const int64_t total = planes * keep * hw;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      const int64_t p = i % hw, k = t - keep + (i / hw) % keep, nc = i / (hw * keep);
      history[(nc * ring + (pos + k) % ring) * hw + p] = x[(nc * t + k) * hw + p];
    }
  }
};

struct AdvancePositionKernel {
  int64_t* position;
  int64_t t;
  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    if (th.global() == 0) *position += t;
  }
};

// dx by gathering: each input element sums the outputs it contributed to.
template <class T> struct DwBackwardInputKernel {
  using A = acc_t<T>;
  const T* dy;
  const T* weight;
  T* dx;
  DwConv3dShape s;
  int64_t t;

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t total = s.batch * s.channels * t * s.in_h * s.in_w;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      const int64_t iw = i % s.in_w, ih = (i / s.in_w) % s.in_h, ti = (i / (s.in_w * s.in_h)) % t;
      const int64_t nc = i / (s.in_w * s.in_h * t), c = nc % s.channels;
      A acc = A(0);
      for (int64_t dt = 0; dt < s.kt; ++dt) {
        const int64_t to = ti + s.kt - 1 - dt;
        if (to >= t) continue;
        const T* g = dy + (nc * t + to) * s.out_h * s.out_w;
        const T* w = weight + (c * s.kt + dt) * s.kh * s.kw;
        for (int64_t ki = 0; ki < s.kh; ++ki) {
          const int64_t nh = ih + s.pad_top - ki;
          if (nh < 0 || nh % s.stride_h != 0 || nh / s.stride_h >= s.out_h) continue;
          for (int64_t kj = 0; kj < s.kw; ++kj) {
            const int64_t nw = iw + s.pad_left - kj;
            if (nw < 0 || nw % s.stride_w != 0 || nw / s.stride_w >= s.out_w) continue;
            acc += load(w[ki * s.kw + kj]) * load(g[(nh / s.stride_h) * s.out_w + nw / s.stride_w]);
          }
        }
      }
      dx[i] = store<T>(acc);
    }
  }
};

// dweight and dbias: one block per (channel, tap), the last "tap" of each
// channel being the bias; the block sums over (n, t, oh, ow) and reduces in
// shared memory. No atomics, so the result does not depend on scheduling.
template <class T> struct DwBackwardParamsKernel {
  using A = acc_t<T>;
  const T* x;
  const T* dy;
  T* dweight;  // may be null
  T* dbias;    // may be null
  DwConv3dShape s;
  int64_t t;

  FVX_HD int64_t taps() const { return s.kt * s.kh * s.kw; }
  FVX_HD int phases() const { return 1 + 8; }  // partial sums, then log2(256) tree steps
  FVX_HD void operator()(int phase, const Thread& th, void* shared) const {
    A* slot = static_cast<A*>(shared);
    const int64_t c = th.block / (taps() + 1), tap = th.block % (taps() + 1);
    const bool is_bias = tap == taps();
    if (phase > 0) {
      block_reduce_phase(phase - 1, th, slot, [](A a, A b) { return a + b; });
      if (phase == phases() - 1 && th.index == 0) {
        if (is_bias && dbias) dbias[c] = store<T>(slot[0]);
        if (!is_bias && dweight) dweight[c * taps() + tap] = store<T>(slot[0]);
      }
      return;
    }
    const int64_t kj = tap % s.kw, ki = (tap / s.kw) % s.kh, dt = tap / (s.kw * s.kh);
    const int64_t per_plane = t * s.out_h * s.out_w, total = s.batch * per_plane;
    A acc = A(0);
    if (is_bias ? dbias != nullptr : dweight != nullptr) {
      for (int64_t i = th.index; i < total; i += th.block_dim) {
        const int64_t n = i / per_plane, r = i % per_plane;
        const int64_t ow = r % s.out_w, oh = (r / s.out_w) % s.out_h, to = r / (s.out_w * s.out_h);
        const A g = load(dy[(n * s.channels + c) * per_plane + r]);
        if (is_bias) {
          acc += g;
          continue;
        }
        const int64_t ti = to - (s.kt - 1) + dt, ih = oh * s.stride_h - s.pad_top + ki,
                      iw = ow * s.stride_w - s.pad_left + kj;
        if (ti < 0 || ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
        acc += g * load(x[(((n * s.channels + c) * t + ti) * s.in_h + ih) * s.in_w + iw]);
      }
    }
    slot[th.index] = acc;
  }
};
constexpr int kParamsBlock = 256;  // DwBackwardParamsKernel's phases assume it

// Builders shared by the launchers (causal_dwconv3d.cu) and the emulator tests.
template <class T, class Run>
void dwconv3d_forward_run(const T* x, int64_t t, T* history, int64_t* position, const T* weight,
                          const T* bias, T* y, const DwConv3dShape& s, Activation act, Run&& run) {
  const int64_t planes = s.batch * s.channels;
  if (planes == 0 || t == 0 || s.out_h * s.out_w == 0) return;
  constexpr int kVec = 16 / sizeof(T);
  const int64_t rows = planes * t * s.out_h;
  if (s.out_w % kVec == 0 && aligned(y, 16)) {
    DwForwardKernel<T, kVec> k{x, history, position, weight, bias, y, s, t, act};
    run(k, grid_for(rows * (s.out_w / kVec)));
  } else {
    DwForwardKernel<T, 1> k{x, history, position, weight, bias, y, s, t, act};
    run(k, grid_for(rows * s.out_w));
  }
  if (!position) return;  // a full clip
  if (s.kt > 1) {
    const int64_t keep = t < s.kt - 1 ? t : s.kt - 1;
    DwRingUpdateKernel<T> k{x, history, position, planes, s.in_h * s.in_w, t, s.kt - 1};
    run(k, grid_for(planes * keep * s.in_h * s.in_w));
  }
  run(AdvancePositionKernel{position, t}, Grid{1, 32, 0});
}

template <class T, class Run>
void dwconv3d_backward_run(const T* x, const T* dy, int64_t t, const T* weight, T* dx, T* dweight,
                           T* dbias, const DwConv3dShape& s, Run&& run) {
  if (dx && s.batch * s.channels * t * s.in_h * s.in_w > 0) {
    DwBackwardInputKernel<T> k{dy, weight, dx, s, t};
    run(k, grid_for(s.batch * s.channels * t * s.in_h * s.in_w));
  }
  if ((dweight || dbias) && s.channels > 0) {
    DwBackwardParamsKernel<T> k{x, dy, dweight, dbias, s, t};
    run(k, Grid{s.channels * (k.taps() + 1), kParamsBlock, kParamsBlock * int64_t(sizeof(acc_t<T>))});
  }
}

}  // namespace fastvfx::cuda
