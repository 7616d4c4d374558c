// Plane kernels of the causal depthwise Conv3D, written once and compiled
// once per ISA (dwconv3d_<isa>.cpp defines FVX_DWCONV3D_SUFFIX and includes
// this file under that ISA's compiler flags). The inner loops are plain
// element-wise loops over one output row that the compiler vectorises for the
// ISA at hand; everything around them is arranged so they stay that simple:
//
// - Input frames are copied once into zero-padded planes whose columns are
//   split by phase (column c lives at (c % sw) * phase_w + c / sw), so that for
//   any stride the input under output columns ow = 0..OW-1 at kernel column kw
//   is one contiguous run. A ring of kT such planes serves all output frames;
//   each input frame is padded once, not once per output frame that reads it.
// - Without padding and with unit column stride (e.g. the (kT,1,1) temporal
//   kernels) the source frames are read in place instead.
// - The backward scatters dy into padded, phase-split accumulators (dx) and
//   accumulates dy * input products per weight tap in rows of OW (dW), so no
//   loop reduces across lanes until the very end.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "dwconv3d_kernels.h"

#define FVX_CONCAT_(a, b) a##b
#define FVX_CONCAT(a, b) FVX_CONCAT_(a, b)

namespace fastvfx::dwconv3d {
namespace FVX_DWCONV3D_SUFFIX {
namespace {

struct PlaneGeom {
  int64_t ph, pw;  // padded rows / columns that the outputs read
  int64_t sw;      // column stride = number of phases
  int64_t phase_w; // columns per phase
  int64_t row;     // elements per padded row (sw * phase_w)
  int64_t pad_top, pad_left;
  int64_t h, w;    // unpadded input

  explicit PlaneGeom(const DwConv3dShape& s)
      : ph((s.out_h - 1) * s.stride_h + s.kh),
        pw((s.out_w - 1) * s.stride_w + s.kw),
        sw(s.stride_w),
        phase_w((pw + s.stride_w - 1) / s.stride_w),
        row(s.stride_w * ((pw + s.stride_w - 1) / s.stride_w)),
        pad_top(s.pad_top),
        pad_left(s.pad_left),
        h(s.in_h),
        w(s.in_w) {}

  int64_t size() const { return ph * row; }
  int64_t col(int64_t c) const { return (c % sw) * phase_w + c / sw; }
  // The source frames can be read as they are: no padding, unit column
  // stride, and every read row / column inside the frame.
  bool direct() const { return pad_top == 0 && pad_left == 0 && sw == 1 && ph <= h && pw <= w; }
};

// A plane as the inner loops see it: rows `row` elements apart, columns
// mapped through PlaneGeom::col (identity in direct mode).
template <class T>
struct PlaneRef {
  const T* base;
  int64_t row;
};

template <class T>
void pad_plane(const T* src, T* dst, const PlaneGeom& g) {
  std::memset(dst, 0, sizeof(T) * g.size());
  if (src == nullptr) return;
  for (int64_t r = 0; r < g.ph; ++r) {
    const int64_t ih = r - g.pad_top;
    if (ih < 0 || ih >= g.h) continue;
    const T* s = src + ih * g.w;
    T* d = dst + r * g.row;
    // Padded columns [c0, c1) hold input columns [c0 - pad_left, c1 - pad_left).
    const int64_t c0 = std::max<int64_t>(0, g.pad_left);
    const int64_t c1 = std::min<int64_t>(g.pw, g.pad_left + g.w);
    if (g.sw == 1) {
      if (c1 > c0) std::memcpy(d + c0, s + (c0 - g.pad_left), sizeof(T) * (c1 - c0));
    } else {
      for (int64_t c = c0; c < c1; ++c) d[g.col(c)] = s[c - g.pad_left];
    }
  }
}

// Inverse of pad_plane for gradients: the unpadded frame from a padded
// accumulator; input pixels no output reads get zero.
template <class T>
void unpad_plane(const T* src, T* dst, const PlaneGeom& g) {
  for (int64_t ih = 0; ih < g.h; ++ih) {
    T* d = dst + ih * g.w;
    const int64_t r = ih + g.pad_top;
    if (r >= g.ph) {
      std::memset(d, 0, sizeof(T) * g.w);
      continue;
    }
    const T* s = src + r * g.row;
    for (int64_t iw = 0; iw < g.w; ++iw) {
      const int64_t c = iw + g.pad_left;
      d[iw] = c < g.pw ? s[g.col(c)] : T(0);
    }
  }
}

template <class T>
inline void axpy(T* __restrict acc, T a, const T* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += a * x[i];
}

template <class T>
inline void mul_add(T* __restrict acc, const T* __restrict a, const T* __restrict b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += a[i] * b[i];
}

template <class T>
void activate_store(const T* __restrict acc, T* __restrict out, int64_t n, Activation act) {
  switch (act) {
    case Activation::kNone:
      for (int64_t i = 0; i < n; ++i) out[i] = acc[i];
      break;
    case Activation::kReLU:
      for (int64_t i = 0; i < n; ++i) out[i] = acc[i] > T(0) ? acc[i] : T(0);
      break;
    case Activation::kReLU6:
      for (int64_t i = 0; i < n; ++i) out[i] = std::min(std::max(acc[i], T(0)), T(6));
      break;
    case Activation::kHardswish:
      for (int64_t i = 0; i < n; ++i) {
        out[i] = acc[i] * std::min(std::max(acc[i] + T(3), T(0)), T(6)) / T(6);
      }
      break;
    case Activation::kSwish:
      for (int64_t i = 0; i < n; ++i) out[i] = acc[i] / (T(1) + std::exp(-acc[i]));
      break;
  }
}

// The input planes of one (n, c): absolute frame a comes from the ring of past
// frames (a < position), from x (a >= position), or is zero (a < 0).
template <class T>
class InputPlanes {
 public:
  InputPlanes(const DwConv3dShape& s, const PlaneGeom& g)
      : g_(g), kt_(s.kt), direct_(g.direct()), hw_(s.in_h * s.in_w) {
    if (!direct_) {
      ring_.resize(static_cast<size_t>(kt_ * g.size()));
      loaded_.assign(static_cast<size_t>(kt_), -1);
    }
  }

