// Causal depthwise 3-D convolution (MoViNets) on raw memory, with a stream
// buffer for frame-by-frame inference.
//
// x: (N, C, T, H, W) contiguous, weight: (C, kT, kH, kW), bias: (C) or null,
// y: (N, C, T, OH, OW). Causal in time: kT-1 zero frames in front, temporal
// stride 1. Spatial stride sh, sw (1 to 8); the input is padded by pad_top / pad_left
// zeros in front (and as many as needed behind: TensorFlow's "same" puts the
// odd extra pixel at the bottom / right, PyTorch's symmetric padding may leave
// trailing input unused). An optional activation is fused after the bias.
//
// Streaming: `history` is a ring of the last kT-1 input frames of every
// (n, c) plane, laid out (N, C, kT-1, H, W); absolute input frame a lives in
// slot a mod (kT-1). `position` is the number of frames already consumed. A
// step reads earlier frames from the ring and new ones from x directly, then
// overwrites the oldest slots with the newest frames. Zeros in the ring at
// position 0 are the start of a video.
#pragma once

#include <cstdint>

namespace fastvfx {

// Activations fused after the bias. The depthwise ops expose the first five
// (kSigmoid: the 1x1 / k x k conv kernels, SqueezeTime's IOI gate).
enum class Activation : int { kNone = 0, kReLU = 1, kReLU6 = 2, kHardswish = 3, kSwish = 4, kSigmoid = 5 };

struct DwConv3dShape {
  int64_t batch = 1, channels = 1;
  int64_t in_h = 1, in_w = 1;
  int64_t out_h = 1, out_w = 1;
  int64_t kt = 1, kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

// TensorFlow "same": out = ceil(in / stride); the total padding is split with
// the extra pixel at the end.
void same_padding(int64_t in, int64_t kernel, int64_t stride, int64_t* out, int64_t* pad_front);
// PyTorch symmetric padding: out = floor((in + 2 pad - kernel) / stride) + 1.
int64_t symmetric_output(int64_t in, int64_t kernel, int64_t stride, int64_t pad);

// Whether causal_dwconv3d_forward runs this layer on the channel-lane engine
// (see causal_dwconv3d_channels_last_forward; (N, C, T, H, W) frames are
// transposed whole, in and out): small planes. Its padded cache holds the
// history frames channels-last instead, so a step transposes only its new
// frames.
bool causal_dwconv3d_uses_channel_lanes(const DwConv3dShape& shape);

// Elements of one padded history frame in the optional stream cache (see
// below), for this shape and element size (4 or 8).
int64_t causal_dwconv3d_padded_numel(const DwConv3dShape& shape, int64_t elem_size);

// y for t new frames. history may be null (a full clip from the start of a
// video; kT-1 zero frames in front); otherwise it is read and then updated.
// padded, optional (null), caches the history frames in the kernel's padded
// layout, (N*C, kT-1, causal_dwconv3d_padded_numel) zeros at the start of a
// video, and is updated with history: past frames are then not re-padded at
// every step. It must always be passed with the same history.
void causal_dwconv3d_forward(const float* x, int64_t t, float* history, float* padded,
                             int64_t position, const float* weight, const float* bias, float* y,
                             const DwConv3dShape& shape, Activation act);
void causal_dwconv3d_forward(const double* x, int64_t t, double* history, double* padded,
                             int64_t position, const double* weight, const double* bias, double* y,
                             const DwConv3dShape& shape, Activation act);

// The full clip on channels-last data: x (N, T, H, W, C), y (N, T, OH, OW, C),
// weight and bias as above. A vector of channels per accumulator, so every
// lane is busy however small or strided the planes are (where the kernels
// above, one plane at a time, leave lanes idle on short rows).
void causal_dwconv3d_channels_last_forward(const float* x, int64_t t, const float* weight,
                                           const float* bias, float* y, const DwConv3dShape& shape,
                                           Activation act);
void causal_dwconv3d_channels_last_forward(const double* x, int64_t t, const double* weight,
                                           const double* bias, double* y, const DwConv3dShape& shape,
                                           Activation act);

// Gradients of the full-clip op without activation, given dy (N, C, T, OH, OW).
// Each output pointer may be null when that gradient is not wanted; dweight is
// (C, kT, kH, kW) and dbias (C), both overwritten.
void causal_dwconv3d_backward(const float* x, const float* dy, int64_t t, const float* weight,
                              float* dx, float* dweight, float* dbias, const DwConv3dShape& shape);
void causal_dwconv3d_backward(const double* x, const double* dy, int64_t t, const double* weight,
                              double* dx, double* dweight, double* dbias,
                              const DwConv3dShape& shape);

}  // namespace fastvfx
