// CPU implementation of the Temporal Focus Convolution: check, pool x in one
// pass (the core's global_pool2d), run the gate (the core's tfc_gate),
// then the conv of x * scale without ever writing x * scale (a float32 NCHW
// 1x1 batch of at least as many samples as threads: all three per thread on
// its share of the samples, tfc_per_sample):
//   float32 1x1, stride 1, no padding: the scale folded into per-sample
//     weights W[o, i] * scale[n, i] where C_out <= H*W, else (small maps)
//     applied to x's pixel tiles as the GEMM packs them (NCHW) or to a
//     scaled copy of x (channels_last), then the core's pointwise kernels
//     per sample (NCHW: weight rows against the sample's rows in place, or,
//     on the small maps, the sample's packed pixel tiles as rows against W
//     packed once a call, so that a 7x7 map does not compute 64 columns for
//     49 pixels; channels_last: the sample's pixels against the packed
//     weights), bias in the tiles. On an AVX-512 AMD CPU MKL's sgemm
//     (the float64 paths below) ran at AVX2 speed, about half of these
//     kernels;
//   float64 1x1, where C_out <= H*W: the scale folded into
//     per-sample weights W[o, i] * scale[n, i] and one batched GEMM (at::bmm);
//   1x1 on smaller maps: the shared W, the scale applied while packing each
//     GEMM's input tile (the per-sample weights would outweigh the sample);
//     NCHW batches of maps up to 8x8: all samples' scaled inputs side by
//     side as one wide GEMM;
//   float32 3x3, stride 1, where the core's winograd_tile says so:
//     Winograd F(2x2, 3x3) or F(4x4, 3x3) on the core's tiles, the scale applied in its
//     input transform (winograd_scaled_conv);
//   other kernels, strides, paddings: float32 batches write x * scale once
//     and run one at::conv2d (oneDNN) over the batch; one sample, float64
//     and 16-bit: one at::conv2d per sample with its folded weight. Measured
//     on (8, 64, 56, 56) with a 3x3 kernel (AVX2), per-sample convs took 8.6
//     ms against 11.0 ms for one grouped conv over (1, N*C, H, W) with
//     groups = N (channels_last: 8.6 against 13.3 ms).
// 16-bit x (bfloat16, float16): everything runs in float32 on converted
// pieces of x, and only y and the scale are rounded. The pool converts a
// sample at a time (fp32_tiles.h); a 1x1 conv takes the packed path, whose
// tiles are converted as they are scaled; other convs convert a sample at a
// time. ATen's 16-bit GEMMs and convs are not used: on a CPU without native
// 16-bit math (AVX2) they were ~100x slower than the float32 ones (bfloat16
// bmm at SqueezeTime's 1x1 stages, docs/mixed_precision.md).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "../temporal_focus_conv2d_checks.h"
#include "fastvfx/layout.h"
#include "fastvfx/pointwise_conv.h"
#include "fastvfx/tfc.h"
#include "fp32_tiles.h"
#include "pointwise.h"

