// The inverted residual block driver (see fastvfx/inverted_residual.h).
//
// Work items are bands of output rows of one frame, in order; a thread takes
// a contiguous range of them. For each band it expands the input rows the
// band needs and has not expanded yet into a ring of padded rows (rows shared
// with the previous band stay), runs the depthwise conv row by row into a
// band buffer, and projects the band into y. Only the first band of a
// thread's range recomputes the rows it shares with another thread's band.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fastvfx/inverted_residual.h"
#include "fastvfx/parallel.h"
#include "pointwise_ukernels.h"

namespace fastvfx {
namespace pointwise {

const PointwiseKernel& pointwise_kernel_for(Isa isa) {
  static const struct Table {
    const PointwiseKernel* by_isa[kIsaCount] = {};
    Table() {
#define FVX_POINTWISE_VARIANT(isa_enum, suffix) by_isa[static_cast<int>(Isa::isa_enum)] = &pointwise__##suffix;
#include "pointwise_variants.inc"
#undef FVX_POINTWISE_VARIANT
      for (auto& k : by_isa) {
        if (k == nullptr) k = by_isa[static_cast<int>(Isa::kScalar)];
      }
    }
  } table;
  return *table.by_isa[static_cast<int>(isa)];
}

namespace {

// Pixels a band's projection should cover, so the GEMM's weight panels are
// reused across enough tiles.
constexpr int64_t kBandPixels = 64;

// Per-thread scratch, reused across calls (64-byte aligned).
float* scratch(size_t floats) {
  thread_local std::vector<float> storage;
  if (storage.size() < floats + 16) storage.resize(floats + 16);
  auto address = reinterpret_cast<uintptr_t>(storage.data());
  return storage.data() + ((64 - address % 64) % 64) / sizeof(float);
}

struct Source {
  const float* frame = nullptr;  // pixel 0 of the source frame; null: zeros
  int64_t stride = 0;            // floats per pixel
  int64_t k_begin = 0, k_end = 0;
};

// Where channels of frame n's pixels come from (the temporal shift on read).
int sources(const float* x, const float* cache, const InvertedResidualShape& s, int64_t n, Source* out) {
  const int64_t plane = s.height * s.width;
  const int64_t cin = s.in_channels;
  auto frame = [&](int64_t f) { return x + f * plane * cin; };
  const int64_t fold = std::min(s.fold, cin);
  int count = 0;
  auto add = [&](const float* f, int64_t stride, int64_t k0, int64_t k1) {
    if (k1 > k0) out[count++] = Source{f, stride, k0, k1};
  };
  const int64_t t = s.n_segment > 0 ? n % s.n_segment : 0;
  switch (s.shift) {
    case ShiftOnRead::kBidirectional:
      add(t + 1 < s.n_segment ? frame(n + 1) : nullptr, cin, 0, fold);
      add(t > 0 ? frame(n - 1) : nullptr, cin, fold, std::min(2 * fold, cin));
      add(frame(n), cin, std::min(2 * fold, cin), cin);
      break;
    case ShiftOnRead::kPast:
      add(t > 0 ? frame(n - 1) : nullptr, cin, 0, fold);
      add(frame(n), cin, fold, cin);
      break;
    case ShiftOnRead::kCache:
      add(cache + n * plane * fold, fold, 0, fold);
      add(frame(n), cin, fold, cin);
      break;
    default:
      add(frame(n), cin, 0, cin);
  }
  return count;
}

struct Geometry {
  int64_t pad, wp, hp, oh, ow, band, bands, ring_rows;
};

class Block {
 public:
  Block(const float* x, const float* cache, float* y, const InvertedResidualShape& s,
        const InvertedResidualWeights& w, const PointwiseKernel& kernel, const Geometry& g)
      : x_(x), cache_(cache), y_(y), s_(s), w_(w), kr_(kernel), g_(g) {}

