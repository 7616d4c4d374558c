// The CUDA kernels (csrc/kernels/cuda/*_kernels.h), run by the host grid
// emulator every block, phase and thread, against the naive references:
// odd sizes, aligned and misaligned pointers (the 128-bit and the scalar
// paths), every dtype, both thread orders (a kernel whose threads race within
// a phase gives order-dependent results), the in-place time order and the
// streaming ring position kept "on the device".
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "check.h"
#include "cuda/causal_dwconv3d_kernels.h"
#include "cuda/emulator.h"
#include "cuda/temporal_shift_kernels.h"
#include "cuda/tfc_kernels.h"
#include "naive_causal_dwconv3d.h"
#include "naive_temporal_shift.h"

using namespace fastvfx;
using namespace fastvfx::cuda;

namespace {

const ThreadOrder kOrders[] = {ThreadOrder::kForward, ThreadOrder::kReverse};

// A Run that emulates and records the vector width (unit bytes, or values
// per access) of the kernels it ran.
struct Recording {
  ThreadOrder order;
  int widest = 0;
  template <template <int> class K, int U> static int width(const K<U>&) { return U; }
  template <template <class, int> class K, class T, int V> static int width(const K<T, V>&) { return V; }
  static int width(...) { return 0; }
  template <class K> void operator()(const K& k, const Grid& g) {
    widest = std::max(widest, width(k));
    emulate(k, g, order);
  }
};

// A buffer whose data() is `offset` bytes past a 16-byte boundary.
template <class E> struct Buffer {
  std::vector<unsigned char> raw;
  int64_t offset;
  Buffer(size_t n, int64_t off) : raw(n * sizeof(E) + 32), offset(off) {}
  E* data() {
    const auto base = reinterpret_cast<uintptr_t>(raw.data());
    return reinterpret_cast<E*>(raw.data() + ((16 - base % 16) % 16) + offset);
  }
};

template <class T> const char* name_of();
template <> const char* name_of<float>() { return "f32"; }
template <> const char* name_of<double>() { return "f64"; }
template <> const char* name_of<half_t>() { return "f16"; }
template <> const char* name_of<bf16_t>() { return "bf16"; }

template <class T> T from_double(double v) { return store<T>(static_cast<acc_t<T>>(v)); }
template <class T> double to_double(T v) { return static_cast<double>(load(v)); }
// Values a T holds exactly, so the reference sees the kernel's inputs.
template <class T> std::vector<double> rounded(const std::vector<double>& v) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = to_double(from_double<T>(v[i]));
  return r;
}
template <class T> double tolerance() {
  if (std::is_same<T, double>::value) return 1e-12;
  if (std::is_same<T, float>::value) return 1e-5;
  if (std::is_same<T, half_t>::value) return 2e-3;  // output rounding: 2^-11
  return 1.6e-2;                                    // bf16: 2^-8
}
// |got - want| <= tol * max(1, max |want|), as the CPU tests.
template <class T> bool close_to(const T* got, const std::vector<double>& want, double tol) {
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = to_double(got[i]);
    if (!(std::abs(g - want[i]) <= tol * scale)) return false;
  }
  return true;
}

// ---- temporal shift -------------------------------------------------------