namespace fastvfx::ops {
namespace {

// (N, C) mean or max of x over H*W: one pass, read in x's own layout; float32
// for a 16-bit x, converted a sample at a time.
at::Tensor global_pool(const at::Tensor& x, PoolKind kind) {
  const bool nhwc = is_channels_last(x);
  const at::Tensor src = nhwc || x.is_contiguous() ? x : x.contiguous();
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  if (is_16bit(x.scalar_type())) {
    // A sample as (C, HW) rows (NCHW) or (HW, C) rows (channels_last): its memory in order.
    const at::Tensor samples = nhwc ? src.permute({0, 2, 3, 1}).reshape({n, c * hw}) : src.reshape({n, c * hw});
    at::Tensor out = at::empty({n, c}, x.options().dtype(at::kFloat));
    for_each_fp32_tile(n, n, 4 * c * hw, [&](int64_t i0, int64_t count) {
      const at::Tensor x32 = samples.narrow(0, i0, count).to(at::kFloat);
      global_pool2d(x32.const_data_ptr<float>(), out.mutable_data_ptr<float>() + i0 * c,
                    PoolShape{count, c, hw, nhwc}, kind);
    });
    return out;
  }
  at::Tensor out = at::empty({n, c}, x.options());
  const PoolShape shape{n, c, hw, nhwc};
  if (x.scalar_type() == at::kFloat) {
    global_pool2d(src.const_data_ptr<float>(), out.mutable_data_ptr<float>(), shape, kind);
  } else {
    global_pool2d(src.const_data_ptr<double>(), out.mutable_data_ptr<double>(), shape, kind);
  }
  return out;
}

// The gate's weights as contiguous float32 tensors, and the core's view of them.
struct GateF32 {
  at::Tensor w1, b1, w2, b2;
  TfcGateWeights g;
};
GateF32 gate_f32(const at::Tensor& w1, const std::optional<at::Tensor>& b1, const at::Tensor& w2,
                 const std::optional<at::Tensor>& b2) {
  const auto as_gate = [](const at::Tensor& t) { return t.detach().to(at::kFloat).contiguous(); };
  GateF32 gate{as_gate(w1), b1 ? as_gate(*b1) : at::Tensor(), as_gate(w2), b2 ? as_gate(*b2) : at::Tensor(), {}};
  gate.g.channels = gate.w1.size(1);
  gate.g.hidden = gate.w1.size(0);
  gate.g.w1 = gate.w1.const_data_ptr<float>();
  gate.g.b1 = b1 ? gate.b1.const_data_ptr<float>() : nullptr;
  gate.g.w2 = gate.w2.const_data_ptr<float>();
  gate.g.b2 = b2 ? gate.b2.const_data_ptr<float>() : nullptr;
  return gate;
}

// sigmoid(w2 · relu(w1 · pooled + b1) + b2) per sample, in pooled's dtype
// (float32 for a 16-bit x: the gate's weights are tiny). float32 runs the
// core's gate, whose row-dot kernel streams each weight row once for several
// samples; ATen's GEMMs at one to eight rows took 0.12 ms for a 512-channel
// gate at batch 1 (one thread), some 20% of the whole op; the core 0.037 ms.
// float64 keeps them.
at::Tensor gate_scale(const at::Tensor& pooled, const at::Tensor& w1, const std::optional<at::Tensor>& b1,
                      const at::Tensor& w2, const std::optional<at::Tensor>& b2) {
  if (pooled.scalar_type() != at::kFloat) {
    const auto as_gate = [&](const at::Tensor& t) { return t.detach().to(pooled.scalar_type()).contiguous(); };
    at::Tensor hid = b1 ? at::addmm(as_gate(*b1), pooled, as_gate(w1).t()) : at::mm(pooled, as_gate(w1).t());
    hid.relu_();
    at::Tensor scale = b2 ? at::addmm(as_gate(*b2), hid, as_gate(w2).t()) : at::mm(hid, as_gate(w2).t());
    return scale.sigmoid_();
  }
  const GateF32 gate = gate_f32(w1, b1, w2, b2);
  at::Tensor scale = at::empty_like(pooled);
  tfc_gate(pooled.const_data_ptr<float>(), pooled.size(0), gate.g, scale.mutable_data_ptr<float>());
  return scale;
}

// Scaled input tile of the packed 1x1 path: about this many bytes, so that the
// tile and the GEMM's panels of it stay in L2.
constexpr int64_t kTileBytes = 256 * 1024;

// 1x1 conv as one batched GEMM with per-sample weights W * s_n:
// NCHW Y_n (C_out, HW) = (W * s_n) @ X_n; channels_last Y_n (HW, C_out) = X_n @ (W * s_n)^T.
at::Tensor pointwise_folded(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& w,
                            const std::optional<at::Tensor>& bias, bool nhwc) {
  const int64_t n = x.size(0), cin = x.size(1), cout = w.size(0), hw = x.size(2) * x.size(3);
  if (nhwc) {
    const at::Tensor w_t = (w.t().unsqueeze(0) * scale.unsqueeze(2)).to(x.scalar_type());  // (N, C_in, C_out)
    const at::Tensor x_rows = x.permute({0, 2, 3, 1}).reshape({n, hw, cin});
    at::Tensor out = at::empty({n, x.size(2), x.size(3), cout}, x.options());
    at::Tensor y = out.view({n, hw, cout});
    if (bias) {
      at::baddbmm_out(y, bias->view({1, 1, cout}).expand({n, hw, cout}), x_rows, w_t);
    } else {
      at::bmm_out(y, x_rows, w_t);
    }
    return out.permute({0, 3, 1, 2});
  }
  const at::Tensor w_n = (w.unsqueeze(0) * scale.unsqueeze(1)).to(x.scalar_type());  // (N, C_out, C_in)
  at::Tensor out = at::empty({n, cout, x.size(2), x.size(3)}, x.options());
  at::Tensor y = out.view({n, cout, hw});
  if (bias) {
    at::baddbmm_out(y, bias->view({1, cout, 1}).expand({n, cout, hw}), w_n, x.reshape({n, cin, hw}));
  } else {
    at::bmm_out(y, w_n, x.reshape({n, cin, hw}));
  }
  return out;
}

// A 1x1 conv with stride 1 and no padding: a GEMM per sample.
bool is_pointwise(const at::Tensor& weight, at::IntArrayRef stride, at::IntArrayRef padding) {
  return weight.size(2) == 1 && weight.size(3) == 1 && stride[0] == 1 && stride[1] == 1 && padding[0] == 0 &&
         padding[1] == 0;
}

// One float32 NCHW sample's 1x1 conv on the core's pointwise kernels: with its
// folded weights W * s_n where C_out <= H*W (weight rows against the
// sample's rows in place), else with W packed once, the sample's pixel tiles
// as the GEMM's rows, each tile scaled as the GEMM packs it.
class NchwPointwise {
 public:
  // w: contiguous (C_out, C_in); out: contiguous (N, C_out, H, W), kept by the caller.
  NchwPointwise(const at::Tensor& x, const at::Tensor& w, const float* bias, at::Tensor& out)
      : cin_(x.size(1)), cout_(w.size(0)), hw_(x.size(2) * x.size(3)), w_(w), bias_(bias),
        x_(x.const_data_ptr<float>()), y_(out.mutable_data_ptr<float>()) {
    if (!folds()) packed_ = pack_pointwise(w);
  }
  bool folds() const { return cout_ <= hw_; }
  // Not folding: sample i with its scale row (C_in).
  void packed_sample(int64_t i, const float* scale) const {
    PointwiseConvNchwPacked p;
    p.out_channels = cout_, p.in_channels = cin_, p.pixels = hw_;
    p.packed_weight = packed_.const_data_ptr<float>();
    p.bias = bias_;
    p.x = x_ + i * cin_ * hw_;
    p.scale = scale;
    p.y = y_ + i * cout_ * hw_;
    pointwise_conv_nchw_packed(p);
  }
  // Folding: W * scale into `folded` (C_out x C_in).
  void fold(const float* scale, float* folded) const {
    const float* w = w_.const_data_ptr<float>();
    for (int64_t o = 0; o < cout_; ++o) {
      for (int64_t k = 0; k < cin_; ++k) folded[o * cin_ + k] = w[o * cin_ + k] * scale[k];
    }
  }
  // Folding: sample i with its folded weights (C_out x C_in).
  void folded_sample(int64_t i, const float* folded) const {
    PointwiseConvNchw p;
    p.out_channels = cout_, p.in_channels = cin_, p.pixels = hw_;
    p.weight = folded, p.weight_stride = cin_;
    p.bias = bias_;
    p.sources = 1;
    p.source[0] = PointwiseSource{x_ + i * cin_ * hw_, 0, cin_};
    p.y = y_ + i * cout_ * hw_;
    pointwise_conv_nchw(p);
  }

