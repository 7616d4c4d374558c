// Plane kernels of the causal depthwise Conv3D, written once and compiled
// once per ISA (dwconv3d_<isa>.cpp defines FVX_DWCONV3D_SUFFIX and includes
// this file under that ISA's compiler flags). The inner loops are plain
// element-wise loops over long flat runs that the compiler vectorises for the
// ISA at hand; the data layout is what makes them that simple:
//
// - Each input frame is copied once into a zero-padded plane split into
//   sh x sw sub-planes by row and column phase: padded pixel (r, c) lives in
//   sub-plane (r % sh, c % sw) at (r / sh) * PWs + c / sw. Output (oh, ow) then
//   reads, for tap (i, j), sub-plane (i % sh, j % sw) at o + (i / sh) * PWs +
//   j / sw with o = oh * PWs + ow: every tap is a constant offset, and the
//   whole output plane is one flat 1-D convolution of length OH * PWs (the
//   PWs - OW columns past each row are computed and dropped). Small planes
//   (7x7, 14x14) stay as efficient as large ones.
// - A ring of kT padded planes serves all output frames: each input frame is
//   padded once. Border positions never change, so a plane is zeroed once.
// - Accumulators for kLanes outputs stay in registers across all taps.
// - Purely temporal kernels ((kT,1,1), stride 1, no padding) read the source
//   frames in place.
// - The backward scatters dy into padded accumulators with the same offsets
//   (dx) and takes per-tap dot products over the same flat runs (dW).
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "dwconv3d_kernels.h"

#define FVX_CONCAT_(a, b) a##b
#define FVX_CONCAT(a, b) FVX_CONCAT_(a, b)

namespace fastvfx::dwconv3d {
namespace FVX_DWCONV3D_SUFFIX {
namespace {

// Vectors written with GCC/Clang vector extensions, FVX_DWCONV3D_VEC_BYTES
// wide (set by each variant's .cpp: the ISA's register width). Plain loops
// with a local accumulator array were left scalar by GCC 12, and vectors
// wider than the registers are lowered through the stack.
#ifndef FVX_DWCONV3D_VEC_BYTES
#error "dwconv3d_<isa>.cpp defines FVX_DWCONV3D_VEC_BYTES before including this file"
#endif
typedef float VecF32 __attribute__((vector_size(FVX_DWCONV3D_VEC_BYTES), aligned(4)));
typedef double VecF64 __attribute__((vector_size(FVX_DWCONV3D_VEC_BYTES), aligned(8)));
template <class T>
struct VecOf;
template <>
struct VecOf<float> {
  using type = VecF32;
};
template <>
struct VecOf<double> {
  using type = VecF64;
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
constexpr int64_t kVecLanes = FVX_DWCONV3D_VEC_BYTES / sizeof(T);
// Outputs per register-resident chunk: two vectors.
template <class T>
constexpr int64_t kLanes = 2 * kVecLanes<T>;
// Slack at the end of padded sub-planes, for chunks of any variant: the
// padded layout (and so a stream state's cache) does not depend on the ISA.
template <class T>
constexpr int64_t kSlackLanes = 128 / sizeof(T);
static_assert(FVX_DWCONV3D_VEC_BYTES * 2 <= 128, "chunks must fit the slack");

// always_inline: where the ISA has no 64-byte registers (AVX2, NEON), a
// 64-byte vector crossing a real call goes through memory; out-of-line
// helpers made the AVX2 build 3.5x slower than the scalar one.
#define FVX_VEC_INLINE inline __attribute__((always_inline))
template <class T>
FVX_VEC_INLINE Vec<T> load(const T* p) {
  return *reinterpret_cast<const Vec<T>*>(p);  // aligned(sizeof(T)): unaligned load
}
template <class T>
FVX_VEC_INLINE void store(T* p, Vec<T> v) {
  *reinterpret_cast<Vec<T>*>(p) = v;
}
template <class T>
FVX_VEC_INLINE Vec<T> splat(T v) {
  return Vec<T>{} + v;
}

struct PlaneGeom {
  int64_t sh, sw;        // strides = row / column phases
  int64_t ph, pw;        // padded rows / columns the outputs read
  int64_t phs, pws;      // rows / columns of one sub-plane
  int64_t sub;           // elements per sub-plane, with slack for whole chunks
  int64_t flat;          // OH * PWs: length of the flat output run
  int64_t pad_top, pad_left, h, w, out_h, out_w;

  PlaneGeom(const DwConv3dShape& s, int64_t lanes)
      : sh(s.stride_h),
        sw(s.stride_w),
        ph((s.out_h - 1) * s.stride_h + s.kh),
        pw((s.out_w - 1) * s.stride_w + s.kw),
        phs((ph + sh - 1) / sh),
        pws((pw + sw - 1) / sw),
        // Slack: a chunk starting in the last row reads up to (kW-1)/sw +
        // lanes - 1 past it (into dropped outputs only).
        sub(phs * pws + pws + lanes),
        flat(s.out_h * pws),
        pad_top(s.pad_top),
        pad_left(s.pad_left),
        h(s.in_h),
        w(s.in_w),
        out_h(s.out_h),
        out_w(s.out_w) {
    // What pad_plane copies, worked out once per call (it divides): input
    // columns [c0, c1) and rows [r0, r1) of the padded plane; per column
    // phase, the first padded column, its offset in a padded row, and how
    // many.
    c0 = std::max<int64_t>(0, pad_left);
    c1 = std::min<int64_t>(pw, pad_left + w);
    r0 = std::max<int64_t>(0, pad_top);
    r1 = std::min(ph, pad_top + h);
    phases = std::min<int64_t>(sw, 8);
    for (int64_t q = 0; q < phases; ++q) {
      first[q] = c0 + ((q - c0 % sw) + sw) % sw;
      offset[q] = pos(0, first[q]);
      count[q] = first[q] < c1 ? (c1 - first[q] + sw - 1) / sw : 0;
    }
  }
  int64_t c0, c1, r0, r1, phases, first[8], offset[8], count[8];

