// The C API (include/fastvfx/fastvfx.h) over the C++ core: argument checks
// that return statuses, and the streaming Conv3D state.
#include "fastvfx/fastvfx.h"

#include <algorithm>
#include <new>
#include <vector>

#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "fastvfx/temporal_shift.h"
#include "fastvfx/tfc.h"
#include "fastvfx/version.h"

struct fvx_dwconv3d {
  fastvfx::DwConv3dShape shape;
  fastvfx::Activation act;
  std::vector<float> weight, bias, history, padded;
  int64_t position = 0;
};

struct fvx_tfc {
  fastvfx::ScaledConvShape conv;  // n_batch, in_h, in_w set per call
  int64_t hidden = 0;
  fastvfx::PoolKind pool = fastvfx::PoolKind::kAvg;
  std::vector<float> conv_weight, conv_bias, fc1_weight, fc1_bias, fc2_weight, fc2_bias;
  std::vector<float> pooled, scale;  // scratch, grown to the largest batch seen
};

namespace {

bool positive(std::initializer_list<int64_t> sizes) {
  return std::all_of(sizes.begin(), sizes.end(), [](int64_t v) { return v > 0; });
}

// The conv of a TFC object on n inputs of height x width; FVX_ERR_SIZE when
// a size is not positive or the kernel does not fit the padded input.
int tfc_conv_shape(const fvx_tfc& tfc, int64_t n, int64_t height, int64_t width, fastvfx::ScaledConvShape* out) {
  fastvfx::ScaledConvShape s = tfc.conv;
  if (!positive({n, height, width}) || height + 2 * s.pad_h < s.kh || width + 2 * s.pad_w < s.kw) {
    return FVX_ERR_SIZE;
  }
  s.n_batch = n;
  s.in_h = height;
  s.in_w = width;
  *out = s;
  return FVX_OK;
}

}  // namespace

