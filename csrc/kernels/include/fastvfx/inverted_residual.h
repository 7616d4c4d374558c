// MobileNetV2's inverted residual block as one kernel, on channels-last
// frames (TSM's MobileNetV2 blocks, with the temporal shift done on read):
//
//   h = act(expand(x))                 1x1 conv Cin -> hidden, bias (optional: none when
//                                      the block has no expansion, then h = x)
//   d = dw_act(depthwise_k(h))         k x k depthwise, stride 1 or 2, symmetric padding k/2
//   y = project(d) (+ x)               1x1 conv hidden -> Cout, bias, the residual optional
//
// The expanded tensor is never written whole: each thread expands the input
// rows a band of output rows needs into a small ring of padded rows (kept in
// cache), runs the depthwise conv over them, and projects the band, with the
// bias, activation and residual fused into the GEMM tiles. Nothing is
// allocated per call beyond reused per-thread scratch.
//
// Layouts (float32): x (N, H, W, Cin), y (N, OH, OW, Cout), OH = ceil(H /
// stride) (k odd). Weights are prepared once (pack_pointwise_weights):
//   expand_weight   (ceil(hidden / 32), Cin, 32): panels of 32 output channels,
//                   zero past hidden; expand_bias (round_up(hidden, 32))
//   dw_weight       (k * k, round_up(hidden, 32)), tap-major; dw_bias likewise
//   project_weight  (ceil(Cout / 32), round_up(hidden, 32), 32); project_bias
//                   (round_up(Cout, 32))
// Padded entries must be zero. The layout does not depend on the ISA.
//
// Temporal shift on read (TSM): the expansion (or, without one, the
// depthwise conv) reads channel c of pixel p from another frame, per TSM:
//   kBidirectional: frames are clips of n_segment; channels [0, fold) from
//                   frame t + 1, [fold, 2 fold) from t - 1 (zeros past the clip)
//   kPast:          channels [0, fold) from frame t - 1 (zeros at t = 0)
//   kCache:         channels [0, fold) from `cache` (N, H, W, fold), the
//                   previous frame's (online TSM); afterwards the cache holds
//                   this frame's channels [0, fold).
// The residual is the unshifted x, as in TSM.
#pragma once

#include <cstdint>

#include "fastvfx/causal_dwconv3d.h"  // Activation

namespace fastvfx {

constexpr int64_t kPointwisePanel = 32;

enum class ShiftOnRead : int { kNone = 0, kBidirectional = 1, kPast = 2, kCache = 3 };

struct InvertedResidualShape {
  int64_t batch = 1, height = 1, width = 1;
  int64_t in_channels = 1, hidden = 1, out_channels = 1;
  int64_t kernel = 3, stride = 1;
  bool expand = true;     // false: hidden == in_channels, the depthwise conv reads x
  bool residual = false;  // y += x (stride 1, in_channels == out_channels)
  ShiftOnRead shift = ShiftOnRead::kNone;
  int64_t n_segment = 1;  // kBidirectional, kPast: frames per clip
  int64_t fold = 0;       // shifted channels per direction

  // Odd kernel, padding kernel / 2 on each side.
  int64_t out_h() const { return height > 0 ? (height - 1) / stride + 1 : 0; }
  int64_t out_w() const { return width > 0 ? (width - 1) / stride + 1 : 0; }
};

struct InvertedResidualWeights {
  const float* expand_weight = nullptr;  // null when !shape.expand
  const float* expand_bias = nullptr;
  const float* dw_weight = nullptr;
  const float* dw_bias = nullptr;
  const float* project_weight = nullptr;
  const float* project_bias = nullptr;
  Activation expand_act = Activation::kReLU6;
  Activation dw_act = Activation::kReLU6;
};

inline int64_t pointwise_padded(int64_t channels) {
  return (channels + kPointwisePanel - 1) / kPointwisePanel * kPointwisePanel;
}

// w (out, in) row-major -> (ceil(out / 32), in_padded, 32) panels, zeros past
// out and past in (in_padded >= in: the K rows the GEMM reads).
void pack_pointwise_weights(const float* w, int64_t out, int64_t in, int64_t in_padded, float* packed);

// cache: kCache only, (N, H, W, fold), read, then overwritten with x's
// channels [0, fold). x and y must not overlap.
void inverted_residual_forward(const float* x, float* cache, float* y, const InvertedResidualShape& shape,
                               const InvertedResidualWeights& weights);

}  // namespace fastvfx