template <class E> void check_shift(const fvx_naive::Case& k, int64_t misalign, std::mt19937& rng, int& vector_runs) {
  const ShiftShape s = fvx_naive::shape_of(k, sizeof(E));
  const size_t n = k.n * k.t * k.rows * k.c * k.inner;
  std::vector<E> x(n);
  for (auto& v : x) v = static_cast<E>(rng());
  const auto want = fvx_naive::reference(k, x);
  for (ThreadOrder order : kOrders) {
    Buffer<E> src(n, misalign), dst(n, misalign);
    std::memcpy(src.data(), x.data(), n * sizeof(E));
    std::memset(dst.data(), 0x5A, n * sizeof(E));
    Recording run{order};
    temporal_shift_run(src.data(), dst.data(), s, k.mode, k.reverse, run);
    if (run.widest == 16) ++vector_runs;
    CHECK(std::memcmp(dst.data(), want.data(), n * sizeof(E)) == 0,
          "shift %zu-byte n=%ld t=%ld rows=%ld c=%ld inner=%ld div=%ld mode=%d rev=%d misalign=%ld unit=%d",
          sizeof(E), (long)k.n, (long)k.t, (long)k.rows, (long)k.c, (long)k.inner, (long)k.fold_div,
          (int)k.mode, (int)k.reverse, (long)misalign, run.widest);
    // In place: one launch, same result, in either thread order.
    Recording inplace{order};
    temporal_shift_inplace_run(src.data(), s, k.mode, k.reverse, inplace);
    CHECK(std::memcmp(src.data(), want.data(), n * sizeof(E)) == 0,
          "shift_ %zu-byte n=%ld t=%ld rows=%ld c=%ld inner=%ld div=%ld mode=%d rev=%d misalign=%ld order=%d",
          sizeof(E), (long)k.n, (long)k.t, (long)k.rows, (long)k.c, (long)k.inner, (long)k.fold_div,
          (int)k.mode, (int)k.reverse, (long)misalign, (int)order);
  }
}

template <class E> void check_online_swap(int64_t n, int64_t rows, int64_t c, int64_t inner, int64_t fold,
                                          int64_t misalign, std::mt19937& rng) {
  const size_t nx = n * rows * c * inner, nc = n * rows * fold * inner;
  Buffer<E> x(nx, misalign), cache(nc, misalign);
  for (size_t i = 0; i < nx; ++i) x.data()[i] = static_cast<E>(rng());
  for (size_t i = 0; i < nc; ++i) cache.data()[i] = static_cast<E>(rng());
  const std::vector<E> x0(x.data(), x.data() + nx), c0(cache.data(), cache.data() + nc);
  ShiftShape s;
  s.n_batch = n, s.rows = rows, s.channels = c, s.inner = inner, s.fold = fold, s.elem_size = sizeof(E);
  temporal_shift_online_swap_run(x.data(), cache.data(), s, Emulate{ThreadOrder::kReverse});
  bool ok = true;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t xi = ((b * rows + r) * c + ch) * inner + i;
          if (ch < fold) {
            const int64_t ci = ((b * rows + r) * fold + ch) * inner + i;
            ok &= x.data()[xi] == c0[ci] && cache.data()[ci] == x0[xi];
          } else {
            ok &= x.data()[xi] == x0[xi];
          }
        }
  CHECK(ok, "online swap %zu-byte n=%ld rows=%ld c=%ld inner=%ld fold=%ld misalign=%ld", sizeof(E), (long)n,
        (long)rows, (long)c, (long)inner, (long)fold, (long)misalign);
}

void test_temporal_shift(std::mt19937& rng) {
  // n, t, h*w, c
  const int64_t shapes[][4] = {{1, 8, 7 * 7, 16}, {2, 3, 5 * 3, 13}, {1, 1, 4, 8},
                               {3, 4, 1, 64},     {2, 5, 8, 24},     {1, 2, 33, 7}};
  int cases = 0, vector_runs = 0;
  for (const auto& sh : shapes)
    for (int layout = 0; layout < 2; ++layout)
      for (int64_t div : {1, 3, 4, 8})
        for (ShiftMode mode : {ShiftMode::kBidirectional, ShiftMode::kPast})
          for (bool rev : {false, true}) {
            const fvx_naive::Case k{sh[0], sh[1], layout ? sh[2] : 1, sh[3], layout ? 1 : sh[2], div, mode, rev};
            for (int64_t misalign : {0, 2}) {  // 2: a 16-bit aligned address
              check_shift<uint16_t>(k, misalign, rng, vector_runs);
              check_shift<uint32_t>(k, misalign * 2, rng, vector_runs);
            }
            check_shift<uint64_t>(k, 0, rng, vector_runs);
            check_shift<uint64_t>(k, 8, rng, vector_runs);
            ++cases;
          }
  CHECK(vector_runs > 0, "no shift ran the 16-byte path");
  for (int64_t fold : {1, 3, 8}) {
    check_online_swap<uint32_t>(2, 1, 16, 7 * 7, fold, 0, rng);  // NCHW
    check_online_swap<uint32_t>(2, 1, 16, 7 * 7, fold, 4, rng);
    check_online_swap<uint32_t>(2, 7 * 7, 16, 1, fold, 0, rng);  // NHWC
    check_online_swap<uint16_t>(3, 5, 24, 1, fold, 2, rng);
    check_online_swap<uint64_t>(1, 9, 8, 2, fold, 8, rng);
  }
  std::printf("temporal shift: %d cases, %d runs on the 16-byte path\n", cases, vector_runs);
}

