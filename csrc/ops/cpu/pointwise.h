// What the CPU bindings of the convs on the core's pointwise kernels (TFC,
// shift_conv1x1, the MoViNet block step, the Winograd packing of
// fused_conv2d, module.cpp's inference glue) share
// (fastvfx/pointwise_conv.h): the channels-last weight packing, its Winograd
// form, the channels-last copy of an input and a loop over samples.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "fastvfx/inverted_residual.h"
#include "fastvfx/layout.h"
#include "fastvfx/pointwise_conv.h"

namespace fastvfx::ops {

// weight (..., Cout, Cin) float32 -> (..., ceil(Cout / 32), Cin, 32): the
// panels pointwise_conv_nhwc reads (pack_pointwise_weights' layout).
// A contiguous weight whose Cout fills its panels is one blocked transpose of
// (panels, 32, Cin) rows (the core's, fastvfx/layout.h): at 512x512, one
// thread, 26 us against 130 us through ATen's strided copy.
inline at::Tensor pack_pointwise(const at::Tensor& weight) {
  const int64_t cout = weight.size(-2), cin = weight.size(-1);
  const int64_t padded = pointwise_padded(cout);
  if (padded == cout && weight.is_contiguous() && weight.scalar_type() == at::kFloat) {
    std::vector<int64_t> shape(weight.sizes().begin(), weight.sizes().end() - 2);
    shape.insert(shape.end(), {padded / kPointwisePanel, cin, kPointwisePanel});
    at::Tensor packed = at::empty(shape, weight.options());
    nchw_to_nhwc_f32(weight.const_data_ptr<float>(), packed.mutable_data_ptr<float>(),
                     weight.numel() / (kPointwisePanel * std::max<int64_t>(cin, 1)), kPointwisePanel, cin);
    return packed;
  }
  at::Tensor w = weight;
  if (padded != cout) {
    std::vector<int64_t> pad(static_cast<size_t>(2 * weight.dim()), 0);
    pad[3] = padded - cout;  // (last dim: 0, 0), (Cout: 0, padded - cout)
    w = at::constant_pad_nd(weight, pad);
  }
  std::vector<int64_t> shape(weight.sizes().begin(), weight.sizes().end() - 2);
  shape.insert(shape.end(), {padded / kPointwisePanel, kPointwisePanel, cin});
  return w.reshape(shape).transpose(-1, -2).contiguous();
}

// weight (Cout, Cin, 3, 3) float32 transformed for Winograd F(tile x tile,
// 3x3), tile 2 or 4 (the core's winograd_weight_3x3) and packed:
// (ceil(Cout / 32), 16 or 36, Cin, 32), 4-D so that fused_conv2d tells it
// from a direct packing.
inline at::Tensor pack_winograd(const at::Tensor& weight, int64_t tile) {
  const at::Tensor w = weight.detach().contiguous();
  const int64_t cout = w.size(0), cin = w.size(1), planes = winograd_planes(tile);
  at::Tensor u = at::empty({cout, planes * cin}, w.options());
  winograd_weight_3x3(w.const_data_ptr<float>(), cout, cin, u.mutable_data_ptr<float>(), tile);
  return pack_pointwise(u).view({-1, planes, cin, kPointwisePanel});
}

// x in channels_last: a float32 CPU NCHW-contiguous 4-D tensor through the
// core's blocked transposes, anything else as torch's contiguous() does.
inline at::Tensor channels_last_copy(const at::Tensor& x) {
  if (x.dim() != 4 || x.scalar_type() != at::kFloat || !x.device().is_cpu() || !x.is_contiguous() ||
      x.is_contiguous(at::MemoryFormat::ChannelsLast) || x.requires_grad()) {
    return x.contiguous(at::MemoryFormat::ChannelsLast);
  }
  at::Tensor y = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::ChannelsLast));
  nchw_to_nhwc_f32(x.const_data_ptr<float>(), y.mutable_data_ptr<float>(), x.size(0), x.size(1),
                   x.size(2) * x.size(3));
  return y;
}

// fn(i) for each of n samples: samples in parallel when there are enough of
// them (each fn then runs its kernels on its own thread), else one after the
// other, each kernel splitting its tiles between the threads.
template <class Fn>
void for_each_sample(int64_t n, const Fn& fn) {
  if (n >= at::get_num_threads() && n > 1) {
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) fn(i);
    });
  } else {
    for (int64_t i = 0; i < n; ++i) fn(i);
  }
}

}  // namespace fastvfx::ops