  int64_t size() const { return sh * sw * sub; }
  // Where padded pixel (r, c) lives.
  int64_t pos(int64_t r, int64_t c) const {
    return ((r % sh) * sw + c % sw) * sub + (r / sh) * pws + c / sw;
  }
  // Offsets of the kernel taps (i, j), row-major, relative to output
  // o = oh * pws + ow. Computed once per call: pos divides.
  std::vector<int64_t> tap_offsets(int64_t kh, int64_t kw) const {
    std::vector<int64_t> off(static_cast<size_t>(kh * kw));
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) off[i * kw + j] = pos(i, j);
    return off;
  }
};

// The even (Odd = 0) or odd (Odd = 1) lanes of the pair (a, b): a vector of
// every other element.
template <int Odd, class V, size_t... I>
FVX_VEC_INLINE V alternate_lanes(V a, V b, std::index_sequence<I...>) {
  return __builtin_shufflevector(a, b, (2 * I + Odd)...);
}

// The column split of stride-2 padding in one pass over a row:
// even[k] = s[2k] for k < n_even, odd[k] = s[2k + 1] for k < n_odd
// (n_odd is n_even or n_even - 1: s has n_even + n_odd elements). Each pair
// of vectors gives a vector of each; the last pair ends at the row's end,
// overlapping its predecessor (rewriting the same values).
template <class T>
FVX_VEC_INLINE void deinterleave_row(T* even, T* odd, const T* s, int64_t n_even, int64_t n_odd) {
  constexpr int64_t W = kVecLanes<T>;
  const int64_t n = n_even + n_odd;
  auto pair = [&](int64_t k) {
    const Vec<T> a = load(s + 2 * k), b = load(s + 2 * k + W);
    store(even + k, alternate_lanes<0>(a, b, std::make_index_sequence<W>{}));
    store(odd + k, alternate_lanes<1>(a, b, std::make_index_sequence<W>{}));
  };
  if (n < 2 * W) {
    for (int64_t k = 0; k < n_even; ++k) even[k] = s[2 * k];
    for (int64_t k = 0; k < n_odd; ++k) odd[k] = s[2 * k + 1];
    return;
  }
  for (int64_t k = 0; 2 * (k + W) < n; k += W) pair(k);
  const int64_t last = (n - 2 * W) / 2;  // covers odd[.. n_odd) and even[.. last + W)
  pair(last);
  if (last + W < n_even) even[n_even - 1] = s[2 * (n_even - 1)];
}

// d[0, n) = s[0, n) inline: the padded rows are short (7 to 112 elements),
// and a memcpy call per row cost as much as the copy. Vectors of Bytes, the
// last one overlapping its predecessor, then narrower ones below Bytes.
template <int Bytes, class T>
FVX_VEC_INLINE void copy_run(T* d, const T* s, int64_t n) {
  constexpr int64_t L = Bytes / static_cast<int64_t>(sizeof(T));
  if constexpr (L <= 1) {
    for (int64_t k = 0; k < n; ++k) d[k] = s[k];
  } else {
    typedef T V __attribute__((vector_size(Bytes), aligned(sizeof(T))));
    if (n < L) return copy_run<Bytes / 2>(d, s, n);
    for (int64_t k = 0; k + L < n; k += L) *reinterpret_cast<V*>(d + k) = *reinterpret_cast<const V*>(s + k);
    *reinterpret_cast<V*>(d + n - L) = *reinterpret_cast<const V*>(s + n - L);
  }
}

// Copies the input pixels of a frame into their padded positions; every
// other position of dst is left as it is (zero from the first fill). Row
// phase and index advance by counting: no division per row.
template <class T>
void pad_plane(const T* src, T* dst, const PlaneGeom& g) {
  const int64_t c0 = g.c0, c1 = g.c1, r0 = g.r0, r1 = g.r1, phases = g.phases;
  if (c1 <= c0) return;
  const int64_t* first = g.first;
  const int64_t* offset = g.offset;
  const int64_t* count = g.count;
  int64_t rp = r0 % g.sh, ri = r0 / g.sh;
  for (int64_t r = r0; r < r1; ++r) {
    const T* s = src + (r - g.pad_top) * g.w - g.pad_left;
    T* d = dst + rp * g.sw * g.sub + ri * g.pws;
    if (g.sw == 1) {
      copy_run<FVX_DWCONV3D_VEC_BYTES>(d + offset[0], s + c0, c1 - c0);
    } else if (g.sw == 2) {
      const int64_t a = c0 % 2, b = 1 - a;  // phase of column c0, and the other
      deinterleave_row(d + offset[a], d + offset[b], s + c0, count[a], count[b]);
    } else {
      for (int64_t q = 0; q < phases; ++q) {
        T* dq = d + offset[q];
        const T* sq = s + first[q];
        for (int64_t k = 0; k < count[q]; ++k) dq[k] = sq[k * g.sw];
      }
    }
    if (++rp == g.sh) {
      rp = 0;
      ++ri;
    }
  }
}

// dx frame from a padded accumulator; input pixels no output reads get zero.
template <class T>
void unpad_plane(const T* src, T* dst, const PlaneGeom& g) {
  // Input columns [0, w_read) lie inside the padded plane.
  const int64_t w_read = std::max<int64_t>(0, std::min(g.w, g.pw - g.pad_left));
  for (int64_t ih = 0; ih < g.h; ++ih) {
    T* d = dst + ih * g.w;
    const int64_t r = ih + g.pad_top;
    if (r >= g.ph) {
      std::memset(d, 0, sizeof(T) * g.w);
      continue;
    }
    if (g.sw == 1) {
      std::memcpy(d, src + g.pos(r, g.pad_left), sizeof(T) * w_read);
    } else {
      // One column phase at a time: contiguous reads, stride-sw writes.
      for (int64_t q = 0; q < g.sw; ++q) {
        const int64_t first = ((q - g.pad_left % g.sw) + g.sw) % g.sw;  // first iw in phase q
        if (first >= w_read) continue;
        const T* s = src + g.pos(r, first + g.pad_left);
        const int64_t n = (w_read - first + g.sw - 1) / g.sw;
        for (int64_t k = 0; k < n; ++k) d[first + k * g.sw] = s[k];
      }
    }
    if (w_read < g.w) std::memset(d + w_read, 0, sizeof(T) * (g.w - w_read));
  }
}

// e^x for x <= 0, in straight-line float arithmetic the compiler vectorises
// (a std::exp call per output made the fused swish cost 2.5-3.4x the conv):
// e^x = 2^n * e^r with n = round(x / ln 2), |r| <= ln(2) / 2, e^r by the
// degree-7 Taylor-like minimax polynomial of the Cephes library, about 1 ulp.
// Below -87.3 the result is clamped to e^-87.3 (~1e-38) instead of a denormal.
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.33654f);
  // n = round(x / ln 2) through int conversions (truncation of a positive
  // value is its floor): no rounding trick that value-changing float
  // optimisations could fold away (the armv7 NEON file is compiled with
  // -funsafe-math-optimizations).
  const int32_t n = -static_cast<int32_t>(0.5f - x * 1.44269504088896341f);
  const float nf = static_cast<float>(n);
  float r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t scale_bits = (n + 127) << 23;  // 2^n, n in [-126, 0]
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

// x * sigmoid(x) with e = e^-|x| in (0, 1]: never overflows, and the
// negative side keeps its relative precision.
inline float swish(float v) {
  const float e = exp_nonpositive(-std::fabs(v));
  const float num = v >= 0.f ? v : v * e;
  return num / (1.f + e);
}
inline double swish(double v) { return v / (1.0 + std::exp(-v)); }

template <class T>
inline T activate(T v, Activation act) {
  switch (act) {
    case Activation::kReLU: return v > T(0) ? v : T(0);
    case Activation::kReLU6: return std::min(std::max(v, T(0)), T(6));
    case Activation::kHardswish: return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
    case Activation::kSwish: return swish(v);
    case Activation::kSigmoid: return T(1) / (T(1) + std::exp(-v));
    default: return v;
  }
}

// out[i] = act(in[i]); the activation is a template argument so that each
// loop is branch-free and vectorises.
template <Activation A, class T>
void activate_run(const T* __restrict in, T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = activate(in[i], A);
}

template <class T>
void activate_store(const T* in, T* out, int64_t n, Activation act) {
  switch (act) {
    case Activation::kNone: return activate_run<Activation::kNone>(in, out, n);
    case Activation::kReLU: return activate_run<Activation::kReLU>(in, out, n);
    case Activation::kReLU6: return activate_run<Activation::kReLU6>(in, out, n);
    case Activation::kHardswish: return activate_run<Activation::kHardswish>(in, out, n);
    case Activation::kSwish: return activate_run<Activation::kSwish>(in, out, n);
    case Activation::kSigmoid: return activate_run<Activation::kSigmoid>(in, out, n);
  }
}

// out[i] = act(out[i]) over a run, branch-free per activation.
template <Activation A, class T>
void activate_in_place_run(T* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) v[i] = activate(v[i], A);
}

template <class T>
void activate_in_place(T* v, int64_t n, Activation act) {
  switch (act) {
    case Activation::kNone: return;
    case Activation::kReLU: return activate_in_place_run<Activation::kReLU>(v, n);
    case Activation::kReLU6: return activate_in_place_run<Activation::kReLU6>(v, n);
    case Activation::kHardswish: return activate_in_place_run<Activation::kHardswish>(v, n);
    case Activation::kSwish: return activate_in_place_run<Activation::kSwish>(v, n);
    case Activation::kSigmoid: return activate_in_place_run<Activation::kSigmoid>(v, n);
  }
}

// out[o, o + V vectors) = bias + sum_k w[k] * src[k][o, ...): V accumulators
// in registers across all taps.
template <int V, class T>
FVX_VEC_INLINE void flat_chunk(T* out, int64_t o, const T* const* src, const T* w, int64_t taps, T bias) {
  constexpr int64_t W = kVecLanes<T>;
  Vec<T> acc[V];
  for (int v = 0; v < V; ++v) acc[v] = splat(bias);
  for (int64_t k = 0; k < taps; ++k) {
    const Vec<T> wk = splat(w[k]);
    const T* s = src[k] + o;
    for (int v = 0; v < V; ++v) acc[v] += wk * load(s + v * W);
  }
  for (int v = 0; v < V; ++v) store(out + o + v * W, acc[v]);
}

// out[0, n) = bias + sum_k w[k] * src[k][0, n). n is rounded up to kLanes:
// out and every src run must have room. Chunks of eight vectors where they
// fit in n: each accumulator is a chain of dependent multiply-adds, and
// with two per chunk the FMA latency, not the loads, bounded the loop (a
// third of the FMA throughput). The chunks of eight read nothing past n.
template <class T>
void flat_conv(T* out, int64_t n, const T* const* src, const T* w, int64_t taps, T bias) {
  constexpr int64_t W = kVecLanes<T>;
  int64_t o = 0;
  for (; o + 8 * W <= n; o += 8 * W) flat_chunk<8>(out, o, src, w, taps, bias);
  for (; o < n; o += 2 * W) flat_chunk<2>(out, o, src, w, taps, bias);
}

// Register-blocked tiles of the flat run for the common spatial kernels
// (3x3 and 5x5, stride 1 or 2): R output rows x V vectors of columns
// accumulated in registers across all taps of all frames. flat_conv loads
// one input vector per multiply-add (a cache-line split for most offsets
// with 64-byte vectors); here a loaded input vector serves every tap row
// that reads it (up to kH of the R rows), and a frame's kH x kW weights
// stay in registers for the whole tile.
#ifndef FVX_DWCONV3D_VEC_REGS
#error "dwconv3d_<isa>.cpp defines FVX_DWCONV3D_VEC_REGS (vector registers of the ISA)"
#endif
// Accumulators of a tile: with a 3x3 frame's nine weights, one input vector
// and the addresses, they fill the register file.
constexpr int kTileAccs = FVX_DWCONV3D_VEC_REGS >= 32 ? 14 : 6;

// An empty asm that takes v in a vector register: the compiler can no longer
// fold the load that made v into each multiply-add that uses it (GCC turned
// every shared load back into a memory operand, one load per multiply-add).
// x86 only: ARM's multiply-adds take no memory operand, so there is no
// load to fold.
template <class V>
FVX_VEC_INLINE void keep_in_register(V& v) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
  asm("" : "+v"(v));
#else
  (void)v;
#endif
}