 private:
  int64_t cin_, cout_, hw_;
  at::Tensor w_, packed_;
  const float* bias_;
  const float* x_;
  float* y_;
};

// float32 1x1 conv on the core's pointwise kernels, a sample at a time: with
// its folded weights W * s_n where those are the smaller (C_out <= H*W: large
// maps), else with W itself on the scaled sample x_n * s_n (deep layers on
// small maps: at 512 channels on 7x7 a sample is a tenth of its folded
// weights, which at batch 8 made 8 MB to write and read again: 985 us a call
// folded, 630-680 us scaled, two threads, same process).
at::Tensor pointwise_core(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& w,
                          const std::optional<at::Tensor>& bias, bool nhwc) {
  const int64_t n = x.size(0), cin = x.size(1), cout = w.size(0), hw = x.size(2) * x.size(3);
  const bool fold = cout <= hw;
  const at::Tensor b = bias ? bias->contiguous() : at::Tensor();
  const float* b_ptr = bias ? b.const_data_ptr<float>() : nullptr;
  // (N, C_out, C_in) folded weights, or W shared by every sample.
  const at::Tensor w_n = fold ? (w.unsqueeze(0) * scale.unsqueeze(1)).contiguous() : w.unsqueeze(0);
  // x, or x * scale in x's layout (NCHW without folding: x, whose tiles the
  // GEMM scales as it packs them).
  const at::Tensor xs = fold || !nhwc ? x
                                      : (x * scale.view({n, cin, 1, 1})).contiguous(at::MemoryFormat::ChannelsLast);
  const int64_t w_step = fold ? 1 : 0;
  const float* x_ptr = xs.const_data_ptr<float>();
  if (nhwc) {
    const at::Tensor packed = pack_pointwise(w_n);
    at::Tensor out = at::empty({n, cout, x.size(2), x.size(3)}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    float* y_ptr = out.mutable_data_ptr<float>();
    for_each_sample(n, [&](int64_t i) {
      PointwiseConvNhwc p;
      p.out_channels = cout, p.in_channels = cin, p.pixels = hw;
      p.packed_weight = packed.const_data_ptr<float>() + i * w_step * packed.stride(0);
      p.bias = b_ptr;
      p.sources = 1;
      p.source[0] = PointwiseSource{x_ptr + i * hw * cin, 0, cin};
      p.x_stride = cin;
      p.y = y_ptr + i * hw * cout, p.y_stride = cout;
      pointwise_conv_nhwc(p);
    });
    return out;
  }
  at::Tensor out = at::empty({n, cout, x.size(2), x.size(3)}, x.options());
  const NchwPointwise conv(x, w, b_ptr, out);
  if (!fold) {
    const at::Tensor scale_c = scale.contiguous();
    for_each_sample(n, [&](int64_t i) { conv.packed_sample(i, scale_c.const_data_ptr<float>() + i * cin); });
    return out;
  }
  for_each_sample(n, [&](int64_t i) { conv.folded_sample(i, w_n.const_data_ptr<float>() + i * cout * cin); });
  return out;
}

// TFC's float32 NCHW 1x1 conv with the batch split between the threads (at
// least as many samples as threads): each thread pools its samples, runs
// the gate on them (its weights read once a thread), then each sample's conv,
// which reads the sample from the cache the pool brought it into. Before,
// the pool read the whole batch, the gate ran on one thread, then the GEMMs
// read x again: TFC 1x1 256@14², batch 8, two threads, pool and gate 100-120
// us of about 0.9 ms (instrumented; docs/tfc.md, "Stop 33").
std::optional<std::tuple<at::Tensor, at::Tensor>> tfc_per_sample(
    const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias, const at::Tensor& w1,
    const std::optional<at::Tensor>& b1, const at::Tensor& w2, const std::optional<at::Tensor>& b2,
    at::IntArrayRef stride, at::IntArrayRef padding, PoolKind kind) {
  const int64_t n = x.size(0), cin = x.size(1), cout = weight.size(0), hw = x.size(2) * x.size(3);
  if (!is_pointwise(weight, stride, padding) || x.scalar_type() != at::kFloat || !x.is_contiguous() || is_channels_last(x) || n < 2 ||
      n < at::get_num_threads()) {
    return std::nullopt;
  }
  const GateF32 gate = gate_f32(w1, b1, w2, b2);
  const at::Tensor b = bias ? bias->contiguous() : at::Tensor();
  at::Tensor out = at::empty({n, cout, x.size(2), x.size(3)}, x.options());
  const NchwPointwise conv(x, weight.reshape({cout, cin}).contiguous(), bias ? b.const_data_ptr<float>() : nullptr,
                           out);
  at::Tensor pooled = at::empty({n, cin}, x.options()), scale = at::empty({n, cin}, x.options());
  const float* x_ptr = x.const_data_ptr<float>();
  float* pooled_ptr = pooled.mutable_data_ptr<float>();
  float* scale_ptr = scale.mutable_data_ptr<float>();
  const bool fold = conv.folds();
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    global_pool2d(x_ptr + begin * cin * hw, pooled_ptr + begin * cin, PoolShape{end - begin, cin, hw, false}, kind);
    tfc_gate(pooled_ptr + begin * cin, end - begin, gate.g, scale_ptr + begin * cin);
    // One sample's folded weights at a time, freed with the call.
    std::vector<float> folded(static_cast<size_t>(fold ? cout * cin : 0));
    for (int64_t i = begin; i < end; ++i) {
      if (fold) {
        conv.fold(scale_ptr + i * cin, folded.data());
        conv.folded_sample(i, folded.data());
      } else {
        conv.packed_sample(i, scale_ptr + i * cin);
      }
    }
  });
  return std::make_tuple(out, scale);
}

// Maps of at most this many positions take one wide GEMM over the batch.
constexpr int64_t kWideMaxPositions = 64;

// NCHW 1x1 conv of a batch of small maps as one GEMM: B (C_in, N*HW) holds
// every sample's x_n * s_n side by side, Y (C_out, N*HW) = W @ B, then Y is
// copied into y's (N, C_out, HW) order. MKL runs a 49-column GEMM per sample
// far below its wide-GEMM speed: batch 8, 512 channels at 7x7, one thread,
// CPU time 2.69 ms against 3.65 ms per sample (256 at 14x14, HW = 196: 2.90
// against 3.00 ms, so larger maps keep the per-sample tiles).
at::Tensor pointwise_wide(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& w,
                          const std::optional<at::Tensor>& bias) {
  const int64_t n = x.size(0), cin = x.size(1), cout = w.size(0), hw = x.size(2) * x.size(3);
  at::Tensor b = at::empty({cin, n, hw}, x.options());
  at::mul_out(b, x.reshape({n, cin, hw}).permute({1, 0, 2}), scale.t().unsqueeze(2));
  const at::Tensor b_cols = b.view({cin, n * hw});
  const at::Tensor y = bias ? at::addmm(bias->view({cout, 1}), w, b_cols) : at::mm(w, b_cols);
  at::Tensor out = at::empty({n, cout, x.size(2), x.size(3)}, x.options());
  out.view({n, cout, hw}).copy_(y.view({cout, n, hw}).permute({1, 0, 2}));
  return out;
}

// 1x1 conv with the shared W, the scale applied while packing each GEMM's
// input: a task scales a tile of one sample's positions into a small buffer
// that stays in cache, then one GEMM writes that tile (or a block of its
// output channels) of the output.
// A 16-bit x is converted into float32 tiles, and each GEMM writes a float32
// block that is rounded into y (w, scale and bias are float32 then).
at::Tensor pointwise_packed(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& w,
                            const std::optional<at::Tensor>& bias, bool nhwc) {
  const int64_t n = x.size(0), cin = x.size(1), cout = w.size(0), hw = x.size(2) * x.size(3);
  const bool convert = is_16bit(x.scalar_type());
  const auto compute = x.options().dtype(w.scalar_type());
  const int64_t cols = std::clamp<int64_t>(kTileBytes / (cin * w.element_size()), 16, hw);
  const int64_t tiles = (hw + cols - 1) / cols;
  // Samples as (C, HW) matrices (NCHW) or (HW, C) matrices (channels_last).
  const at::Tensor xs = nhwc ? x.permute({0, 2, 3, 1}).reshape({n, hw, cin}) : x.reshape({n, cin, hw});
  at::Tensor out = nhwc ? at::empty({n, x.size(2), x.size(3), cout}, x.options())
                        : at::empty({n, cout, x.size(2), x.size(3)}, x.options());
  const at::Tensor ys = nhwc ? out.view({n, hw, cout}) : out.view({n, cout, hw});
  const at::Tensor w_t = w.t();
  const int pos_dim = nhwc ? 0 : 1;  // the positions' dimension of a sample matrix
  // Fewer tiles than threads (batch 1): split the output channels as well.
  // Each task then scales its own copy of the tile, which is cheap next to
  // its GEMM; one thread on a 512x512 by 512x49 GEMM scales poorly to two
  // (batch 1, 512 channels at 7x7: 244 us unsplit, 223 us split in two).
  const int64_t threads = at::get_num_threads();
  const int64_t splits = n * tiles < threads ? (threads + n * tiles - 1) / (n * tiles) : 1;
  const int64_t block = std::min(cout, ((cout + splits - 1) / splits + 15) / 16 * 16);
  const int64_t blocks = (cout + block - 1) / block;
  // The tasks call ATen ops on torch's pool threads, which do not inherit the
  // caller's thread-local state: without it, under torch.inference_mode()
  // every GEMM into the (inference) output raised.
  const at::ThreadLocalState caller_state;
  at::parallel_for(0, n * tiles * blocks, 1, [&](int64_t begin, int64_t end) {
    const at::ThreadLocalStateGuard state_guard(caller_state);
    at::Tensor buf = nhwc ? at::empty({cols, cin}, compute) : at::empty({cin, cols}, compute);
    at::Tensor out_buf = convert ? at::empty({cols * block}, compute) : at::Tensor();
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o0 = (item % blocks) * block, ob = std::min(block, cout - o0);
      const int64_t t = item / blocks;
      const int64_t i = t / tiles, p0 = (t % tiles) * cols, len = std::min(cols, hw - p0);
      at::Tensor tile = buf.narrow(pos_dim, 0, len);
      const at::Tensor y_out = ys[i].narrow(pos_dim, p0, len).narrow(1 - pos_dim, o0, ob);
      at::Tensor y = convert ? out_buf.narrow(0, 0, len * ob).view(y_out.sizes()) : y_out;
      const at::Tensor s = nhwc ? scale[i].view({1, cin}) : scale[i].view({cin, 1});
      if (convert) {
        tile.copy_(xs[i].narrow(pos_dim, p0, len));
        tile.mul_(s);
      } else {
        at::mul_out(tile, xs[i].narrow(pos_dim, p0, len), s);
      }
      if (nhwc) {
        const at::Tensor wb = w_t.narrow(1, o0, ob);
        bias ? at::addmm_out(y, bias->narrow(0, o0, ob).view({1, ob}).expand({len, ob}), tile, wb) : at::mm_out(y, tile, wb);
      } else {
        const at::Tensor wb = w.narrow(0, o0, ob);
        bias ? at::addmm_out(y, bias->narrow(0, o0, ob).view({ob, 1}).expand({ob, len}), wb, tile) : at::mm_out(y, wb, tile);
      }
      if (convert) y_out.copy_(y);
    }
  });
  return nhwc ? out.permute({0, 3, 1, 2}) : out;
}

