// shift_conv1x1 = conv2d(temporal_shift(x), weight, bias) for a 1x1 conv,
// without ever writing the shifted tensor. float32 runs on the core's
// pointwise kernels, a frame at a time: the shifted channel ranges are
// sources read from the neighbouring frames (zeros past the clip are not
// read at all), the bias applied in the tiles. Other dtypes: each task
// gathers the shifted values of one tile of one frame into a small buffer
// that stays in cache (the core's temporal_shift_gather_tile, the shift
// applied "on read"), then one GEMM (at::mm, torch's BLAS) writes that tile
// of the output.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <torch/library.h>

#include <algorithm>

#include "../temporal_shift_checks.h"
#include "fastvfx/pointwise_conv.h"
#include "large_outputs.h"
#include "pointwise.h"

namespace fastvfx::ops {
namespace {

// The input channels of frame f (of a clip of n_segment) as the shifted
// conv reads them: up to three sources (TSM's shift; null: zeros).
int shift_sources(const float* frame0, int64_t frame_numel, int64_t f, int64_t n_segment, int64_t cin, int64_t fold,
                  ShiftMode mode, PointwiseSource* out) {
  const int64_t t = f % n_segment;
  const float* at = frame0 + f * frame_numel;
  fold = std::min(fold, cin);
  if (mode == ShiftMode::kBidirectional) {
    const int64_t two = std::min(2 * fold, cin);
    out[0] = {t + 1 < n_segment ? at + frame_numel : nullptr, 0, fold};
    out[1] = {t > 0 ? at - frame_numel : nullptr, fold, two};
    out[2] = {at, two, cin};
    return 3;
  }
  out[0] = {t > 0 ? at - frame_numel : nullptr, 0, fold};
  out[1] = {at, fold, cin};
  return 2;
}

// float32 on the core's pointwise kernels, a frame at a time.
void shift_conv1x1_core(const at::Tensor& src, const at::Tensor& w2, const std::optional<at::Tensor>& bias,
                        int64_t n_segment, int64_t fold, ShiftMode mode, bool nhwc, at::Tensor& out) {
  const int64_t frames = src.size(0), cin = src.size(1), cout = w2.size(0), hw = src.size(2) * src.size(3);
  const at::Tensor b = bias ? bias->contiguous() : at::Tensor();
  const at::Tensor packed = nhwc ? pack_pointwise(w2) : at::Tensor();
  const float* x_ptr = src.const_data_ptr<float>();
  float* y_ptr = out.mutable_data_ptr<float>();
  for_each_sample(frames, [&](int64_t f) {
    PointwiseSource sources[3];
    const int count = shift_sources(x_ptr, cin * hw, f, n_segment, cin, fold, mode, sources);
    if (nhwc) {
      PointwiseConvNhwc p;
      p.out_channels = cout, p.in_channels = cin, p.pixels = hw;
      p.packed_weight = packed.const_data_ptr<float>();
      p.bias = bias ? b.const_data_ptr<float>() : nullptr;
      p.sources = count;
      std::copy(sources, sources + count, p.source);
      p.x_stride = cin;
      p.y = y_ptr + f * hw * cout, p.y_stride = cout;
      pointwise_conv_nhwc(p);
    } else {
      PointwiseConvNchw p;
      p.out_channels = cout, p.in_channels = cin, p.pixels = hw;
      p.weight = w2.const_data_ptr<float>(), p.weight_stride = cin;
      p.bias = bias ? b.const_data_ptr<float>() : nullptr;
      p.sources = count;
      std::copy(sources, sources + count, p.source);
      p.y = y_ptr + f * cout * hw;
      pointwise_conv_nchw(p);
    }
  });
}

// Gathered tile: about this many bytes of shifted input per GEMM, so the
// buffer and the GEMM's panel of it stay in L2.
constexpr int64_t kTileBytes = 256 * 1024;

at::Tensor shift_conv1x1_cpu(const at::Tensor& x, const at::Tensor& weight,
                             const std::optional<at::Tensor>& bias, int64_t n_segment,
                             int64_t fold_div, c10::string_view mode) {
  constexpr const char* op = "fastvfx.shift_conv1x1";
  check_shift_args(x, n_segment, fold_div, op);
  const ShiftMode m = parse_shift_mode(mode, op);
  check_shift_conv1x1_args(x, weight, bias, op);
  const int64_t cin = x.size(1), cout = weight.size(0);

  const auto layout = layout_of(x);
  const at::Tensor src = layout ? x : x.contiguous();
  const FrameLayout lay = layout.value_or(FrameLayout::kNCHW);
  const int64_t frames = x.size(0), h = x.size(2), w = x.size(3), hw = h * w;
  at::Tensor out = at::empty({frames, cout, h, w}, x.options(), memory_format_of(lay));
  if (out.numel() == 0) return out;
  prepare_large_output(out);
  if (cin == 0) return bias ? out.copy_(bias->detach().view({1, cout, 1, 1}).expand_as(out)) : out.zero_();

  // Detached: this kernel runs below autograd (the op's backward is
  // registered in Python), and the out= GEMMs reject inputs requiring grad.
  const at::Tensor w2 = weight.detach().reshape({cout, cin}).contiguous();
  const std::optional<at::Tensor> b = bias ? std::optional<at::Tensor>(bias->detach()) : std::nullopt;
  if (x.scalar_type() == at::kFloat) {
    shift_conv1x1_core(src, w2, b, n_segment, cin / fold_div, m, lay == FrameLayout::kNHWC, out);
    return out;
  }
  const at::Tensor w2t = w2.t();
  const ShiftShape shape = shift_shape(src, n_segment, cin / fold_div, lay);
  const ShiftPlan plan = make_shift_plan(shape, m, false);
  const int64_t es = shape.elem_size;
  // Tile = `cols` positions of one frame: inner positions (NCHW) or rows (NHWC).
  const int64_t cols = std::clamp<int64_t>(kTileBytes / std::max<int64_t>(1, cin * es), 16, hw);
  const int64_t tiles_per_frame = (hw + cols - 1) / cols;
  const void* x_ptr = src.const_data_ptr();

  // The tasks call ATen ops on torch's pool threads, which do not inherit the
  // caller's thread-local state: without it, under torch.inference_mode()
  // every GEMM into the (inference) output raised.
  const at::ThreadLocalState caller_state;
  at::parallel_for(0, frames * tiles_per_frame, 1, [&](int64_t begin, int64_t end) {
    const at::ThreadLocalStateGuard state_guard(caller_state);
    at::Tensor buf = at::empty({lay == FrameLayout::kNHWC ? cols : cin,
                                lay == FrameLayout::kNHWC ? cin : cols},
                               x.options());
    for (int64_t item = begin; item < end; ++item) {
      const int64_t f = item / tiles_per_frame;
      const int64_t p0 = (item % tiles_per_frame) * cols;
      const int64_t n = std::min(cols, hw - p0);
      if (lay == FrameLayout::kNCHW) {
        // buf[:, :n] = shifted x[f, :, p0:p0+n]; out[f, :, p0:p0+n] = W @ buf.
        at::Tensor tile = buf.narrow(1, 0, n);
        temporal_shift_gather_tile(x_ptr, shape, plan, f, 0, 1, p0, p0 + n, tile.mutable_data_ptr(), 0,
                                   cols * es);
        at::Tensor y = out[f].view({cout, hw}).narrow(1, p0, n);
        if (b) {
          at::addmm_out(y, b->view({cout, 1}).expand({cout, n}), w2, tile);
        } else {
          at::mm_out(y, w2, tile);
        }
      } else {
        // buf[:n] = shifted pixels [p0, p0+n) of frame f; out rows = buf @ W^T.
        at::Tensor tile = buf.narrow(0, 0, n);
        temporal_shift_gather_tile(x_ptr, shape, plan, f, p0, p0 + n, 0, 1, tile.mutable_data_ptr(),
                                   cin * es, es);
        at::Tensor y = at::from_blob(static_cast<char*>(out.mutable_data_ptr()) +
                                         (f * hw + p0) * cout * es,
                                     {n, cout}, x.options());
        if (b) {
          at::addmm_out(y, b->view({1, cout}).expand({n, cout}), tile, w2t);
        } else {
          at::mm_out(y, tile, w2t);
        }
      }
    }
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) { m.impl("shift_conv1x1", shift_conv1x1_cpu); }

}  // namespace fastvfx::ops