// One tile: the outputs at o + m * pws + v * W of the flat run (m < R,
// v < V) from nf frames (padded planes in PlaneGeom's layout, with
// sub-planes sub apart) and their KH x KW weights, stored to y + m * ys +
// v * W. Where last_valid >= 0, row R - 1 is the plane's last and only its
// first last_valid columns are stored.
template <int KH, int KW, int SH, int SW, int R, int V, class T>
FVX_VEC_INLINE void plane_tile(T* y, int64_t ys, int64_t last_valid, int64_t o, int64_t pws, int64_t sub,
                               const T* const* planes, const T* const* weights, int64_t nf, T bias) {
  constexpr int64_t W = kVecLanes<T>;
  Vec<T> acc[R][V];
  for (int m = 0; m < R; ++m)
    for (int v = 0; v < V; ++v) acc[m][v] = splat(bias);
  for (int64_t f = 0; f < nf; ++f) {
    const T* plane = planes[f] + o;
    const T* w = weights[f];
    Vec<T> wv[KH * KW];
    for (int k = 0; k < KH * KW; ++k) wv[k] = splat(w[k]);
    // Tap row i reads sub-plane row phase p = i % SH at sub-row m + i / SH:
    // each (phase, sub-row, column tap) vector is loaded once. One pointer
    // per column phase walks the sub-rows (offsets from it are constants).
#pragma GCC unroll 8
    for (int p = 0; p < SH; ++p) {
      constexpr int kMaxA = (KH + SH - 1) / SH;
      const int na = (KH - p + SH - 1) / SH;  // tap rows of phase p
      const T* row[SW];
      for (int jp = 0; jp < SW; ++jp) row[jp] = plane + (p * SW + jp) * sub;
#pragma GCC unroll 32
      for (int q = 0; q < R + kMaxA - 1; ++q) {
        if (q >= R + na - 1) continue;
#pragma GCC unroll 8
        for (int j = 0; j < KW; ++j) {
          const T* src = row[j % SW] + j / SW;
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) {
            Vec<T> x = load(src + v * W);
            keep_in_register(x);
#pragma GCC unroll 8
            for (int a = 0; a < kMaxA; ++a) {
              const int m = q - a;
              if (a < na && m >= 0 && m < R) acc[m][v] += wv[(p + SH * a) * KW + j] * x;
            }
          }
        }
        for (int jp = 0; jp < SW; ++jp) row[jp] += pws;
      }
    }
  }
  for (int m = 0; m < R; ++m) {
    for (int v = 0; v < V; ++v) {
      T* d = y + m * ys + v * W;
      const int64_t valid = m == R - 1 && last_valid >= 0 ? last_valid - v * W : W;
      if (valid >= W) {
        store(d, acc[m][v]);
      } else if (valid > 0) {
        T part[W];
        store(part, acc[m][v]);
        std::memcpy(d, part, sizeof(T) * valid);
      }
    }
  }
}

// The output plane y (OH rows of OW) in tiles of R rows x V vectors: the
// last row block and column tile overlap their neighbours (recomputing the
// same sums) rather than run a narrower tile, and a row's columns past OW
// spill into the start of the next row (fewer than OW of them: the plane
// engine's rows are over 8 wide), which the tiles after rewrite: columns
// right to left, rows top to bottom. Only the plane's last row stops at OW.
// Tiles read into the sub-planes' dropped columns and slack.
template <int KH, int KW, int SH, int SW, int R, int V, class T>
__attribute__((noinline)) void plane_tiles(T* y, const PlaneGeom& g, const T* const* planes, const T* const* weights,
                                           int64_t nf, T bias) {
  constexpr int64_t W = kVecLanes<T>;
  const int64_t last_c = (g.out_w - 1) / (V * W) * (V * W);
  for (int64_t r0 = 0; r0 < g.out_h; r0 += R) {
    const int64_t r = std::min<int64_t>(r0, g.out_h - R);
    const bool last_block = r + R == g.out_h;
    for (int64_t c = last_c; c >= 0; c -= V * W) {
      plane_tile<KH, KW, SH, SW, R, V>(y + r * g.out_w + c, g.out_w, last_block ? g.out_w - c : -1, r * g.pws + c,
                                       g.pws, g.sub, planes, weights, nf, bias);
    }
  }
}