// The Winograd tile (0: none) of a float32 3x3 conv with stride 1: F(2x2,
// 3x3) or F(4x4, 3x3) (the core's conv2d_winograd_nhwc, as fused_conv2d with
// a Winograd-packed weight) where the core's rule says it pays
// (winograd_tile, the models' plans' rule).
int64_t winograd_tile_of(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                       std::array<int64_t, 2> out_size) {
  if (x.scalar_type() != at::kFloat || weight.size(2) != 3 || weight.size(3) != 3 || stride[0] != 1 ||
      stride[1] != 1) {
    return 0;
  }
  return winograd_tile(weight.size(1), weight.size(0), x.size(0), out_size[0], out_size[1]);
}

// conv2d(x * scale, weight, bias) by Winograd: the weight transformed and
// packed per call (pack_winograd), the scale applied in the input transform
// (it is linear), x read channels-last (an NCHW x through the core's transposes,
// and the output back). TFC 3x3 at 64@56²: see docs/tfc.md.
at::Tensor winograd_scaled_conv(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& weight,
                                const std::optional<at::Tensor>& bias, at::IntArrayRef padding,
                                std::array<int64_t, 2> out_size, at::MemoryFormat format, int64_t tile) {
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), w = x.size(3), cout = weight.size(0);
  const at::Tensor packed = pack_winograd(weight, tile);
  const at::Tensor x_cl = x.is_contiguous(at::MemoryFormat::ChannelsLast) ? x : channels_last_copy(x.contiguous());
  const at::Tensor scale_c = scale.contiguous();
  const at::Tensor bias_c = bias ? bias->contiguous() : at::Tensor();
  at::Tensor y = at::empty({n, cout, out_size[0], out_size[1]}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  Conv2dNhwc c;
  c.batch = n, c.height = h, c.width = w, c.in_channels = cin, c.out_channels = cout;
  c.kernel_h = 3, c.kernel_w = 3, c.stride = 1, c.pad_top = padding[0], c.pad_left = padding[1];
  c.x = x_cl.const_data_ptr<float>();
  c.packed_weight = packed.const_data_ptr<float>();
  c.bias = bias ? bias_c.const_data_ptr<float>() : nullptr;
  c.y = y.mutable_data_ptr<float>();
  c.channel_scale = scale_c.const_data_ptr<float>();
  c.winograd_tile = tile;
  conv2d_winograd_nhwc(c);
  if (format == at::MemoryFormat::ChannelsLast) return y;
  at::Tensor out = at::empty(y.sizes(), y.options());
  const int64_t ohw = out_size[0] * out_size[1];
  nchw_to_nhwc_f32(y.const_data_ptr<float>(), out.mutable_data_ptr<float>(), n, ohw, cout);  // (HW, C) -> (C, HW)
  return out;
}