// ---- causal depthwise Conv3D ----------------------------------------------

using fvx_naive::Problem;

// Writes v (double) into a T buffer.
template <class T> void fill(T* dst, const std::vector<double>& v) {
  for (size_t i = 0; i < v.size(); ++i) dst[i] = from_double<T>(v[i]);
}

template <class T> void check_dwconv_forward(Problem p, Activation act, std::mt19937& rng, int& vector_runs) {
  const auto& s = p.s;
  p.x = rounded<T>(p.x), p.w = rounded<T>(p.w), p.b = rounded<T>(p.b);
  const auto want = fvx_naive::reference(p, act);
  const double tol = tolerance<T>();
  Buffer<T> x(p.x.size(), 0), w(p.w.size(), 0), b(p.b.size(), 0);
  fill(x.data(), p.x), fill(w.data(), p.w), fill(b.data(), p.b);
  const T* bias = p.b.empty() ? nullptr : b.data();
  for (int64_t misalign : {int64_t{0}, int64_t{sizeof(T)}}) {
    Buffer<T> y(want.size(), misalign);
    Recording run{kOrders[rng() % 2]};
    dwconv3d_forward_run<T>(x.data(), p.t, nullptr, nullptr, w.data(), bias, y.data(), s, act, run);
    if (run.widest > 1) ++vector_runs;
    CHECK(close_to(y.data(), want, tol), "dwconv %s forward k=(%ld,%ld,%ld) s=%ld pad=(%ld,%ld) hw=%ldx%ld act=%d V=%d",
          name_of<T>(), (long)s.kt, (long)s.kh, (long)s.kw, (long)s.stride_h, (long)s.pad_top, (long)s.pad_left,
          (long)s.in_h, (long)s.in_w, (int)act, run.widest);
  }
  // Streaming in chunks (1, 2, 3, uneven) with the position on the "device":
  // the kernels read and advance it, and the outputs equal the clip.
  const int64_t hw = s.in_h * s.in_w, ohw = s.out_h * s.out_w, ring = std::max<int64_t>(s.kt - 1, 1);
  for (int pattern = 0; pattern < 4; ++pattern) {
    std::vector<T> history(s.batch * s.channels * ring * hw, from_double<T>(0));
    std::vector<double> ys(want.size());
    int64_t position = 0, done = 0, step = 0;
    while (done < p.t) {
      const int64_t sizes[] = {1, 2, 3, 1 + step % 3};
      const int64_t len = std::min(sizes[pattern], p.t - done);
      std::vector<T> xc(s.batch * s.channels * len * hw), yc(s.batch * s.channels * len * ohw);
      for (int64_t pl = 0; pl < s.batch * s.channels; ++pl)
        for (int64_t i = 0; i < len * hw; ++i) xc[pl * len * hw + i] = x.data()[(pl * p.t + done) * hw + i];
      Emulate run{kOrders[step % 2]};
      dwconv3d_forward_run<T>(xc.data(), len, s.kt > 1 ? history.data() : nullptr, &position, w.data(), bias,
                              yc.data(), s, act, run);
      for (int64_t pl = 0; pl < s.batch * s.channels; ++pl)
        for (int64_t i = 0; i < len * ohw; ++i) ys[(pl * p.t + done) * ohw + i] = to_double(yc[pl * len * ohw + i]);
      done += len;
      ++step;
      CHECK(position == done, "dwconv stream: position %ld after %ld frames", (long)position, (long)done);
    }
    std::vector<T> ys_t(ys.size());
    fill(ys_t.data(), ys);
    CHECK(close_to(ys_t.data(), want, tol), "dwconv %s stream pattern %d k=(%ld,%ld,%ld) s=%ld", name_of<T>(),
          pattern, (long)s.kt, (long)s.kh, (long)s.kw, (long)s.stride_h);
    // The ring holds the last kT-1 frames, frame a in slot a mod (kT-1).
    bool ring_ok = true;
    for (int64_t pl = 0; pl < s.batch * s.channels && s.kt > 1; ++pl)
      for (int64_t a = std::max<int64_t>(0, p.t - ring); a < p.t; ++a)
        for (int64_t i = 0; i < hw; ++i)
          ring_ok &= to_double(history[(pl * ring + a % ring) * hw + i]) == to_double(x.data()[(pl * p.t + a) * hw + i]);
    CHECK(ring_ok, "dwconv %s stream ring contents, pattern %d", name_of<T>(), pattern);
  }
}