extern "C" {

const char* fvx_version(void) { return FASTVFX_VERSION_STRING; }

const char* fvx_isa(void) { return fastvfx::isa_name(fastvfx::active_isa()); }

int fvx_set_isa(const char* name) {
  if (name == nullptr) return FVX_ERR_NULL;
  fastvfx::Isa isa;
  if (!fastvfx::isa_from_name(name, &isa)) return FVX_ERR_ARGUMENT;
  return fastvfx::set_active_isa(isa) ? FVX_OK : FVX_ERR_UNSUPPORTED;
}

int fvx_set_num_threads(int n) {
  if (n < 1) return FVX_ERR_ARGUMENT;
  fastvfx::set_default_num_threads(n);
  return FVX_OK;
}

const char* fvx_status_string(int status) {
  switch (status) {
    case FVX_OK: return "ok";
    case FVX_ERR_NULL: return "a required pointer is null";
    case FVX_ERR_SIZE: return "a size is non-positive or the sizes do not fit together";
    case FVX_ERR_ARGUMENT: return "an option is out of range";
    case FVX_ERR_MEMORY: return "out of memory";
    case FVX_ERR_UNSUPPORTED: return "not supported by this build or CPU";
    default: return "unknown status";
  }
}

int fvx_temporal_shift_f32(float* x, int64_t n_batch, int64_t n_segment, int64_t channels,
                           int64_t height, int64_t width, int64_t fold_div, int mode) {
  if (x == nullptr) return FVX_ERR_NULL;
  if (!positive({n_batch, n_segment, channels, height, width})) return FVX_ERR_SIZE;
  if (fold_div < 1 || (mode != FVX_SHIFT_BIDIRECTIONAL && mode != FVX_SHIFT_PAST)) return FVX_ERR_ARGUMENT;
  fastvfx::ShiftShape s;
  s.n_batch = n_batch;
  s.n_segment = n_segment;
  s.channels = channels;
  s.rows = 1;
  s.inner = height * width;
  s.fold = channels / fold_div;
  s.elem_size = sizeof(float);
  fastvfx::temporal_shift_inplace(
      x, s, mode == FVX_SHIFT_PAST ? fastvfx::ShiftMode::kPast : fastvfx::ShiftMode::kBidirectional, false);
  return FVX_OK;
}

int fvx_temporal_shift_online_f32(float* x, float* cache, int64_t n, int64_t channels, int64_t height,
                                  int64_t width, int64_t fold) {
  if (x == nullptr || cache == nullptr) return FVX_ERR_NULL;
  if (!positive({n, channels, height, width, fold}) || fold > channels) return FVX_ERR_SIZE;
  fastvfx::ShiftShape s;
  s.n_batch = n;
  s.channels = channels;
  s.rows = 1;
  s.inner = height * width;
  s.fold = fold;
  s.elem_size = sizeof(float);
  fastvfx::temporal_shift_online_swap(x, cache, s);
  return FVX_OK;
}

int fvx_dwconv3d_create(fvx_dwconv3d** state, int64_t batch, int64_t channels, int64_t height,
                        int64_t width, int64_t kt, int64_t kh, int64_t kw, int64_t stride_h,
                        int64_t stride_w, int same_padding, int64_t pad_h, int64_t pad_w,
                        const float* weight, const float* bias, int activation) {
  if (state == nullptr) return FVX_ERR_NULL;
  *state = nullptr;
  if (weight == nullptr) return FVX_ERR_NULL;
  if (!positive({batch, channels, height, width, kt, kh, kw})) return FVX_ERR_SIZE;
  if (stride_h < 1 || stride_w < 1 || stride_h > 8 || stride_w > 8) return FVX_ERR_ARGUMENT;
  if (activation < FVX_ACT_NONE || activation > FVX_ACT_SWISH) return FVX_ERR_ARGUMENT;
  fastvfx::DwConv3dShape s;
  s.batch = batch;
  s.channels = channels;
  s.in_h = height;
  s.in_w = width;
  s.kt = kt;
  s.kh = kh;
  s.kw = kw;
  s.stride_h = stride_h;
  s.stride_w = stride_w;
  if (same_padding) {
    fastvfx::same_padding(height, kh, stride_h, &s.out_h, &s.pad_top);
    fastvfx::same_padding(width, kw, stride_w, &s.out_w, &s.pad_left);
  } else {
    if (pad_h < 0 || pad_w < 0) return FVX_ERR_ARGUMENT;
    if (height + 2 * pad_h < kh || width + 2 * pad_w < kw) return FVX_ERR_SIZE;
    s.pad_top = pad_h;
    s.pad_left = pad_w;
    s.out_h = fastvfx::symmetric_output(height, kh, stride_h, pad_h);
    s.out_w = fastvfx::symmetric_output(width, kw, stride_w, pad_w);
  }
  auto* st = new (std::nothrow) fvx_dwconv3d;
  if (st == nullptr) return FVX_ERR_MEMORY;
  try {
    st->shape = s;
    st->act = static_cast<fastvfx::Activation>(activation);
    st->weight.assign(weight, weight + channels * kt * kh * kw);
    if (bias != nullptr) st->bias.assign(bias, bias + channels);
    st->history.assign(static_cast<size_t>(batch * channels * (kt - 1) * height * width), 0.f);
    st->padded.assign(static_cast<size_t>(batch * channels * (kt - 1) *
                                          fastvfx::causal_dwconv3d_padded_numel(s, sizeof(float))),
                      0.f);
  } catch (const std::bad_alloc&) {
    delete st;
    return FVX_ERR_MEMORY;
  }
  *state = st;
  return FVX_OK;
}

int fvx_dwconv3d_output_size(const fvx_dwconv3d* state, int64_t* out_height, int64_t* out_width) {
  if (state == nullptr || out_height == nullptr || out_width == nullptr) return FVX_ERR_NULL;
  *out_height = state->shape.out_h;
  *out_width = state->shape.out_w;
  return FVX_OK;
}

int fvx_dwconv3d_step(fvx_dwconv3d* state, const float* x, int64_t t, float* y) {
  if (state == nullptr || x == nullptr || y == nullptr) return FVX_ERR_NULL;
  if (t < 1) return FVX_ERR_SIZE;
  const bool has_history = state->shape.kt > 1;
  fastvfx::causal_dwconv3d_forward(x, t, has_history ? state->history.data() : nullptr,
                                   has_history ? state->padded.data() : nullptr, state->position,
                                   state->weight.data(), state->bias.empty() ? nullptr : state->bias.data(),
                                   y, state->shape, state->act);
  state->position += t;
  return FVX_OK;
}

int fvx_dwconv3d_reset(fvx_dwconv3d* state) {
  if (state == nullptr) return FVX_ERR_NULL;
  std::fill(state->history.begin(), state->history.end(), 0.f);
  std::fill(state->padded.begin(), state->padded.end(), 0.f);
  state->position = 0;
  return FVX_OK;
}

void fvx_dwconv3d_destroy(fvx_dwconv3d* state) { delete state; }

int fvx_tfc_create(fvx_tfc** tfc, int64_t in_channels, int64_t out_channels, int64_t hidden,
                   int64_t kernel_h, int64_t kernel_w, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                   int64_t pad_w, const float* conv_weight, const float* conv_bias, const float* fc1_weight,
                   const float* fc1_bias, const float* fc2_weight, const float* fc2_bias, int pool) {
  if (tfc == nullptr) return FVX_ERR_NULL;
  *tfc = nullptr;
  if (conv_weight == nullptr || fc1_weight == nullptr || fc2_weight == nullptr) return FVX_ERR_NULL;
  if (!positive({in_channels, out_channels, hidden, kernel_h, kernel_w})) return FVX_ERR_SIZE;
  if (stride_h < 1 || stride_w < 1 || pad_h < 0 || pad_w < 0) return FVX_ERR_ARGUMENT;
  if (pool != FVX_POOL_AVG && pool != FVX_POOL_MAX) return FVX_ERR_ARGUMENT;
  auto* t = new (std::nothrow) fvx_tfc;
  if (t == nullptr) return FVX_ERR_MEMORY;
  try {
    t->conv.in_channels = in_channels;
    t->conv.out_channels = out_channels;
    t->conv.kh = kernel_h;
    t->conv.kw = kernel_w;
    t->conv.stride_h = stride_h;
    t->conv.stride_w = stride_w;
    t->conv.pad_h = pad_h;
    t->conv.pad_w = pad_w;
    t->hidden = hidden;
    t->pool = pool == FVX_POOL_MAX ? fastvfx::PoolKind::kMax : fastvfx::PoolKind::kAvg;
    t->conv_weight.assign(conv_weight, conv_weight + out_channels * in_channels * kernel_h * kernel_w);
    if (conv_bias != nullptr) t->conv_bias.assign(conv_bias, conv_bias + out_channels);
    t->fc1_weight.assign(fc1_weight, fc1_weight + hidden * in_channels);
    if (fc1_bias != nullptr) t->fc1_bias.assign(fc1_bias, fc1_bias + hidden);
    t->fc2_weight.assign(fc2_weight, fc2_weight + in_channels * hidden);
    if (fc2_bias != nullptr) t->fc2_bias.assign(fc2_bias, fc2_bias + in_channels);
  } catch (const std::bad_alloc&) {
    delete t;
    return FVX_ERR_MEMORY;
  }
  *tfc = t;
  return FVX_OK;
}

int fvx_tfc_output_size(const fvx_tfc* tfc, int64_t height, int64_t width, int64_t* out_height,
                        int64_t* out_width) {
  if (tfc == nullptr || out_height == nullptr || out_width == nullptr) return FVX_ERR_NULL;
  fastvfx::ScaledConvShape s;
  if (int status = tfc_conv_shape(*tfc, 1, height, width, &s)) return status;
  *out_height = s.out_h();
  *out_width = s.out_w();
  return FVX_OK;
}

int fvx_tfc_forward(fvx_tfc* tfc, const float* x, int64_t n, int64_t height, int64_t width, float* y,
                    float* scale) {
  if (tfc == nullptr || x == nullptr || y == nullptr) return FVX_ERR_NULL;
  fastvfx::ScaledConvShape s;
  if (int status = tfc_conv_shape(*tfc, n, height, width, &s)) return status;
  const auto gate_numel = static_cast<size_t>(n * s.in_channels);
  try {
    if (tfc->pooled.size() < gate_numel) tfc->pooled.resize(gate_numel);
    if (scale == nullptr && tfc->scale.size() < gate_numel) tfc->scale.resize(gate_numel);
  } catch (const std::bad_alloc&) {
    return FVX_ERR_MEMORY;
  }
  float* gate = scale != nullptr ? scale : tfc->scale.data();
  fastvfx::PoolShape ps;
  ps.n_batch = n;
  ps.channels = s.in_channels;
  ps.hw = height * width;
  fastvfx::global_pool2d(x, tfc->pooled.data(), ps, tfc->pool);
  fastvfx::TfcGateWeights g;
  g.channels = s.in_channels;
  g.hidden = tfc->hidden;
  g.w1 = tfc->fc1_weight.data();
  g.b1 = tfc->fc1_bias.empty() ? nullptr : tfc->fc1_bias.data();
  g.w2 = tfc->fc2_weight.data();
  g.b2 = tfc->fc2_bias.empty() ? nullptr : tfc->fc2_bias.data();
  fastvfx::tfc_gate(tfc->pooled.data(), n, g, gate);
  fastvfx::scaled_conv2d(x, gate, tfc->conv_weight.data(), tfc->conv_bias.empty() ? nullptr : tfc->conv_bias.data(),
                         y, s);
  return FVX_OK;
}

void fvx_tfc_destroy(fvx_tfc* tfc) { delete tfc; }

}  // extern "C"