  // Items [begin, end): item = frame * bands + band.
  void run(int64_t begin, int64_t end) {
    const int64_t row_floats = g_.wp * g_.hp;
    const int64_t band_floats = g_.band * g_.ow * g_.hp;
    float* base = scratch(static_cast<size_t>((g_.ring_rows + 1) * row_floats + band_floats));
    ring_ = base;
    zero_row_ = base + g_.ring_rows * row_floats;
    band_ = zero_row_ + row_floats;
    std::memset(zero_row_, 0, sizeof(float) * row_floats);
    for (int64_t r = 0; r < g_.ring_rows; ++r) {
      float* row = ring_ + r * row_floats;
      std::memset(row, 0, sizeof(float) * g_.pad * g_.hp);
      std::memset(row + (g_.pad + s_.width) * g_.hp, 0, sizeof(float) * (g_.wp - g_.pad - s_.width) * g_.hp);
    }
    int64_t frame = -1, next_row = 0;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / g_.bands, b = item % g_.bands;
      const int64_t oh0 = b * g_.band, oh1 = std::min(g_.oh, oh0 + g_.band);
      const int64_t first = std::max<int64_t>(0, oh0 * s_.stride - g_.pad);
      const int64_t last = std::min<int64_t>(s_.height, (oh1 - 1) * s_.stride - g_.pad + s_.kernel);
      if (n != frame) {
        frame = n;
        next_row = first;
        nsrc_ = sources(x_, cache_, s_, n, src_);
      }
      next_row = std::max(next_row, first);
      if (last > next_row) expand(next_row, last);
      next_row = std::max(next_row, last);
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const float* rows[16];
        const float** taps = s_.kernel <= 16 ? rows : tap_rows(s_.kernel);
        for (int64_t i = 0; i < s_.kernel; ++i) {
          const int64_t ih = oh * s_.stride - g_.pad + i;
          taps[i] = (ih < 0 || ih >= s_.height) ? zero_row_ : slot(ih);
        }
        kr_.depthwise_row(taps, s_.kernel, s_.stride, w_.dw_weight, w_.dw_bias, g_.hp, g_.ow,
                          band_ + (oh - oh0) * g_.ow * g_.hp, w_.dw_act);
      }
      project(n, oh0, oh1);
    }
  }

 private:
  float* slot(int64_t ih) const { return ring_ + (ih % g_.ring_rows) * g_.wp * g_.hp; }

  const float** tap_rows(int64_t k) {
    big_taps_.resize(static_cast<size_t>(k));
    return big_taps_.data();
  }

  // Input rows [r0, r1) of the current frame (its sources) into the ring.
  void expand(int64_t r0, int64_t r1) {
    const int64_t nr = kr_.nr, w = s_.width;
    if (!s_.expand && nsrc_ == 1 && src_[0].frame != nullptr && s_.in_channels == g_.hp) {
      // Unshifted input rows as they are: one copy a row.
      for (int64_t r = r0; r < r1; ++r) {
        std::memcpy(slot(r) + g_.pad * g_.hp, src_[0].frame + r * w * g_.hp, sizeof(float) * w * g_.hp);
      }
      return;
    }
    const int64_t pixels = (r1 - r0) * w;
    const int64_t mr = balanced_tile_rows(pixels, kr_.mr);
    const float* a[kMaxSegments * kMaxMr];
    float* c[kMaxMr];
    float* c_col[kMaxMr];
    // The next pixel's row and column, stepped along (no division per pixel:
    // at 16 input channels the divisions were a tenth of the expansion).
    int64_t r = r0, col = 0;
    float* row_slot = slot(r);
    for (int64_t p0 = 0; p0 < pixels; p0 += mr) {
      const int64_t m = std::min(mr, pixels - p0);
      for (int64_t i = 0; i < mr; ++i) {
        if (i >= m) {  // a bottom edge: the rows past m repeat the last pixel (never read)
          for (int sgm = 0; sgm < nsrc_; ++sgm) a[sgm * mr + i] = a[sgm * mr + m - 1];
          c[i] = c[m - 1];
          continue;
        }
        const int64_t pixel = r0 * w + p0 + i;
        for (int sgm = 0; sgm < nsrc_; ++sgm) {
          a[sgm * mr + i] = src_[sgm].frame == nullptr ? nullptr : src_[sgm].frame + pixel * src_[sgm].stride;
        }
        c[i] = row_slot + (g_.pad + col) * g_.hp;
        if (++col == w) {
          col = 0;
          row_slot = slot(++r);
        }
      }
      if (!s_.expand) {
        copy_pixels(a, mr, c, m);
        continue;
      }
      GemmTile t;
      for (int sgm = 0; sgm < nsrc_; ++sgm) {
        if (src_[sgm].frame == nullptr) continue;  // zeros: no contribution
        t.seg[t.segments++] = GemmSegment{a + sgm * mr, nullptr, src_[sgm].k_begin, src_[sgm].k_end};
      }
      t.ldb = kPointwisePanel;
      t.c = c_col;
      t.m = m;
      t.prefetch_b = p0 == 0;
      for (int64_t j0 = 0; j0 < g_.hp; j0 += nr) {
        for (int64_t i = 0; i < m; ++i) c_col[i] = c[i] + j0;
        const float* b = w_.expand_weight + (j0 / kPointwisePanel) * s_.in_channels * kPointwisePanel +
                         j0 % kPointwisePanel;
        for (int sgm = 0; sgm < t.segments; ++sgm) t.seg[sgm].b = b;
        t.bias = w_.expand_bias + j0;
        t.n = nr;
        kr_.gemm(t, w_.expand_act);
      }
    }
  }