template <class T> void check_dwconv_backward(Problem p, std::mt19937& rng) {
  const auto& s = p.s;
  p.x = rounded<T>(p.x), p.w = rounded<T>(p.w);
  std::normal_distribution<double> nd;
  std::vector<double> dy(s.batch * s.channels * p.t * s.out_h * s.out_w);
  for (auto& v : dy) v = nd(rng);
  dy = rounded<T>(dy);
  const auto want = fvx_naive::reference_backward(p, dy);
  // dweight and dbias sum over N*T*OH*OW products: looser for 16-bit outputs.
  const double tol = tolerance<T>();
  Buffer<T> x(p.x.size(), 0), w(p.w.size(), 0), g(dy.size(), 0), dx(p.x.size(), 0), dw(p.w.size(), 0),
      db(s.channels, 0);
  fill(x.data(), p.x), fill(w.data(), p.w), fill(g.data(), dy);
  dwconv3d_backward_run<T>(x.data(), g.data(), p.t, w.data(), dx.data(), dw.data(), db.data(), s,
                           Emulate{kOrders[rng() % 2]});
  CHECK(close_to(dx.data(), want.dx, tol), "dwconv %s dx k=(%ld,%ld,%ld) s=%ld", name_of<T>(), (long)s.kt,
        (long)s.kh, (long)s.kw, (long)s.stride_h);
  CHECK(close_to(dw.data(), want.dw, tol * 10), "dwconv %s dw k=(%ld,%ld,%ld) s=%ld", name_of<T>(), (long)s.kt,
        (long)s.kh, (long)s.kw, (long)s.stride_h);
  CHECK(close_to(db.data(), want.db, tol * 10), "dwconv %s db", name_of<T>());
  // Masked: dbias alone is the same.
  Buffer<T> db2(s.channels, 0);
  dwconv3d_backward_run<T>(x.data(), g.data(), p.t, w.data(), nullptr, nullptr, db2.data(), s, Emulate{});
  CHECK(std::memcmp(db2.data(), db.data(), s.channels * sizeof(T)) == 0, "dwconv %s db alone differs", name_of<T>());
}