// The register-blocked tiles for a layer, or null (flat_conv runs it): a
// function that writes the pre-activation output plane y (OH x OW) from nf
// padded frames and their kH x kW weights.
template <class T>
using PlaneTilesFn = void (*)(T*, const PlaneGeom&, const T* const*, const T* const*, int64_t, T);

template <int KH, int KW, int SH, int SW, class T>
PlaneTilesFn<T> plane_tiles_for_width(const PlaneGeom& g) {
  constexpr int64_t W = kVecLanes<T>;
  // Spills stay within the next row: over W/2 columns for one vector (the
  // channel-lane engine takes rows up to 8 wide anyway).
  if (2 * g.out_w <= W) return nullptr;
  if (g.out_w <= W) return g.out_h >= kTileAccs ? plane_tiles<KH, KW, SH, SW, kTileAccs, 1, T> : nullptr;
  return g.out_h >= kTileAccs / 2 ? plane_tiles<KH, KW, SH, SW, kTileAccs / 2, 2, T> : nullptr;
}

template <class T>
PlaneTilesFn<T> plane_tiles_for(const PlaneGeom& g, int64_t kh, int64_t kw) {
  if (g.sh != g.sw || g.sh > 2 || kh != kw) return nullptr;
  if (g.sh == 1) {
    if (kh == 3) return plane_tiles_for_width<3, 3, 1, 1, T>(g);
    if (kh == 5) return plane_tiles_for_width<5, 5, 1, 1, T>(g);
  } else {
    if (kh == 3) return plane_tiles_for_width<3, 3, 2, 2, T>(g);
    if (kh == 5) return plane_tiles_for_width<5, 5, 2, 2, T>(g);
  }
  return nullptr;
}

// d[0, n) += a * x[0, n), n a multiple of kVecLanes.
template <class T>
FVX_VEC_INLINE void axpy_vec(T* d, T a, const T* x, int64_t n) {
  const Vec<T> av = splat(a);
  for (int64_t o = 0; o < n; o += kVecLanes<T>) store(d + o, load(d + o) + av * load(x + o));
}

// sum(a[0, n) * b[0, n)), n a multiple of kLanes.
template <class T>
FVX_VEC_INLINE T dot_vec(const T* a, const T* b, int64_t n) {
  constexpr int64_t W = kVecLanes<T>;
  Vec<T> s0{}, s1{};
  for (int64_t o = 0; o < n; o += 2 * W) {
    s0 += load(a + o) * load(b + o);
    s1 += load(a + o + W) * load(b + o + W);
  }
  s0 += s1;
  T sum = 0;
  for (int64_t l = 0; l < W; ++l) sum += s0[l];
  return sum;
}

// A ring of kT padded planes: each input frame is padded once and serves
// the kT output frames that read it. The storage is the thread's, kept
// across calls of the same geometry: pad_plane writes the same positions of
// every frame, so the borders stay zero and need no fill (zeroing a ring of
// 56x56 planes cost as much as padding the frame of a step).
template <class T>
class PaddedRing {
 public:
  PaddedRing(const PlaneGeom& g, int64_t kt) : g_(g), kt_(kt), loaded_(static_cast<size_t>(kt)) {
    thread_local Storage storage;
    const size_t need = static_cast<size_t>(kt * g.size());
    if (storage.busy) {  // a second ring on this thread: its own zeroed block
      own_.assign(need, T(0));
      ring_ = own_.data();
      return;
    }
    if (!storage.same(g) || storage.data.size() < need) {
      storage.data.assign(need, T(0));
      storage.geom = geometry_key(g);
    }
    storage.busy = true;
    busy_ = &storage.busy;
    ring_ = storage.data.data();
  }
  ~PaddedRing() {
    if (busy_) *busy_ = false;
  }
  PaddedRing(const PaddedRing&) = delete;
  PaddedRing& operator=(const PaddedRing&) = delete;

  void reset() { std::fill(loaded_.begin(), loaded_.end(), INT64_MIN); }

  // Frame a (>= 0), slot a mod kT (the caller counts it: a division per
  // frame and tap row cost as much as a 14x14 tile).
  const T* get(int64_t a, int64_t slot, const T* src) {
    T* plane = ring_ + slot * g_.size();
    if (loaded_[slot] != a) {
      pad_plane(src, plane, g_);
      loaded_[slot] = a;
    }
    return plane;
  }

 private:
  // What decides the positions pad_plane writes.
  using Key = std::array<int64_t, 11>;
  static Key geometry_key(const PlaneGeom& g) {
    return {g.sh, g.sw, g.ph, g.pw, g.phs, g.pws, g.sub, g.pad_top, g.pad_left, g.h, g.w};
  }
  struct Storage {
    std::vector<T> data;
    Key geom{};
    bool busy = false;
    bool same(const PlaneGeom& g) const { return geom == geometry_key(g); }
  };
  const PlaneGeom& g_;
  int64_t kt_;
  T* ring_;
  bool* busy_ = nullptr;
  std::vector<T> own_;
  std::vector<int64_t> loaded_;
};