// y = conv2d(x * scale, weight, bias) for a scale of shape (N, C_in), without writing x * scale.
at::Tensor scaled_conv(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& weight,
                       const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                       at::IntArrayRef padding, std::array<int64_t, 2> out_size) {
  const int64_t n = x.size(0), cin = x.size(1), cout = weight.size(0);
  const at::MemoryFormat format = output_format(x);
  const bool pointwise = is_pointwise(weight, stride, padding);
  const bool convert = is_16bit(x.scalar_type());
  const at::ScalarType compute = convert ? at::kFloat : x.scalar_type();
  if (pointwise) {
    const at::Tensor w = weight.reshape({cout, cin});
    const bool nhwc = format == at::MemoryFormat::ChannelsLast;
    const at::Tensor src = nhwc || x.is_contiguous() ? x : x.contiguous();
    if (convert) {
      return pointwise_packed(src, scale.to(compute), w.to(compute),
                              bias ? std::optional<at::Tensor>(bias->to(compute)) : std::nullopt, nhwc);
    }
    if (x.scalar_type() == at::kFloat) return pointwise_core(src, scale, w.contiguous(), bias, nhwc);
    // Folding writes N * C_out * C_in weights, packing N * C_in * HW inputs:
    // fold where the per-sample weights are the smaller (large maps), pack
    // where the samples are (deep layers on small maps). Measured, one thread,
    // fold / pack time: 0.84 at (64, 56x56), 0.89 at (128, 28x28), 0.98 at
    // (256, 14x14), 1.25 at (512, 7x7); at batch 8 0.77, 0.87, 1.03, 1.31.
    if (cout <= x.size(2) * x.size(3)) return pointwise_folded(src, scale, w, bias, nhwc);
    if (!nhwc && n > 1 && x.size(2) * x.size(3) <= kWideMaxPositions) return pointwise_wide(src, scale, w, bias);
    return pointwise_packed(src, scale, w, bias, nhwc);
  }
  if (const int64_t tile = winograd_tile_of(x, weight, stride, out_size)) {
    return winograd_scaled_conv(x, scale, weight, bias, padding, out_size, format, tile);
  }
  if (x.scalar_type() == at::kFloat && n > 1) {
    // A batch of float32 samples: x * scale written once, then one conv over
    // the batch. Per-sample folded weights cost a conv call (and a weight
    // reorder) per sample: batch 8, 64 channels at 56x56, 3x3, 6.7 ms
    // against SqueezeTime's chain's 5.5.
    return at::conv2d(x * scale.view({n, cin, 1, 1}), weight, bias, stride, padding).contiguous(format);
  }
  // (N, C_out, C_in, kH, kW); a 16-bit x is converted a sample at a time.
  const at::Tensor w_n = weight.to(compute).unsqueeze(0) * scale.to(compute).view({n, 1, cin, 1, 1});
  const std::optional<at::Tensor> b = bias && convert ? std::optional<at::Tensor>(bias->to(compute)) : bias;
  if (n == 1) return at::conv2d(x.to(compute), w_n[0], b, stride, padding).to(x.scalar_type()).contiguous(format);
  at::Tensor out = at::empty({n, cout, out_size[0], out_size[1]}, x.options().memory_format(format));
  for (int64_t i = 0; i < n; ++i) {
    out.narrow(0, i, 1).copy_(at::conv2d(x.narrow(0, i, 1).to(compute), w_n[i], b, stride, padding));
  }
  return out;
}