  void reset(const T* x, const T* history, int64_t position) {
    x_ = x;
    history_ = history;
    position_ = position;
    if (!direct_) std::fill(loaded_.begin(), loaded_.end(), INT64_MIN);
  }

  // Null for frames before the start of the video (they contribute nothing).
  bool present(int64_t a) const { return a >= 0; }

  PlaneRef<T> get(int64_t a) {
    const T* src = source(a);
    if (direct_) return {src, g_.w};
    const size_t slot = static_cast<size_t>(((a % kt_) + kt_) % kt_);
    T* plane = ring_.data() + slot * g_.size();
    if (loaded_[slot] != a) {
      pad_plane(src, plane, g_);
      loaded_[slot] = a;
    }
    return {plane, g_.row};
  }

 private:
  const T* source(int64_t a) const {
    if (a >= position_) return x_ + (a - position_) * hw_;
    return history_ + (a % (kt_ - 1)) * hw_;  // 0 <= a < position: kT > 1 here
  }

  const PlaneGeom& g_;
  int64_t kt_;
  bool direct_;
  int64_t hw_;
  std::vector<T> ring_;
  std::vector<int64_t> loaded_;
  const T* x_ = nullptr;
  const T* history_ = nullptr;
  int64_t position_ = 0;
};

template <class T>
void forward_planes(const ForwardArgs<T>& a, int64_t begin, int64_t end) {
  const DwConv3dShape& s = a.shape;
  const PlaneGeom g(s);
  const int64_t kt = s.kt, kh = s.kh, kw = s.kw, taps = kt * kh * kw;
  const int64_t hw = s.in_h * s.in_w, ohw = s.out_h * s.out_w, nh = kt - 1;
  InputPlanes<T> planes(s, g);
  std::vector<T> acc(static_cast<size_t>(s.out_w));
  std::vector<PlaneRef<T>> in(static_cast<size_t>(kt));
  for (int64_t p = begin; p < end; ++p) {
    const int64_t c = p % s.channels;
    const T* w = a.weight + c * taps;
    const T b = a.bias ? a.bias[c] : T(0);
    T* hist = a.history ? a.history + p * nh * hw : nullptr;
    planes.reset(a.x + p * a.t * hw, hist, a.position);
    for (int64_t t = 0; t < a.t; ++t) {
      const int64_t now = a.position + t;
      for (int64_t dt = 0; dt < kt; ++dt) {
        const int64_t f = now - (kt - 1) + dt;
        in[dt] = planes.present(f) ? planes.get(f) : PlaneRef<T>{nullptr, 0};
      }
      T* y = a.y + (p * a.t + t) * ohw;
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        std::fill(acc.begin(), acc.end(), b);
        for (int64_t dt = 0; dt < kt; ++dt) {
          if (in[dt].base == nullptr) continue;
          for (int64_t i = 0; i < kh; ++i) {
            const T* row = in[dt].base + (oh * s.stride_h + i) * in[dt].row;
            const T* wk = w + (dt * kh + i) * kw;
            for (int64_t j = 0; j < kw; ++j) axpy(acc.data(), wk[j], row + g.col(j), s.out_w);
          }
        }
        activate_store(acc.data(), y + oh * s.out_w, s.out_w, a.act);
      }
    }
    if (hist != nullptr) {
      // The newest kT-1 frames overwrite the oldest slots of the ring.
      for (int64_t f = std::max(a.position, a.position + a.t - nh); f < a.position + a.t; ++f) {
        std::memcpy(hist + (f % nh) * hw, a.x + (p * a.t + (f - a.position)) * hw, sizeof(T) * hw);
      }
    }
  }
}

template <class T>
void backward_planes(const BackwardArgs<T>& a, int64_t begin, int64_t end) {
  const DwConv3dShape& s = a.shape;
  const PlaneGeom g(s);
  const int64_t kt = s.kt, kh = s.kh, kw = s.kw, taps = kt * kh * kw;
  const int64_t hw = s.in_h * s.in_w, ohw = s.out_h * s.out_w, ow = s.out_w;
  InputPlanes<T> planes(s, g);
  // dx: padded, phase-split accumulators for the kT input frames in flight.
  std::vector<T> dx_ring(a.dx ? static_cast<size_t>(kt * g.size()) : 0);
  // dW: per tap, element-wise products summed over rows and frames.
  std::vector<T> prod(a.dweight_part ? static_cast<size_t>(taps * ow) : 0);
  auto dx_plane = [&](int64_t f) { return dx_ring.data() + (f % kt) * g.size(); };
  for (int64_t p = begin; p < end; ++p) {
    const int64_t c = p % s.channels;
    const T* w = a.weight + c * taps;
    const T* x = a.x + p * a.t * hw;
    const T* dy = a.dy + p * a.t * ohw;
    T* dx = a.dx ? a.dx + p * a.t * hw : nullptr;
    planes.reset(x, nullptr, 0);
    std::fill(prod.begin(), prod.end(), T(0));
    T dbias = 0;
    for (int64_t t = 0; t < a.t; ++t) {
      if (dx) std::memset(dx_plane(t), 0, sizeof(T) * g.size());
      for (int64_t dt = 0; dt < kt; ++dt) {
        const int64_t f = t - (kt - 1) + dt;
        if (f < 0) continue;
        const PlaneRef<T> in = a.dweight_part ? planes.get(f) : PlaneRef<T>{nullptr, 0};
        T* acc = dx ? dx_plane(f) : nullptr;
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          const T* dyr = dy + t * ohw + oh * ow;
          for (int64_t i = 0; i < kh; ++i) {
            const int64_t r = oh * s.stride_h + i;
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t k = (dt * kh + i) * kw + j;
              if (acc) axpy(acc + r * g.row + g.col(j), w[k], dyr, ow);
              if (in.base) mul_add(prod.data() + k * ow, dyr, in.base + r * in.row + g.col(j), ow);
            }
          }
        }
      }
      if (a.dbias_part) {
        for (int64_t i = 0; i < ohw; ++i) dbias += dy[t * ohw + i];
      }
      // Input frame t-kT+1 has received all its contributions.
      if (dx && t - (kt - 1) >= 0) unpad_plane(dx_plane(t - (kt - 1)), dx + (t - (kt - 1)) * hw, g);
    }
    if (dx) {
      for (int64_t f = std::max<int64_t>(0, a.t - (kt - 1)); f < a.t; ++f) unpad_plane(dx_plane(f), dx + f * hw, g);
    }
    if (a.dweight_part) {
      for (int64_t k = 0; k < taps; ++k) {
        T sum = 0;
        for (int64_t i = 0; i < ow; ++i) sum += prod[k * ow + i];
        a.dweight_part[p * taps + k] = sum;
      }
    }
    if (a.dbias_part) a.dbias_part[p] = dbias;
  }
}

}  // namespace
}  // namespace FVX_DWCONV3D_SUFFIX

const DwConv3dKernels FVX_CONCAT(kernels__, FVX_DWCONV3D_SUFFIX) = {
    FVX_DWCONV3D_SUFFIX::forward_planes<float>,
    FVX_DWCONV3D_SUFFIX::forward_planes<double>,
    FVX_DWCONV3D_SUFFIX::backward_planes<float>,
    FVX_DWCONV3D_SUFFIX::backward_planes<double>,
};

}  // namespace fastvfx::dwconv3d