void test_causal_dwconv3d(std::mt19937& rng) {
  const int64_t kernels[][3] = {{1, 3, 3}, {3, 3, 3}, {5, 1, 1}, {2, 1, 5}, {3, 5, 5}};
  const int64_t sizes[][2] = {{7, 7}, {6, 8}, {1, 1}, {9, 16}};
  const Activation acts[] = {Activation::kNone, Activation::kReLU, Activation::kReLU6, Activation::kHardswish,
                             Activation::kSwish};
  // The check vector: ones (1,1,4,2,2), ones (3,3,3), stride 2, same -> 4, 8, 12, 12.
  {
    DwConv3dShape s;
    s.in_h = s.in_w = 2;
    s.kt = s.kh = s.kw = 3;
    s.stride_h = s.stride_w = 2;
    same_padding(2, 3, 2, &s.out_h, &s.pad_top);
    same_padding(2, 3, 2, &s.out_w, &s.pad_left);
    std::vector<float> x(16, 1.f), w(27, 1.f), y(4);
    dwconv3d_forward_run<float>(x.data(), 4, nullptr, nullptr, w.data(), nullptr, y.data(), s, Activation::kNone,
                                Emulate{});
    CHECK(s.out_h == 1 && y[0] == 4 && y[1] == 8 && y[2] == 12 && y[3] == 12, "check vector: %g %g %g %g", y[0],
          y[1], y[2], y[3]);
  }
  int count = 0, vector_runs = 0;
  for (const auto& k : kernels)
    for (const auto& hw : sizes)
      for (int64_t stride : {1, 2, 3})
        for (int64_t pad : {int64_t{-1}, int64_t{0}, k[1] / 2}) {
          if (hw[0] + 2 * std::max<int64_t>(pad, 0) < k[1] || hw[1] + 2 * std::max<int64_t>(pad, 0) < k[2]) continue;
          const Activation act = acts[count % 5];
          const int64_t n = 1 + count % 2;
          const Problem p = fvx_naive::make(rng, n, 3, 5, hw[0], hw[1], k[0], k[1], k[2], stride, pad, count % 3 != 0);
          check_dwconv_forward<float>(p, act, rng, vector_runs);
          check_dwconv_forward<double>(p, act, rng, vector_runs);
          check_dwconv_forward<half_t>(p, act, rng, vector_runs);
          check_dwconv_forward<bf16_t>(p, act, rng, vector_runs);
          check_dwconv_backward<float>(p, rng);
          check_dwconv_backward<double>(p, rng);
          if (count % 3 == 0) {
            check_dwconv_backward<half_t>(p, rng);
            check_dwconv_backward<bf16_t>(p, rng);
          }
          ++count;
        }
  // Strides up to 8 (the binding's limit).
  for (int64_t stride : {5, 8}) {
    const Problem p = fvx_naive::make(rng, 1, 2, 3, 17, 19, 2, 3, 3, stride, -1, true);
    check_dwconv_forward<float>(p, Activation::kReLU, rng, vector_runs);
    check_dwconv_backward<float>(p, rng);
  }
  CHECK(vector_runs > 0, "no dwconv forward ran the vector path");
  std::printf("causal dwconv3d: %d shapes, %d runs on the vector path\n", count, vector_runs);
}

// ---- TFC ----------------------------------------------------------------------

template <class T> void check_pool(int64_t n, int64_t c, int64_t hw, bool channels_last, PoolKind kind,
                                   int64_t misalign, bool with_nan, std::mt19937& rng) {
  std::normal_distribution<double> nd;
  std::vector<double> x(n * c * hw);
  for (auto& v : x) v = nd(rng);
  if (with_nan) x[x.size() / 2] = NAN;
  x = rounded<T>(x);
  std::vector<double> want(n * c);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t ch = 0; ch < c; ++ch) {
      double acc = kind == PoolKind::kMax ? -INFINITY : 0;
      for (int64_t p = 0; p < hw; ++p) {
        const double v = x[channels_last ? (s * hw + p) * c + ch : (s * c + ch) * hw + p];
        acc = kind == PoolKind::kMax ? (std::isnan(v) || std::isnan(acc) ? NAN : std::max(acc, v)) : acc + v;
      }
      want[s * c + ch] = kind == PoolKind::kMax ? acc : acc / hw;
    }
  Buffer<T> xb(x.size(), misalign);
  fill(xb.data(), x);
  std::vector<T> out(n * c);
  Recording run{kOrders[rng() % 2]};
  global_pool2d_run<T>(xb.data(), out.data(), PoolShape{n, c, hw, channels_last}, kind, run);
  bool ok = true;
  for (int64_t i = 0; i < n * c; ++i) {
    const double g = to_double(out[i]);
    ok &= std::isnan(want[i]) ? std::isnan(g) : std::abs(g - want[i]) <= tolerance<T>() * std::max(1.0, std::abs(want[i]));
  }
  CHECK(ok, "pool %s n=%ld c=%ld hw=%ld nhwc=%d max=%d misalign=%ld nan=%d V=%d", name_of<T>(), (long)n, (long)c,
        (long)hw, (int)channels_last, (int)kind, (long)misalign, (int)with_nan, run.widest);
}