std::tuple<at::Tensor, at::Tensor> temporal_focus_conv2d_cpu(
    const at::Tensor& x_in, const at::Tensor& weight_in, const at::Tensor& fc1_weight,
    const std::optional<at::Tensor>& fc1_bias, const at::Tensor& fc2_weight,
    const std::optional<at::Tensor>& fc2_bias, const std::optional<at::Tensor>& bias_in,
    at::IntArrayRef stride, at::IntArrayRef padding, c10::string_view pool) {
  constexpr const char* op = "fastvfx.temporal_focus_conv2d";
  const auto out_size = check_conv_args(x_in, weight_in, bias_in, stride, padding, op);
  const PoolKind kind = parse_pool(pool, op);
  const int64_t cin = x_in.size(1);
  const auto [w1, w2] = check_gate_args(x_in, fc1_weight, fc1_bias, fc2_weight, fc2_bias, op);
  const at::Tensor x = x_in.detach(), weight = weight_in.detach();
  const auto bias = detached(bias_in);
  const int64_t n = x.size(0), cout = weight.size(0);
  if (n == 0 || cin == 0) return {empty_input_result(x, cout, bias, out_size), at::empty({n, cin}, x.options())};
  if (auto fused = tfc_per_sample(x, weight, bias, w1, fc1_bias, w2, fc2_bias, stride, padding, kind)) return *fused;
  const at::Tensor pooled = global_pool(x, kind);
  const at::Tensor scale = gate_scale(pooled, w1, fc1_bias, w2, fc2_bias);
  return {scaled_conv(x, scale, weight, bias, stride, padding, out_size), scale.to(x.scalar_type())};
}

at::Tensor channel_scaled_conv2d_cpu(const at::Tensor& x_in, const at::Tensor& scale_in,
                                     const at::Tensor& weight_in, const std::optional<at::Tensor>& bias_in,
                                     at::IntArrayRef stride, at::IntArrayRef padding) {
  constexpr const char* op = "fastvfx.channel_scaled_conv2d";
  const auto out_size = check_conv_args(x_in, weight_in, bias_in, stride, padding, op);
  const int64_t n = x_in.size(0), cin = x_in.size(1);
  const at::Tensor scale = check_scale_arg(x_in, scale_in, op);
  const at::Tensor x = x_in.detach(), weight = weight_in.detach();
  const auto bias = detached(bias_in);
  if (n == 0 || cin == 0) return empty_input_result(x, weight.size(0), bias, out_size);
  return scaled_conv(x, scale, weight, bias, stride, padding, out_size);
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) {
  m.impl("temporal_focus_conv2d", temporal_focus_conv2d_cpu);
  m.impl("channel_scaled_conv2d", channel_scaled_conv2d_cpu);
}

}  // namespace fastvfx::ops