template <class T>
void forward_planes(const ForwardArgs<T>& a, int64_t begin, int64_t end) {
  const DwConv3dShape& s = a.shape;
  const int64_t kt = s.kt, kh = s.kh, kw = s.kw, taps = kt * kh * kw;
  const int64_t hw = s.in_h * s.in_w, ohw = s.out_h * s.out_w, nh = kt - 1;
  // Purely temporal kernels read the frames in place, whole planes at a time.
  const bool temporal_only = kh == 1 && kw == 1 && s.stride_h == 1 && s.stride_w == 1 &&
                             s.pad_top == 0 && s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w;
  const PlaneGeom g(s, kSlackLanes<T>);
  PaddedRing<T> ring(g, temporal_only ? 0 : kt);
  // One column vector for rows up to W wide, else two; the tallest block of
  // rows the accumulators allow.
  const PlaneTilesFn<T> tiles = temporal_only ? nullptr : plane_tiles_for<T>(g, kh, kw);
  std::vector<const T*> src(static_cast<size_t>(taps)), frame_planes(static_cast<size_t>(kt)),
      frame_weights(frame_planes.size());
  std::vector<T> wsel(static_cast<size_t>(taps));
  std::vector<T> flat(temporal_only ? 0 : static_cast<size_t>(g.flat + kLanes<T>));
  const std::vector<int64_t> tap_off = g.tap_offsets(kh, kw);
  for (int64_t p = begin; p < end; ++p) {
    const int64_t c = p % s.channels;
    const T* w = a.weight + c * taps;
    const T b = a.bias ? a.bias[c] : T(0);
    T* hist = a.history ? a.history + p * nh * hw : nullptr;
    T* cache = (a.padded && !temporal_only) ? a.padded + p * nh * g.size() : nullptr;
    const T* x = a.x + p * a.t * hw;
    ring.reset();
    for (int64_t t = 0; t < a.t; ++t) {
      const int64_t now = a.position + t;
      T* y = a.y + (p * a.t + t) * ohw;
      // Frame fa = now - nh + dt lives in ring slot fa mod kT and history
      // slot fa mod (kT-1): counted from dt = 0, one division each per frame.
      int64_t ring_slot = (now + 1) % kt, history_slot = nh > 0 ? now % nh : 0;
      // The taps that read real frames: (source run, weight).
      int64_t n = 0, nf = 0;
      for (int64_t dt = 0; dt < kt; ++dt, ring_slot = ring_slot + 1 == kt ? 0 : ring_slot + 1,
                   history_slot = history_slot + 1 >= nh ? 0 : history_slot + 1) {
        const int64_t fa = now - nh + dt;
        if (fa < 0 || (fa < a.position && hist == nullptr)) continue;  // zeros: contribute nothing
        const T* f = fa >= a.position ? x + (fa - a.position) * hw : hist + history_slot * hw;
        if (temporal_only) {
          src[n] = f;
          wsel[n++] = w[dt];
          continue;
        }
        // Past frames come padded from the state's cache when there is one.
        const T* plane = (cache && fa < a.position) ? cache + history_slot * g.size() : ring.get(fa, ring_slot, f);
        const T* wt = w + dt * kh * kw;
        frame_planes[nf] = plane;
        frame_weights[nf++] = wt;
        for (int64_t k = 0; !tiles && k < kh * kw; ++k) {
          src[n] = plane + tap_off[k];
          wsel[n++] = wt[k];
        }
      }
      if (temporal_only) {
        // Straight into y, whole chunks only: the tail is computed from a
        // copy of the sources.
        const int64_t body = hw / kLanes<T> * kLanes<T>;
        flat_conv(y, body, src.data(), wsel.data(), n, b);
        if (body < hw) {
          T tail[kLanes<T>];
          for (int64_t l = 0; l < kLanes<T>; ++l) tail[l] = b;
          for (int64_t k = 0; k < n; ++k) {
            for (int64_t l = 0; body + l < hw; ++l) tail[l] += wsel[k] * src[k][body + l];
          }
          std::memcpy(y + body, tail, sizeof(T) * (hw - body));
        }
        activate_in_place(y, hw, a.act);
        continue;
      }
      if (tiles) {
        tiles(y, g, frame_planes.data(), frame_weights.data(), nf, b);
        activate_in_place(y, ohw, a.act);
        continue;
      }
      flat_conv(flat.data(), g.flat, src.data(), wsel.data(), n, b);
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        activate_store(flat.data() + oh * g.pws, y + oh * s.out_w, s.out_w, a.act);
      }
    }
    if (hist != nullptr) {
      // The newest kT-1 frames overwrite the oldest slots of the ring (and
      // their padded planes, still in the task's ring, those of the cache).
      for (int64_t f = std::max(a.position, a.position + a.t - nh); f < a.position + a.t; ++f) {
        const T* frame = a.x + (p * a.t + (f - a.position)) * hw;
        std::memcpy(hist + (f % nh) * hw, frame, sizeof(T) * hw);
        if (cache) std::memcpy(cache + (f % nh) * g.size(), ring.get(f, f % kt, frame), sizeof(T) * g.size());
      }
    }
  }
}

