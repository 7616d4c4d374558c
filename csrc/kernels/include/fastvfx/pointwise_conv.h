// 1x1 convolutions (GEMMs over pixels) on the pointwise microkernels: the
// bias, the activation and a residual applied before the only store, inputs
// read in place (no packing per call, but the weights in channels-last), and
// TSM's temporal shift on read (channel ranges of the input from other
// frames). float32.
#pragma once

#include <cstdint>

#include "fastvfx/causal_dwconv3d.h"  // Activation
#include "fastvfx/inverted_residual.h"  // pack_pointwise_weights, kPointwisePanel

namespace fastvfx {

// How a residual tensor r (the output's shape) joins the conv c:
// kAddAfter act(c) + r, kAddFirst act(c + r), kMultiply act(c) * r.
enum class ResidualOp : int { kAddAfter = 0, kAddFirst = 1, kMultiply = 2 };

// Input channels [k_begin, k_end) come from x (null: zeros).
struct PointwiseSource {
  const float* x = nullptr;
  int64_t k_begin = 0, k_end = 0;
};

// Channels-first, one sample: y (Cout, P) = act(W (Cout, Cin) x (Cin, P) +
// bias) (+ residual). Input channel k of a source lives at x + k * pixels.
struct PointwiseConvNchw {
  int64_t out_channels = 0, in_channels = 0, pixels = 0;
  const float* weight = nullptr;  // row o at weight + o * weight_stride
  int64_t weight_stride = 0;
  const float* bias = nullptr;    // (Cout) or null
  int sources = 0;
  PointwiseSource source[3];
  float* y = nullptr;             // (Cout, P)
  const float* residual = nullptr;  // (Cout, P) or null; may be y (accumulate)
  Activation act = Activation::kNone;
  ResidualOp residual_op = ResidualOp::kAddAfter;
};
void pointwise_conv_nchw(const PointwiseConvNchw& p);

// Channels-first with the pixels as the GEMM's rows and the packed weights as
// its columns (the channels-last tiling on a channels-first map, each output
// tile written transposed): every vector lane computes a wanted output
// whatever the pixel count, where pointwise_conv_nchw's vectors of pixels
// leave the last one part idle (a 7x7 map: 64 columns for 49 pixels, 77%).
// For small maps whose weights are packed once; the input's pixel tiles are
// packed (and scaled) per call, in the calling thread's scratch.
struct PointwiseConvNchwPacked {
  int64_t out_channels = 0, in_channels = 0, pixels = 0;
  const float* packed_weight = nullptr;  // pack_pointwise_weights(W, Cout, Cin, Cin, ...)
  const float* bias = nullptr;           // (Cout) or null
  const float* x = nullptr;              // (Cin, P)
  const float* scale = nullptr;          // (Cin) or null: x's channel k times scale[k] (TFC's gate)
  float* y = nullptr;                    // (Cout, P)
  Activation act = Activation::kNone;
};
void pointwise_conv_nchw_packed(const PointwiseConvNchwPacked& p);

// Channels-last: pixel q's input channel k at source.x + q * x_stride + k,
// its outputs at y + q * y_stride (and the residual's likewise).
struct PointwiseConvNhwc {
  int64_t out_channels = 0, in_channels = 0, pixels = 0;
  const float* packed_weight = nullptr;  // pack_pointwise_weights(W, Cout, Cin, Cin, ...)
  const float* bias = nullptr;           // (Cout) or null
  int sources = 0;
  PointwiseSource source[3];
  int64_t x_stride = 0;
  float* y = nullptr;
  int64_t y_stride = 0;
  const float* residual = nullptr;  // or null; may be y
  int64_t residual_stride = 0;
  Activation act = Activation::kNone;
  ResidualOp residual_op = ResidualOp::kAddAfter;
};
void pointwise_conv_nhwc(const PointwiseConvNhwc& p);

// A k x k convolution (groups 1) on channels-last frames, as a GEMM over
// output pixels whose rows read the input in place: each kernel row is one
// run of kw * Cin contiguous floats of a zero-padded copy of the input (made
// per call, from NHWC or, for a network's stem, NCHW x). The bias, activation
// and residual join in the tiles as in pointwise_conv_nhwc.
struct Conv2dNhwc {
  int64_t batch = 0, height = 0, width = 0, in_channels = 0, out_channels = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride = 1;
  int64_t pad_top = 0, pad_left = 0;  // and as many behind as the output needs
  bool nchw_input = false;            // x (N, Cin, H, W) instead of (N, H, W, Cin)
  const float* x = nullptr;
  // pack_pointwise_weights of W laid out (Cout, kh, kw, Cin), K = kh * kw * Cin.
  const float* packed_weight = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;                 // (N, OH, OW, Cout)
  const float* residual = nullptr;    // like y, or null; may be y (written over)
  Activation act = Activation::kNone;
  ResidualOp residual_op = ResidualOp::kAddAfter;
  // (N, Cin) or null: image n's input channel c scaled by channel_scale[n *
  // Cin + c] (SqueezeTime's TFC, conv2d(x * scale)); conv2d_winograd_nhwc only.
  const float* channel_scale = nullptr;
  // conv2d_winograd_nhwc: the output tile, 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)).
  int64_t winograd_tile = 2;

  int64_t out_h() const;
  int64_t out_w() const;
};
// kernel_h <= 8 (kMaxConvKernelRows).
constexpr int64_t kMaxConvKernelRows = 8;
void conv2d_nhwc(const Conv2dNhwc& p);

// The same conv for a 3x3 kernel with stride 1 (any padding) by Winograd
// F(m x m, 3x3), m = winograd_tile (2 or 4): each m x m output tile from the
// (m + 2)^2 input pixels around it, (m + 2)^2 multiply-adds a tile, channel
// and output channel where the direct conv does 9 m^2 (2.25x fewer for m = 2,
// 4x for m = 4), its GEMMs on the same tiles. packed_weight:
// pack_pointwise_weights of U (Cout, (m + 2)^2 * Cin) (winograd_weight_3x3),
// U[o][xi * Cin + c] = (G w[o][c] G^T)[xi] (xi = (m + 2) * row + column).
// F(2x2) on the points 0, 1, -1 (G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2;
// 0 0 1]), F(4x4) on 0, 1, -1, 1/2, -2. x channels-last (nchw_input false);
// the residual may be y (written over); y must not overlap x. The result
// differs from the direct conv's by rounding (the transforms add and scale
// inputs before the products): about 1e-6 of the output's scale for F(2x2),
// some 3e-6 for F(4x4) at a few hundred input channels.
void conv2d_winograd_nhwc(const Conv2dNhwc& p);
// The Winograd tile that makes a 3x3 stride-1 conv of these channels and
// output size fastest on this library's kernels: 4 (F(4x4, 3x3)), 2 (F(2x2,
// 3x3)) or 0 (the direct conv). The rule the models' plans and the TFC op
// share (measurements: winograd_conv.cpp).
int64_t winograd_tile(int64_t in_channels, int64_t out_channels, int64_t batch, int64_t out_h, int64_t out_w);
// (tile + 2)^2: the planes of a Winograd tile's transforms (16 or 36).
int64_t winograd_planes(int64_t tile);
// U for conv2d_winograd_nhwc, before packing: w (Cout, Cin, 3, 3) to u
// (Cout, winograd_planes(tile) * Cin), u[o][xi * Cin + c] = (G w[o][c] G^T)[xi],
// computed in double and rounded once.
void winograd_weight_3x3(const float* w, int64_t cout, int64_t cin, float* u, int64_t tile);

}  // namespace fastvfx