template <class T> void check_gate_and_fold(int64_t n, int64_t c, int64_t hidden, bool biases, std::mt19937& rng) {
  std::normal_distribution<double> nd;
  auto randn = [&](size_t size) {
    std::vector<double> v(size);
    for (auto& e : v) e = nd(rng);
    return rounded<T>(v);
  };
  const auto pooled = randn(n * c), w1 = randn(hidden * c), b1 = randn(hidden), w2 = randn(c * hidden),
             b2 = randn(c);
  std::vector<double> want(n * c);
  for (int64_t s = 0; s < n; ++s) {
    std::vector<double> h(hidden);
    for (int64_t j = 0; j < hidden; ++j) {
      double a = biases ? b1[j] : 0;
      for (int64_t i = 0; i < c; ++i) a += w1[j * c + i] * pooled[s * c + i];
      h[j] = std::max(a, 0.0);
    }
    for (int64_t i = 0; i < c; ++i) {
      double a = biases ? b2[i] : 0;
      for (int64_t j = 0; j < hidden; ++j) a += w2[i * hidden + j] * h[j];
      want[s * c + i] = 1 / (1 + std::exp(-a));
    }
  }
  std::vector<T> tp(pooled.size()), tw1(w1.size()), tb1(b1.size()), tw2(w2.size()), tb2(b2.size()), scale(n * c);
  fill(tp.data(), pooled), fill(tw1.data(), w1), fill(tb1.data(), b1), fill(tw2.data(), w2), fill(tb2.data(), b2);
  const bool launched = tfc_gate_run<T>(tp.data(), n, c, hidden, tw1.data(), biases ? tb1.data() : nullptr, tw2.data(),
                                        biases ? tb2.data() : nullptr, scale.data(), Emulate{kOrders[rng() % 2]});
  CHECK(launched && close_to(scale.data(), want, tolerance<T>()), "gate %s n=%ld c=%ld hidden=%ld bias=%d",
        name_of<T>(), (long)n, (long)c, (long)hidden, (int)biases);

  // Per-sample folded weights of a (cout, c, 3x1) conv.
  const int64_t cout = 5, k = 3;
  const auto w = randn(cout * c * k);
  std::vector<T> tw(w.size()), wn(n * w.size());
  fill(tw.data(), w);
  fold_scale_run<T>(tw.data(), scale.data(), wn.data(), n, cout, c, k, Emulate{});
  std::vector<double> want_w(wn.size());
  for (int64_t s = 0; s < n; ++s)
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t i = 0; i < c; ++i)
        for (int64_t q = 0; q < k; ++q)
          want_w[((s * cout + o) * c + i) * k + q] = w[(o * c + i) * k + q] * to_double(scale[s * c + i]);
  CHECK(close_to(wn.data(), want_w, tolerance<T>()), "fold %s n=%ld c=%ld", name_of<T>(), (long)n, (long)c);
}

template <class T> void test_tfc_dtype(std::mt19937& rng) {
  const int64_t shapes[][3] = {{2, 3, 7 * 7}, {1, 16, 8 * 8}, {3, 5, 1}, {2, 9, 600}, {1, 4, 13}};
  for (const auto& sh : shapes)
    for (bool nhwc : {false, true})
      for (PoolKind kind : {PoolKind::kAvg, PoolKind::kMax})
        for (int64_t misalign : {int64_t{0}, int64_t{sizeof(T)}}) check_pool<T>(sh[0], sh[1], sh[2], nhwc, kind, misalign, false, rng);
  check_pool<T>(2, 3, 64, false, PoolKind::kMax, 0, true, rng);
  check_pool<T>(2, 3, 64, true, PoolKind::kMax, 0, true, rng);
  check_gate_and_fold<T>(2, 16, 4, true, rng);
  check_gate_and_fold<T>(3, 7, 300, false, rng);  // hidden > block size
}

}  // namespace

int main() {
  std::mt19937 rng(11);
  test_temporal_shift(rng);
  test_causal_dwconv3d(rng);
  test_tfc_dtype<float>(rng);
  test_tfc_dtype<double>(rng);
  test_tfc_dtype<half_t>(rng);
  test_tfc_dtype<bf16_t>(rng);
  return TEST_MAIN_RESULT("cuda_emulated");
}
