// CPU implementation of the fused inverted residual block: check every
// argument (nothing is written when one does not fit), lay x out
// channels-last, then one call into the core.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <string>
#include <string_view>

#include "../causal_dwconv3d_checks.h"
#include "fastvfx/inverted_residual.h"
#include "large_outputs.h"
#include "plan_calls.h"

namespace fastvfx::ops {
namespace {

constexpr const char* kIrOp = "fastvfx.inverted_residual";

ShiftOnRead parse_shift(std::string_view name, const char* op) {
  if (name == "none") return ShiftOnRead::kNone;
  if (name == "bidirectional") return ShiftOnRead::kBidirectional;
  if (name == "past") return ShiftOnRead::kPast;
  TORCH_CHECK(false, op, ": shift must be one of none, bidirectional, past; got '", name, "'");
}

void check_packed(const char* op, const char* name, const at::Tensor& t, at::IntArrayRef want) {
  TORCH_CHECK(t.device().is_cpu(), op, ": ", name, " must be a CPU tensor, got ", t.device());
  TORCH_CHECK(t.scalar_type() == at::kFloat, op, ": ", name, " must be float32, got ", t.scalar_type());
  TORCH_CHECK(t.sizes() == want, op, ": ", name, " must have the packed shape ", want, ", got ", t.sizes(),
              " (pack the weights with fastvfx.ops.inverted_residual.pack_weights)");
  TORCH_CHECK(t.is_contiguous(), op, ": ", name, " must be contiguous (as pack_weights makes it)");
}

struct Prepared {
  InvertedResidualShape shape;
  InvertedResidualWeights weights;
  at::Tensor x;  // channels_last contiguous
};

Prepared prepare(const char* op, const at::Tensor& x_in, const std::optional<at::Tensor>& expand_weight,
                 const std::optional<at::Tensor>& expand_bias, const at::Tensor& dw_weight, const at::Tensor& dw_bias,
                 const at::Tensor& project_weight, const at::Tensor& project_bias, int64_t hidden,
                 int64_t out_channels, int64_t kernel_size, int64_t stride, bool residual,
                 std::string_view expand_activation, std::string_view dw_activation) {
  TORCH_CHECK(x_in.dim() == 4, op, ": expected x of shape (N, C, H, W), got ", x_in.sizes());
  TORCH_CHECK(x_in.device().is_cpu(), op, ": x must be a CPU tensor, got ", x_in.device());
  TORCH_CHECK(x_in.scalar_type() == at::kFloat, op, ": supports float32 only, got ", x_in.scalar_type());
  TORCH_CHECK(kernel_size >= 1 && kernel_size % 2 == 1, op, ": kernel_size must be odd and positive, got ",
              kernel_size);
  TORCH_CHECK(stride >= 1 && stride <= 8, op, ": stride must be in [1, 8], got ", stride);
  const int64_t cin = x_in.size(1);
  const bool expand = expand_weight.has_value();
  TORCH_CHECK(expand == expand_bias.has_value(), op, ": expand_weight and expand_bias go together");
  TORCH_CHECK(expand || hidden == cin, op, ": without an expansion, hidden (", hidden,
              ") must equal the input channels (", cin, ")");
  TORCH_CHECK(hidden >= 1 && out_channels >= 1, op, ": hidden and out_channels must be positive");
  const int64_t hp = pointwise_padded(hidden), cp = pointwise_padded(out_channels);
  if (expand) {
    check_packed(op, "expand_weight", *expand_weight, {hp / kPointwisePanel, cin, kPointwisePanel});
    check_packed(op, "expand_bias", *expand_bias, {hp});
  }
  check_packed(op, "dw_weight", dw_weight, {kernel_size * kernel_size, hp});
  check_packed(op, "dw_bias", dw_bias, {hp});
  check_packed(op, "project_weight", project_weight, {cp / kPointwisePanel, hp, kPointwisePanel});
  check_packed(op, "project_bias", project_bias, {cp});
  if (residual) {
    TORCH_CHECK(stride == 1 && cin == out_channels, op, ": a residual needs stride 1 and as many output as input "
                "channels, got stride ", stride, ", ", cin, " -> ", out_channels);
  }
  Prepared p;
  InvertedResidualShape& s = p.shape;
  s.batch = x_in.size(0), s.height = x_in.size(2), s.width = x_in.size(3);
  s.in_channels = cin, s.hidden = hidden, s.out_channels = out_channels;
  s.kernel = kernel_size, s.stride = stride, s.expand = expand, s.residual = residual;
  InvertedResidualWeights& w = p.weights;
  w.expand_weight = expand ? expand_weight->const_data_ptr<float>() : nullptr;
  w.expand_bias = expand ? expand_bias->const_data_ptr<float>() : nullptr;
  w.dw_weight = dw_weight.const_data_ptr<float>();
  w.dw_bias = dw_bias.const_data_ptr<float>();
  w.project_weight = project_weight.const_data_ptr<float>();
  w.project_bias = project_bias.const_data_ptr<float>();
  w.expand_act = parse_activation(expand_activation, op);
  w.dw_act = parse_activation(dw_activation, op);
  p.x = x_in.contiguous(at::MemoryFormat::ChannelsLast);
  return p;
}

at::Tensor empty_output(const Prepared& p) {
  at::Tensor y = at::empty({p.shape.batch, p.shape.out_channels, p.shape.out_h(), p.shape.out_w()},
                           p.x.options().memory_format(at::MemoryFormat::ChannelsLast));
  prepare_large_output(y);
  return y;
}

}  // namespace

at::Tensor inverted_residual_cpu(const at::Tensor& x, const std::optional<at::Tensor>& expand_weight,
                                 const std::optional<at::Tensor>& expand_bias, const at::Tensor& dw_weight,
                                 const at::Tensor& dw_bias, const at::Tensor& project_weight,
                                 const at::Tensor& project_bias, int64_t hidden, int64_t out_channels,
                                 int64_t kernel_size, int64_t stride, bool residual,
                                 c10::string_view expand_activation, c10::string_view dw_activation,
                                 c10::string_view shift, int64_t n_segment, int64_t fold) {
  Prepared p = prepare(kIrOp, x, expand_weight, expand_bias, dw_weight, dw_bias, project_weight, project_bias,
                       hidden, out_channels, kernel_size, stride, residual, expand_activation, dw_activation);
  InvertedResidualShape& s = p.shape;
  s.shift = parse_shift(shift, kIrOp);
  if (s.shift != ShiftOnRead::kNone) {
    TORCH_CHECK(n_segment >= 1, kIrOp, ": n_segment must be positive, got ", n_segment);
    TORCH_CHECK(s.batch % n_segment == 0, kIrOp, ": the batch of frames (", s.batch,
                ") is not a multiple of n_segment=", n_segment);
    const int64_t shifted = s.shift == ShiftOnRead::kBidirectional ? 2 * fold : fold;
    TORCH_CHECK(fold >= 0 && shifted <= s.in_channels, kIrOp, ": fold=", fold, " shifts more channels than x has (",
                s.in_channels, ")");
    s.n_segment = n_segment;
    s.fold = fold;
  }
  at::Tensor y = empty_output(p);
  if (y.numel() == 0) return y;
  inverted_residual_forward(p.x.const_data_ptr<float>(), nullptr, y.mutable_data_ptr<float>(), s, p.weights);
  return y;
}

at::Tensor inverted_residual_step_cpu(const at::Tensor& x, at::Tensor& cache,
                                      const std::optional<at::Tensor>& expand_weight,
                                      const std::optional<at::Tensor>& expand_bias, const at::Tensor& dw_weight,
                                      const at::Tensor& dw_bias, const at::Tensor& project_weight,
                                      const at::Tensor& project_bias, int64_t hidden, int64_t out_channels,
                                      int64_t kernel_size, int64_t stride, bool residual,
                                      c10::string_view expand_activation, c10::string_view dw_activation) {
  constexpr const char* op = "fastvfx.inverted_residual_step";
  Prepared p = prepare(op, x, expand_weight, expand_bias, dw_weight, dw_bias, project_weight, project_bias, hidden,
                       out_channels, kernel_size, stride, residual, expand_activation, dw_activation);
  InvertedResidualShape& s = p.shape;
  TORCH_CHECK(cache.dim() == 4 && cache.size(0) == s.batch && cache.size(2) == s.height &&
                  cache.size(3) == s.width && cache.size(1) <= s.in_channels,
              op, ": cache must be (N, fold, H, W) with fold <= ", s.in_channels, " for x of shape ", x.sizes(),
              ", got ", cache.sizes());
  TORCH_CHECK(cache.scalar_type() == at::kFloat && cache.device().is_cpu(), op,
              ": cache must be a float32 CPU tensor, got ", cache.scalar_type(), " on ", cache.device());
  TORCH_CHECK(!cache.is_same(x) && !(cache.data_ptr() == x.data_ptr() && x.numel() > 0), op,
              ": cache and x must not share memory");
  s.shift = ShiftOnRead::kCache;
  s.fold = cache.size(1);
  at::Tensor y = empty_output(p);
  if (y.numel() == 0) return y;
  const bool in_place = cache.is_contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor work = in_place ? cache : cache.contiguous(at::MemoryFormat::ChannelsLast);
  inverted_residual_forward(p.x.const_data_ptr<float>(), work.mutable_data_ptr<float>(), y.mutable_data_ptr<float>(),
                            s, p.weights);
  if (!in_place) cache.copy_(work);
  return y;
}

TORCH_LIBRARY_IMPL(fastvfx, CPU, m) {
  m.impl("inverted_residual", &inverted_residual_cpu);
  m.impl("inverted_residual_step", &inverted_residual_step_cpu);
}

}  // namespace fastvfx::ops
