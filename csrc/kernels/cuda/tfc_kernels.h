// Temporal Focus Convolution kernels (see fastvfx/tfc.h): the one-pass global
// pooling, the gate, and the per-sample folding of the scale into the conv
// weights. The GEMM (a batched 1x1 conv, or a grouped conv for other kernels)
// is the binding's at::bmm / at::conv2d: cuBLAS and cuDNN are hard to beat.
#pragma once

#include <cmath>

#include "dtype.h"
#include "fastvfx/tfc.h"
#include "grid.h"

namespace fastvfx::cuda {

template <class A> FVX_HD A pool_add(A a, A b) { return a + b; }
// As torch's adaptive max pooling: a NaN wins.
template <class A> FVX_HD A pool_max(A a, A b) { return (a != a || a > b) ? a : b; }

// NCHW: one block per (n, c) plane, V elements per load where aligned, then a
// tree reduction in shared memory.
template <class T, int V> struct PoolPlaneKernel {
  using A = acc_t<T>;
  const T* x;
  T* out;
  int64_t hw;
  PoolKind kind;

  static constexpr int kBlock = 256;
  FVX_HD int phases() const { return 1 + 8; }  // loads, then log2(kBlock) tree steps
  FVX_HD void operator()(int phase, const Thread& th, void* shared) const {
    A* slot = static_cast<A*>(shared);
    const bool is_max = kind == PoolKind::kMax;
    if (phase > 0) {
      block_reduce_phase(phase - 1, th, slot, [is_max](A a, A b) { return is_max ? pool_max(a, b) : pool_add(a, b); });
      if (phase == phases() - 1 && th.index == 0) out[th.block] = store<T>(is_max ? slot[0] : slot[0] / A(hw));
      return;
    }
    const T* plane = x + th.block * hw;
    A acc = is_max ? A(-INFINITY) : A(0);
    for (int64_t p = int64_t(th.index) * V; p < hw; p += int64_t(th.block_dim) * V) {
      const Pack<T, V> pk = *reinterpret_cast<const Pack<T, V>*>(plane + p);
      for (int v = 0; v < V; ++v) acc = is_max ? pool_max(acc, A(load(pk.v[v]))) : acc + A(load(pk.v[v]));
    }
    slot[th.index] = acc;
  }
};

// NHWC: one thread per (n, c) walks the positions; neighbouring threads read
// neighbouring channels, so each step of the warp is one coalesced row.
template <class T> struct PoolChannelsLastKernel {
  using A = acc_t<T>;
  const T* x;
  T* out;
  PoolShape s;

  bool kind_max;

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t total = s.n_batch * s.channels;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      const int64_t n = i / s.channels, c = i % s.channels;
      const T* p = x + n * s.hw * s.channels + c;
      A acc = kind_max ? A(-INFINITY) : A(0);
      for (int64_t q = 0; q < s.hw; ++q) {
        const A v = load(p[q * s.channels]);
        acc = kind_max ? pool_max(acc, v) : acc + v;
      }
      out[i] = store<T>(kind_max ? acc : acc / A(s.hw));
    }
  }
};

// The gate for one sample per block: hidden = relu(w1 · pooled + b1) in
// shared memory, then scale = sigmoid(w2 · hidden + b2).
template <class T> struct GateKernel {
  using A = acc_t<T>;
  const T* pooled;
  const T* w1;
  const T* b1;
  const T* w2;
  const T* b2;
  T* scale;
  int64_t channels, hidden;

  FVX_HD int phases() const { return 2; }
  FVX_HD void operator()(int phase, const Thread& th, void* shared) const {
    A* h = static_cast<A*>(shared);
    const int64_t n = th.block;
    if (phase == 0) {
      for (int64_t j = th.index; j < hidden; j += th.block_dim) {
        A acc = b1 ? A(load(b1[j])) : A(0);
        for (int64_t c = 0; c < channels; ++c) acc += A(load(w1[j * channels + c])) * A(load(pooled[n * channels + c]));
        h[j] = acc > A(0) ? acc : A(0);
      }
      return;
    }
    for (int64_t c = th.index; c < channels; c += th.block_dim) {
      A acc = b2 ? A(load(b2[c])) : A(0);
      for (int64_t j = 0; j < hidden; ++j) acc += A(load(w2[c * hidden + j])) * h[j];
      scale[n * channels + c] = store<T>(A(1) / (A(1) + exp(-acc)));
    }
  }
};
// Shared memory the gate may use: the hidden layer of one sample.
constexpr int64_t kGateSharedBytes = 48 * 1024;

// w_n[n, o, i, k] = w[o, i, k] * scale[n, i]: per-sample conv weights, so the
// conv of x * scale runs as one batched GEMM without writing x * scale.
template <class T> struct FoldScaleKernel {
  const T* w;
  const T* scale;
  T* w_n;
  int64_t n, cout, cin, k;

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t per_sample = cout * cin * k, total = n * per_sample;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      const int64_t s = i / per_sample, r = i % per_sample, ci = (r / k) % cin;
      w_n[i] = store<T>(load(w[r]) * load(scale[s * cin + ci]));
    }
  }
};

// Builders shared by the launchers (tfc.cu) and the emulator tests.
template <class T, class Run>
void global_pool2d_run(const T* x, T* out, const PoolShape& s, PoolKind kind, Run&& run) {
  if (s.n_batch * s.channels == 0 || s.hw == 0) return;
  if (s.channels_last) {
    run(PoolChannelsLastKernel<T>{x, out, s, kind == PoolKind::kMax}, grid_for(s.n_batch * s.channels));
    return;
  }
  constexpr int kVec = 16 / sizeof(T);
  const Grid g{s.n_batch * s.channels, PoolPlaneKernel<T, 1>::kBlock,
               PoolPlaneKernel<T, 1>::kBlock * int64_t(sizeof(acc_t<T>))};
  if (s.hw % kVec == 0 && aligned(x, 16)) {
    run(PoolPlaneKernel<T, kVec>{x, out, s.hw, kind}, g);
  } else {
    run(PoolPlaneKernel<T, 1>{x, out, s.hw, kind}, g);
  }
}

// False (nothing launched) when the hidden layer does not fit in shared memory.
template <class T, class Run>
bool tfc_gate_run(const T* pooled, int64_t n, int64_t channels, int64_t hidden, const T* w1, const T* b1,
                  const T* w2, const T* b2, T* scale, Run&& run) {
  const int64_t bytes = hidden * int64_t(sizeof(acc_t<T>));
  if (bytes > kGateSharedBytes) return false;
  if (n > 0 && channels > 0) run(GateKernel<T>{pooled, w1, b1, w2, b2, scale, channels, hidden}, Grid{n, 128, bytes});
  return true;
}

template <class T, class Run>
void fold_scale_run(const T* w, const T* scale, T* w_n, int64_t n, int64_t cout, int64_t cin, int64_t k,
                    Run&& run) {
  if (n * cout * cin * k == 0) return;
  run(FoldScaleKernel<T>{w, scale, w_n, n, cout, cin, k}, grid_for(n * cout * cin * k));
}

}  // namespace fastvfx::cuda