  // Without an expansion: the (shifted) input pixels themselves, zero past
  // the input channels.
  void copy_pixels(const float* const* a, int64_t mr, float* const* c, int64_t m) const {
    for (int64_t i = 0; i < m; ++i) {
      float* out = c[i];
      std::memset(out, 0, sizeof(float) * g_.hp);
      for (int sgm = 0; sgm < nsrc_; ++sgm) {
        const float* in = a[sgm * mr + i];
        if (in == nullptr) continue;
        std::memcpy(out + src_[sgm].k_begin, in + src_[sgm].k_begin,
                    sizeof(float) * (src_[sgm].k_end - src_[sgm].k_begin));
      }
    }
  }

  // The band's depthwise output projected into output rows [oh0, oh1) of frame n.
  void project(int64_t n, int64_t oh0, int64_t oh1) {
    // The band's rows, the output's and the residual's are equally spaced:
    // gemm_s's tiles. MobileNetV2-TSM, one thread, in one process, ms, gemm /
    // gemm_s: the clip 43.8 / 42.9, the online step 5.98 / 5.82.
    const int64_t cout = s_.out_channels, nr = kr_.nr_s;
    const int64_t pixels = (oh1 - oh0) * g_.ow;
    const int64_t mr = balanced_tile_rows(pixels, kr_.mr_s);
    float* y0 = y_ + ((n * g_.oh + oh0) * g_.ow) * cout;
    const float* x0 = x_ + ((n * s_.height + oh0) * s_.width) * s_.in_channels;
    GemmTileS t;
    t.segments = 1;
    t.k_end[0] = s_.hidden;
    t.lda = g_.hp;
    t.panel_stride = g_.hp * kPointwisePanel;
    t.ldc = cout;
    t.ldr = s_.in_channels;
    for (int64_t p0 = 0; p0 < pixels; p0 += mr) {
      t.m = std::min(mr, pixels - p0);
      t.prefetch_b = p0 == 0;
      t.a[0] = band_ + p0 * g_.hp;
      for (int64_t j0 = 0; j0 < cout; j0 += nr) {
        t.c = y0 + p0 * cout + j0;
        t.residual = s_.residual ? x0 + p0 * s_.in_channels + j0 : nullptr;
        t.b = w_.project_weight + (j0 / kPointwisePanel) * g_.hp * kPointwisePanel + j0 % kPointwisePanel;
        t.bias = w_.project_bias + j0;
        t.n = std::min(nr, cout - j0);
        kr_.gemm_s(t, Activation::kNone);
      }
    }
  }

  const float* x_;
  const float* cache_;
  float* y_;
  const InvertedResidualShape& s_;
  const InvertedResidualWeights& w_;
  const PointwiseKernel& kr_;
  const Geometry& g_;
  float* ring_ = nullptr;
  float* zero_row_ = nullptr;
  float* band_ = nullptr;
  Source src_[kMaxSegments];
  int nsrc_ = 0;
  std::vector<const float*> big_taps_;
};

}  // namespace
}  // namespace pointwise

void pack_pointwise_weights(const float* w, int64_t out, int64_t in, int64_t in_padded, float* packed) {
  const int64_t panels = (out + kPointwisePanel - 1) / kPointwisePanel;
  std::memset(packed, 0, sizeof(float) * panels * in_padded * kPointwisePanel);
  for (int64_t o = 0; o < out; ++o) {
    float* panel = packed + (o / kPointwisePanel) * in_padded * kPointwisePanel + o % kPointwisePanel;
    for (int64_t k = 0; k < in; ++k) panel[k * kPointwisePanel] = w[o * in + k];
  }
}

void inverted_residual_forward(const float* x, float* cache, float* y, const InvertedResidualShape& s,
                               const InvertedResidualWeights& w) {
  using namespace pointwise;
  if (s.batch <= 0 || s.height <= 0 || s.width <= 0) return;
  Geometry g;
  g.pad = s.kernel / 2;
  g.wp = s.width + 2 * g.pad;
  g.hp = pointwise_padded(s.hidden);
  g.oh = s.out_h();
  g.ow = s.out_w();
  g.band = std::min(g.oh, std::max<int64_t>(1, (kBandPixels + g.ow - 1) / g.ow));
  // One frame still gives two bands for two threads.
  if (s.batch == 1 && g.oh >= 2) g.band = std::min(g.band, (g.oh + 1) / 2);
  g.bands = (g.oh + g.band - 1) / g.band;
  g.ring_rows = (g.band - 1) * s.stride + s.kernel;
  const PointwiseKernel& kernel = pointwise_kernel_for(active_isa());
  parallel_for(0, s.batch * g.bands, 1, [&](int64_t begin, int64_t end) {
    Block(x, cache, y, s, w, kernel, g).run(begin, end);
  });
  if (s.shift == ShiftOnRead::kCache && s.fold > 0) {
    const int64_t pixels = s.batch * s.height * s.width;
    for (int64_t q = 0; q < pixels; ++q) {
      std::memcpy(cache + q * s.fold, x + q * s.in_channels, sizeof(float) * s.fold);
    }
  }
}

}  // namespace fastvfx