template <class T>
void backward_planes(const BackwardArgs<T>& a, int64_t begin, int64_t end) {
  const DwConv3dShape& s = a.shape;
  constexpr int64_t V = kLanes<T>;
  const int64_t kt = s.kt, kh = s.kh, kw = s.kw, taps = kt * kh * kw;
  const int64_t hw = s.in_h * s.in_w, ohw = s.out_h * s.out_w;
  const PlaneGeom g(s, kSlackLanes<T>);
  const int64_t n_flat = (g.flat + V - 1) / V * V;
  PaddedRing<T> ring(g, a.dweight_part ? kt : 0);
  // dx: padded accumulators for the kT input frames in flight.
  std::vector<T> dx_ring(a.dx ? static_cast<size_t>(kt * g.size()) : 0);
  // dy of one output frame in the flat layout, zeros in the dropped columns.
  std::vector<T> dyf(static_cast<size_t>(n_flat), T(0));
  std::vector<T> dw(static_cast<size_t>(taps));
  auto dx_plane = [&](int64_t f) { return dx_ring.data() + (f % kt) * g.size(); };
  const std::vector<int64_t> tap_off = g.tap_offsets(kh, kw);
  for (int64_t p = begin; p < end; ++p) {
    const int64_t c = p % s.channels;
    const T* w = a.weight + c * taps;
    const T* x = a.x + p * a.t * hw;
    const T* dy = a.dy + p * a.t * ohw;
    T* dx = a.dx ? a.dx + p * a.t * hw : nullptr;
    ring.reset();
    std::fill(dw.begin(), dw.end(), T(0));
    T dbias = 0;
    for (int64_t t = 0; t < a.t; ++t) {
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        std::memcpy(dyf.data() + oh * g.pws, dy + t * ohw + oh * s.out_w, sizeof(T) * s.out_w);
      }
      if (dx) std::memset(dx_plane(t), 0, sizeof(T) * g.size());
      for (int64_t dt = 0; dt < kt; ++dt) {
        const int64_t f = t - (kt - 1) + dt;
        if (f < 0) continue;
        const T* in = a.dweight_part ? ring.get(f, f % kt, x + f * hw) : nullptr;
        T* acc = dx ? dx_plane(f) : nullptr;
        for (int64_t ij = 0; ij < kh * kw; ++ij) {
          const int64_t k = dt * kh * kw + ij;
          if (acc) axpy_vec(acc + tap_off[ij], w[k], dyf.data(), n_flat);
          if (in) dw[k] += dot_vec(dyf.data(), in + tap_off[ij], n_flat);
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
    if (a.dweight_part) std::copy(dw.begin(), dw.end(), a.dweight_part + p * taps);
    if (a.dbias_part) a.dbias_part[p] = dbias;
  }
}

// ---------------------------------------------------------------------------
// Channel-lane engine: frames with channels innermost, (H, W, C), and a
// vector of channels per accumulator. The plane engine above runs one
// channel's plane as a flat run and so leaves lanes idle when rows are short
// (7x7, 14x14 planes) or strided; here every lane is a channel whatever the
// plane size.

// One vector of channels (Vector = true) or a single channel (the tail of C
// past the last whole vector).
template <class T, bool Vector>
struct LaneOps {
  using V = Vec<T>;
  static constexpr int64_t kWidth = kVecLanes<T>;
  static FVX_VEC_INLINE V ld(const T* p) { return load(p); }
  static FVX_VEC_INLINE void st(T* p, V v) { store(p, v); }
  static FVX_VEC_INLINE V set(T v) { return splat(v); }
};
template <class T>
struct LaneOps<T, false> {
  using V = T;
  static constexpr int64_t kWidth = 1;
  static FVX_VEC_INLINE V ld(const T* p) { return *p; }
  static FVX_VEC_INLINE void st(T* p, V v) { *p = v; }
  static FVX_VEC_INLINE V set(T v) { return v; }
};

// A B x B block transposed in registers: dst[j * dst_stride + k] =
// src[k * src_stride + j]. The channels-first <-> channels-last copies of the
// channel-lane engine cost as much as its convolution when done element by
// element. Each stage d (B/2, ..., 1) swaps bit d of the row and column
// indices: rows k and k + d (bit d of k clear) exchange their d-wide blocks
// of columns with bit d set / clear.
template <int B, int D, class V, size_t... I>
FVX_VEC_INLINE V stage_low(V a, V b, std::index_sequence<I...>) {
  return __builtin_shufflevector(a, b, ((I & D) ? B + I - D : I)...);
}
template <int B, int D, class V, size_t... I>
FVX_VEC_INLINE V stage_high(V a, V b, std::index_sequence<I...>) {
  return __builtin_shufflevector(a, b, ((I & D) ? B + I : I + D)...);
}
template <int B, int D, class V>
FVX_VEC_INLINE void transpose_stage(V* r) {
  if constexpr (D >= 1) {
    for (int k = 0; k < B; ++k) {
      if (k & D) continue;
      const V a = r[k], b = r[k + D];
      r[k] = stage_low<B, D>(a, b, std::make_index_sequence<B>{});
      r[k + D] = stage_high<B, D>(a, b, std::make_index_sequence<B>{});
    }
    transpose_stage<B, D / 2>(r);
  }
}
template <int B, class T>
FVX_VEC_INLINE void transpose_block(const T* src, int64_t src_stride, T* dst, int64_t dst_stride) {
  typedef T VB __attribute__((vector_size(B * sizeof(T)), aligned(sizeof(T))));
  // Pointers walked by the strides: B offsets k * stride ran out of
  // general-purpose registers.
  VB r[B];
  for (int k = 0; k < B; ++k, src += src_stride) r[k] = *reinterpret_cast<const VB*>(src);
  transpose_stage<B, B / 2>(r);
  for (int j = 0; j < B; ++j, dst += dst_stride) *reinterpret_cast<VB*>(dst) = r[j];
}

// Blocks of B over rows [r0, r1) x columns [c0, c1), both multiples of B long.
template <int B, class T>
void transpose_blocks(const T* src, int64_t src_stride, T* dst, int64_t dst_stride, int64_t r0, int64_t r1,
                      int64_t c0, int64_t c1) {
  for (int64_t k = r0; k < r1; k += B) {
    for (int64_t j = c0; j < c1; j += B) {
      transpose_block<B>(src + k * src_stride + j, src_stride, dst + j * dst_stride + k, dst_stride);
    }
  }
}

// Fewer than 8 rows (a frame's 3 colour channels): column by column, so
// that dst is written in order and the compiler interleaves the R rows in
// registers (row by row, with stride-R stores, a 224x224 RGB frame took
// 0.088 ms at one thread; this way 0.047, a clone 0.016).
template <int R, class T>
void transpose_few_rows(const T* src, int64_t src_stride, T* dst, int64_t dst_stride, int64_t cols) {
  for (int64_t j = 0; j < cols; ++j) {
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) dst[j * dst_stride + i] = src[i * src_stride + j];
  }
}

// dst[j * dst_stride + k] = src[k * src_stride + j] for k < rows, j < cols:
// blocks of a whole register (16 floats with AVX-512: whole cache lines
// read and written), the rest in blocks of 8, then the edges one by one.
template <class T>
void transpose(const T* src, int64_t src_stride, T* dst, int64_t dst_stride, int64_t rows, int64_t cols) {
  switch (rows) {
    case 1: return transpose_few_rows<1>(src, src_stride, dst, dst_stride, cols);
    case 2: return transpose_few_rows<2>(src, src_stride, dst, dst_stride, cols);
    case 3: return transpose_few_rows<3>(src, src_stride, dst, dst_stride, cols);
    case 4: return transpose_few_rows<4>(src, src_stride, dst, dst_stride, cols);
    case 5: return transpose_few_rows<5>(src, src_stride, dst, dst_stride, cols);
    case 6: return transpose_few_rows<6>(src, src_stride, dst, dst_stride, cols);
    case 7: return transpose_few_rows<7>(src, src_stride, dst, dst_stride, cols);
    default: break;
  }
  constexpr int B = kVecLanes<T> > 8 ? static_cast<int>(kVecLanes<T>) : 8;
  const int64_t rows8 = rows / 8 * 8, cols8 = cols / 8 * 8;
  const int64_t rows_b = rows / B * B, cols_b = cols / B * B;
  transpose_blocks<B>(src, src_stride, dst, dst_stride, 0, rows_b, 0, cols_b);
  transpose_blocks<8>(src, src_stride, dst, dst_stride, 0, rows_b, cols_b, cols8);
  transpose_blocks<8>(src, src_stride, dst, dst_stride, rows_b, rows8, 0, cols8);
  for (int64_t i = 0; i < rows8; ++i)
    for (int64_t j = cols8; j < cols; ++j) dst[j * dst_stride + i] = src[i * src_stride + j];
  for (int64_t i = rows8; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * dst_stride + i] = src[i * src_stride + j];
}

// The row kernels below read the input rows in place: rows[k] points at input
// column 0 of the k-th tap row (pixels cs apart), row_w[k] at its kW weights
// (channels innermost, cs apart). Output columns whose taps all fall inside
// the row (the interior) run in blocks; the few at the left and right borders
// run their taps clipped to the row. (Until stop 30 every input row was first
// copied into a zero-padded row: a fifth of a large-plane layer's time, and
// the copies kept the loads from streaming.)

// Pre-activation outputs of kCols consecutive interior columns, one vector of
// channels at c: x0 is the element offset of the first column's first tap in
// each row. Each input vector is loaded once for every output it serves (kept
// in a register: GCC otherwise folds it back into each multiply-add) and each
// weight vector once per tap row; the kCols accumulators (8) are independent
// chains that keep the FMA units busy despite their latency.
template <int kCols, int KW, int SW, class T>
FVX_VEC_INLINE void lane_interior(const T* const* rows, const T* const* row_w, int64_t n, int64_t cs, int64_t x0,
                                  int64_t c, const T* bias, T* y) {
  using V = Vec<T>;
  V acc[kCols];
  const V b = bias ? load(bias + c) : splat(T(0));
#pragma GCC unroll 8
  for (int u = 0; u < kCols; ++u) acc[u] = b;
  for (int64_t k = 0; k < n; ++k) {
    V wv[KW];
    const T* wp = row_w[k] + c;
#pragma GCC unroll 8
    for (int j = 0; j < KW; ++j, wp += cs) wv[j] = load(wp);
    // Pointers walked by cs (offsets m * cs held in registers ran out of
    // general-purpose ones).
    const T* xp = rows[k] + x0 + c;
#pragma GCC unroll 32
    for (int m = 0; m < (kCols - 1) * SW + KW; ++m, xp += cs) {
      V x = load(xp);
      keep_in_register(x);
#pragma GCC unroll 8
      for (int j = 0; j < KW; ++j) {
        const int u = (m - j) / SW;
        if (m >= j && (m - j) % SW == 0 && u < kCols) acc[u] += wv[j] * x;
      }
    }
  }
#pragma GCC unroll 8
  for (int u = 0; u < kCols; ++u) store(y + u * cs + c, acc[u]);
}

// Interior columns at any kernel width and stride (the kernels other than
// 3 and 5 wide, strides past 2): kCols columns, kVecs vectors of channels (or
// one channel: Ops = LaneOps<T, false>).
template <class Ops, int kVecs, int kCols, class T>
FVX_VEC_INLINE void lane_interior_any(const T* const* rows, const T* const* row_w, int64_t n, int64_t kw,
                                      int64_t cs, int64_t sw, int64_t x0, int64_t c, const T* bias, T* y) {
  using V = typename Ops::V;
  constexpr int64_t L = Ops::kWidth;
  V acc[kVecs][kCols];
  for (int v = 0; v < kVecs; ++v) {
    const V b = bias ? Ops::ld(bias + c + v * L) : Ops::set(T(0));
    for (int u = 0; u < kCols; ++u) acc[v][u] = b;
  }
  for (int64_t k = 0; k < n; ++k) {
    const T* xr = rows[k] + x0 + c;
    const T* wr = row_w[k] + c;
    for (int64_t j = 0; j < kw; ++j) {
      for (int v = 0; v < kVecs; ++v) {
        const V wv = Ops::ld(wr + j * cs + v * L);
        for (int u = 0; u < kCols; ++u) acc[v][u] += wv * Ops::ld(xr + (u * sw + j) * cs + v * L);
      }
    }
  }
  for (int v = 0; v < kVecs; ++v)
    for (int u = 0; u < kCols; ++u) Ops::st(y + u * cs + c + v * L, acc[v][u]);
}

// One border column: its taps [j0, j1) lie in the row, the others read the
// padding (first: the column of tap 0, maybe negative); kVecs vectors of
// channels at c (or one channel) as independent chains. KW > 0 fixes the
// kernel width (the clipped taps unrolled away), else kw.
template <class Ops, int kVecs, int KW, class T>
FVX_VEC_INLINE void lane_border(const T* const* rows, const T* const* row_w, int64_t n, int64_t kw_rt, int64_t j0,
                                int64_t j1, int64_t cs, int64_t first, int64_t c, const T* bias, T* y) {
  using V = typename Ops::V;
  constexpr int64_t L = Ops::kWidth;
  const int64_t kw = KW > 0 ? KW : kw_rt;
  V acc[kVecs];
  for (int v = 0; v < kVecs; ++v) acc[v] = bias ? Ops::ld(bias + c + v * L) : Ops::set(T(0));
  for (int64_t k = 0; k < n; ++k) {
#pragma GCC unroll 8
    for (int64_t j = 0; j < kw; ++j) {
      if (j < j0 || j >= j1) continue;
      const T* xr = rows[k] + ((first + j) * cs + c);
      const T* wr = row_w[k] + (j * cs + c);
      for (int v = 0; v < kVecs; ++v) acc[v] += Ops::ld(wr + v * L) * Ops::ld(xr + v * L);
    }
  }
  for (int v = 0; v < kVecs; ++v) Ops::st(y + c + v * L, acc[v]);
}

// Interior columns computed together: a whole row of the 7x7 planes, and
// with 3 (5) weights and one input vector within 16 registers.
constexpr int64_t kLaneCols = 8;

// The channels of a row, [c_begin, c_end): whole vectors from c_begin, then
// the channels past the last whole vector. Where cs has room for C rounded
// up to whole vectors (the driver's channels-last copies) the last vector's
// lanes past C are computed and dropped; otherwise those channels are the
// last vector's (C - L, C], computed again, rather than a scalar loop (with
// 16 lanes, 168 channels left 8 of them to it: a third of the time).
// vec(c) takes a vector at c, one(c) a single channel; the vectors start at
// c_from (a multiple of L past c_begin: the ones before it done by the caller).
template <class T, class Vec1, class One>
FVX_VEC_INLINE void for_lane_vectors(int64_t cs, int64_t c_begin, int64_t c_from, int64_t c_end, Vec1&& vec,
                                     One&& one) {
  constexpr int64_t L = kVecLanes<T>;
  const int64_t C = c_end;
  const int64_t whole = cs >= (C + L - 1) / L * L ? (C + L - 1) / L * L : C / L * L;
  for (int64_t c = c_from; c < whole; c += L) vec(c);
  if (whole < C && C - L >= c_begin) {
    vec(C - L);
    return;
  }
  for (int64_t c = std::max(whole, c_from); c < C; ++c) one(c);
}

// Interior columns [ow, ow + cols), cols <= kLaneCols, one vector at c.
template <int KW, int SW, class T>
FVX_VEC_INLINE void lane_interior_cols(const T* const* rows, const T* const* row_w, int64_t n, int64_t cs, int64_t x0,
                                       int64_t cols, int64_t c, const T* bias, T* y) {
  switch (cols) {
    case 1: return lane_interior<1, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
    case 2: return lane_interior<2, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
    case 3: return lane_interior<3, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
    case 4: return lane_interior<4, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
    case 5: return lane_interior<5, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
    case 6: return lane_interior<6, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
    case 7: return lane_interior<7, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
    default: return lane_interior<8, KW, SW>(rows, row_w, n, cs, x0, c, bias, y);
  }
}

// One output row from its n tap rows, channels [c_begin, c_end): the border
// columns with their taps clipped, the interior kLaneCols columns at a time,
// each block over all the channels (its outputs one contiguous run). KW, SW:
// the kernel width and stride as constants (3 or 5, 1 or 2), or 0 for any.
// next[0, n_next): input rows the next output row reads first (bytes each),
// prefetched whole before this row: a block's loads run over ten pixels of
// three rows at once, more streams than the hardware prefetcher follows (a
// 192@28² layer, 1 thread, input read from memory: 1.28 ms without, 0.91
// with, 0.44 in cache; a share of the row per block gained less).
template <int KW, int SW, class T>
void lane_row(const T* const* rows, const T* const* row_w, int64_t n, const T* bias, const DwConv3dShape& s,
              int64_t cs, int64_t c_begin, int64_t c_end, const T* const* next, int64_t n_next, int64_t bytes,
              Activation act, T* yrow) {
  using VecOps = LaneOps<T, true>;
  using OneOps = LaneOps<T, false>;
  constexpr int64_t L = kVecLanes<T>;
  const int64_t OW = s.out_w, sw = s.stride_w, kw = s.kw, pl = s.pad_left, in_w = s.in_w;
  // Interior: ow * sw - pl >= 0 and ow * sw - pl + kw <= in_w.
  const int64_t lo = std::min(OW, (pl + sw - 1) / sw);
  const int64_t hi = std::max(lo, std::min(OW, in_w + pl - kw >= 0 ? (in_w + pl - kw) / sw + 1 : 0));
  // The activation of columns [ow, ow + cols) as soon as they are done (in
  // L1; a pass over the row after it took a sixth of a 14² layer's time),
  // lanes [c_begin, lane1): the call's channels, rounded up to whole vectors
  // where cs has room.
  const int64_t lane1 = c_end == s.channels ? cs : c_end;
  auto activate = [&](int64_t ow, int64_t cols) {
    if (c_begin == 0 && lane1 == cs) {
      activate_in_place(yrow + ow * cs, cols * cs, act);
    } else {
      for (int64_t u = ow; u < ow + cols; ++u) activate_in_place(yrow + u * cs + c_begin, lane1 - c_begin, act);
    }
  };
  auto border = [&](int64_t ow) {
    const int64_t first = ow * sw - pl;
    const int64_t j0 = std::min(kw, std::max<int64_t>(0, -first)), j1 = std::max(j0, std::min(kw, in_w - first));
    T* y = yrow + ow * cs;
    auto vec = [&](int64_t c) { lane_border<VecOps, 1, KW>(rows, row_w, n, kw, j0, j1, cs, first, c, bias, y); };
    auto one = [&](int64_t c) { lane_border<OneOps, 1, KW>(rows, row_w, n, kw, j0, j1, cs, first, c, bias, y); };
    // Four vectors at a time: four independent chains.
    int64_t c = c_begin;
    for (; c + 4 * L <= c_end; c += 4 * L) lane_border<VecOps, 4, KW>(rows, row_w, n, kw, j0, j1, cs, first, c, bias, y);
    for_lane_vectors<T>(cs, c_begin, c, c_end, vec, one);
    activate(ow, 1);
  };
  for (int64_t i = 0; i < n_next; ++i) {
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(reinterpret_cast<const char*>(next[i]) + o, 0, 3);
  }
  for (int64_t ow = 0; ow < lo; ++ow) border(ow);
  for (int64_t ow = lo; ow < hi; ow += kLaneCols) {
    const int64_t cols = std::min(kLaneCols, hi - ow), x0 = (ow * sw - pl) * cs;
    T* y = yrow + ow * cs;
    if constexpr (KW > 0 && SW > 0) {
      for_lane_vectors<T>(
          cs, c_begin, c_begin, c_end, [&](int64_t c) { lane_interior_cols<KW, SW>(rows, row_w, n, cs, x0, cols, c, bias, y); },
          [&](int64_t c) {
            for (int64_t u = 0; u < cols; ++u)
              lane_interior_any<OneOps, 1, 1>(rows, row_w, n, kw, cs, sw, x0 + u * sw * cs, c, bias, y + u * cs);
          });
    } else {
      for (int64_t u0 = 0; u0 < cols; u0 += 4) {
        const int64_t xu = x0 + u0 * sw * cs;
        T* yu = y + u0 * cs;
        auto vec = [&](int64_t c) {
          switch (std::min<int64_t>(4, cols - u0)) {
            case 1: return lane_interior_any<VecOps, 1, 1>(rows, row_w, n, kw, cs, sw, xu, c, bias, yu);
            case 2: return lane_interior_any<VecOps, 1, 2>(rows, row_w, n, kw, cs, sw, xu, c, bias, yu);
            case 3: return lane_interior_any<VecOps, 1, 3>(rows, row_w, n, kw, cs, sw, xu, c, bias, yu);
            default: return lane_interior_any<VecOps, 1, 4>(rows, row_w, n, kw, cs, sw, xu, c, bias, yu);
          }
        };
        auto one = [&](int64_t c) {
          for (int64_t u = u0; u < std::min(cols, u0 + 4); ++u)
            lane_interior_any<OneOps, 1, 1>(rows, row_w, n, kw, cs, sw, x0 + u * sw * cs, c, bias, y + u * cs);
        };
        for_lane_vectors<T>(cs, c_begin, c_begin, c_end, vec, one);
      }
    }
    activate(ow, cols);
  }
  for (int64_t ow = hi; ow < OW; ++ow) border(ow);
}

// Output rows [begin, end) of (N, t, OH), each all channels of OW outputs.
template <class T>
void forward_lanes(const LaneArgs<T>& a, int64_t begin, int64_t end) {
  const DwConv3dShape& s = a.shape;
  const int64_t C = a.cs, frame = s.in_h * s.in_w * C, row = s.out_w * C;
  const int64_t nh = std::max<int64_t>(s.kt - 1, 1);
  const int64_t pw = (s.out_w - 1) * s.stride_w + s.kw, padded_frame = ((s.out_h - 1) * s.stride_h + s.kh) * pw * C;
  std::vector<const T*> rows(static_cast<size_t>(s.kt * s.kh)), row_w(rows.size()), next(static_cast<size_t>(s.kh));
  const bool whole_pixels = a.c_begin == 0 && a.c_end == s.channels;
  const auto row_fn = [&]() -> void (*)(const T* const*, const T* const*, int64_t, const T*, const DwConv3dShape&,
                                        int64_t, int64_t, int64_t, const T* const*, int64_t, int64_t, Activation, T*) {
    if (s.kw == 3 && s.stride_w == 1) return lane_row<3, 1, T>;
    if (s.kw == 3 && s.stride_w == 2) return lane_row<3, 2, T>;
    if (s.kw == 5 && s.stride_w == 1) return lane_row<5, 1, T>;
    if (s.kw == 5 && s.stride_w == 2) return lane_row<5, 2, T>;
    return lane_row<0, 0, T>;
  }();
  for (int64_t r = begin; r < end; ++r) {
    const int64_t oh = r % s.out_h, nt = r / s.out_h, t = nt % a.t, n = nt / a.t;
    const int64_t ih0 = oh * s.stride_h - s.pad_top;
    // The tap rows that read real input: (padded row, weight row).
    int64_t count = 0;
    for (int64_t dt = 0; dt < s.kt; ++dt) {
      const int64_t f = a.position + t - (s.kt - 1) + dt;  // absolute frame
      const T* src = nullptr;
      if (f >= a.position) {
        src = a.x + (n * a.t + f - a.position) * frame;
      } else if (f >= 0 && a.history) {
        src = a.history + (n * nh + f % nh) * (a.history_padded ? padded_frame : frame);
      }
      if (src == nullptr) continue;
      const bool ready = f < a.position && a.history_padded;
      for (int64_t i = std::max<int64_t>(0, -ih0); i < std::min(s.kh, s.in_h - ih0); ++i) {
        // Input column 0 of the row (of a padded cache row: past its left padding).
        rows[count] = ready ? src + ((ih0 + i + s.pad_top) * pw + s.pad_left) * C : src + (ih0 + i) * s.in_w * C;
        row_w[count++] = a.weight + (dt * s.kh + i) * s.kw * C;
      }
    }
    // The rows of the newest frame that output row r + 1 reads and row r
    // does not (all of them in a new frame), where this call reads whole
    // pixels (the channel groups' copies are fresh in cache).
    int64_t n_next = 0;
    if (whole_pixels && r + 1 < end) {
      const int64_t oh1 = (r + 1) % s.out_h, nt1 = (r + 1) / s.out_h;
      const int64_t ih1 = oh1 * s.stride_h - s.pad_top;
      const T* src = a.x + nt1 * frame;  // (n, t) of row r + 1: frame nt1 of x
      for (int64_t i = oh1 == 0 ? 0 : std::max<int64_t>(0, s.kh - s.stride_h); i < s.kh; ++i) {
        if (ih1 + i >= 0 && ih1 + i < s.in_h) next[n_next++] = src + (ih1 + i) * s.in_w * C;
      }
    }
    T* yrow = a.y + r * row;
    row_fn(rows.data(), row_w.data(), count, a.bias, s, C, a.c_begin, a.c_end, next.data(), n_next,
           s.in_w * C * static_cast<int64_t>(sizeof(T)), a.act, yrow);
  }
}

}  // namespace
}  // namespace FVX_DWCONV3D_SUFFIX

namespace FVX_DWCONV3D_SUFFIX {
namespace {
template <class T>
int64_t padded_numel(const DwConv3dShape& s) {
  return PlaneGeom(s, kSlackLanes<T>).size();
}
}  // namespace
}  // namespace FVX_DWCONV3D_SUFFIX

const DwConv3dKernels FVX_CONCAT(kernels__, FVX_DWCONV3D_SUFFIX) = {
    FVX_DWCONV3D_SUFFIX::padded_numel<float>,
    FVX_DWCONV3D_SUFFIX::padded_numel<double>,
    FVX_DWCONV3D_SUFFIX::forward_planes<float>,
    FVX_DWCONV3D_SUFFIX::forward_planes<double>,
    FVX_DWCONV3D_SUFFIX::backward_planes<float>,
    FVX_DWCONV3D_SUFFIX::backward_planes<double>,
    FVX_DWCONV3D_SUFFIX::forward_lanes<float>,
    FVX_DWCONV3D_SUFFIX::forward_lanes<double>,
    FVX_DWCONV3D_SUFFIX::transpose<float>,
    FVX_DWCONV3D_SUFFIX::transpose<double>,
};

}  // namespace fastvfx::dwconv3d
