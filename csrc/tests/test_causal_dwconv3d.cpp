// Each compiled ISA variant of the causal depthwise Conv3D against a naive
// per-output formulation (forward, streaming in chunks, and the gradients).
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.h"
#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "naive_causal_dwconv3d.h"

using namespace fastvfx;

namespace {

using namespace fvx_naive;

template <class T>
void check_forward_and_stream(const Problem& p, Activation act, double tol) {
  const auto& s = p.s;
  const auto want = reference(p, act);
  const auto x = cast<T>(p.x), w = cast<T>(p.w), b = cast<T>(p.b);
  const T* bias = b.empty() ? nullptr : b.data();
  std::vector<T> y(want.size());
  causal_dwconv3d_forward(x.data(), p.t, nullptr, nullptr, 0, w.data(), bias, y.data(), s, act);
  CHECK(close(y, want, tol), "%s forward k=(%ld,%ld,%ld) s=%ld pad=(%ld,%ld) hw=%ldx%ld act=%d",
        isa_name(active_isa()), (long)s.kt, (long)s.kh, (long)s.kw, (long)s.stride_h,
        (long)s.pad_top, (long)s.pad_left, (long)s.in_h, (long)s.in_w, (int)act);

  // Streaming in chunks of 1, 2, 3 and an uneven pattern equals the clip.
  const int64_t hw = s.in_h * s.in_w, ohw = s.out_h * s.out_w, nh = std::max<int64_t>(s.kt - 1, 1);
  const int64_t padded = causal_dwconv3d_padded_numel(s, sizeof(T));
  for (int pattern = 0; pattern < 8; ++pattern) {
    // Patterns 4..7 repeat 0..3 with the padded history cache.
    const bool cached = pattern >= 4;
    std::vector<T> hist(s.batch * s.channels * nh * hw, T(0)), ys(want.size());
    std::vector<T> cache(cached ? s.batch * s.channels * nh * padded : 0, T(0));
    int64_t pos = 0, step = 0;
    while (pos < p.t) {
      const int64_t sizes[] = {1, 2, 3, 1 + (step % 3)};
      const int64_t len = std::min(sizes[pattern % 4], p.t - pos);
      std::vector<T> xc(s.batch * s.channels * len * hw), yc(s.batch * s.channels * len * ohw);
      for (int64_t pl = 0; pl < s.batch * s.channels; ++pl)
        for (int64_t i = 0; i < len * hw; ++i) xc[pl * len * hw + i] = x[(pl * p.t + pos) * hw + i];
      causal_dwconv3d_forward(xc.data(), len, s.kt > 1 ? hist.data() : nullptr,
                              cached && s.kt > 1 ? cache.data() : nullptr, pos, w.data(), bias,
                              yc.data(), s, act);
      for (int64_t pl = 0; pl < s.batch * s.channels; ++pl)
        for (int64_t i = 0; i < len * ohw; ++i) ys[(pl * p.t + pos) * ohw + i] = yc[pl * len * ohw + i];
      pos += len;
      ++step;
    }
    CHECK(close(ys, want, tol), "%s stream pattern %d k=(%ld,%ld,%ld) s=%ld", isa_name(active_isa()),
          pattern, (long)s.kt, (long)s.kh, (long)s.kw, (long)s.stride_h);
  }
}

// Gradients against the naive ones.
template <class T>
void check_backward(const Problem& p, std::mt19937& rng, double tol) {
  const auto& s = p.s;
  std::normal_distribution<double> nd;
  std::vector<double> dy(s.batch * s.channels * p.t * s.out_h * s.out_w);
  for (auto& v : dy) v = nd(rng);
  const auto [dx, dw, db] = reference_backward(p, dy);
  const auto x = cast<T>(p.x), w = cast<T>(p.w), dyt = cast<T>(dy);
  std::vector<T> gx(dx.size()), gw(dw.size()), gb(db.size());
  causal_dwconv3d_backward(x.data(), dyt.data(), p.t, w.data(), gx.data(), gw.data(), gb.data(), s);
  CHECK(close(gx, dx, tol), "%s dx k=(%ld,%ld,%ld) s=%ld", isa_name(active_isa()), (long)s.kt,
        (long)s.kh, (long)s.kw, (long)s.stride_h);
  CHECK(close(gw, dw, tol * 10), "%s dw k=(%ld,%ld,%ld) s=%ld", isa_name(active_isa()), (long)s.kt,
        (long)s.kh, (long)s.kw, (long)s.stride_h);
  CHECK(close(gb, db, tol * 10), "%s db", isa_name(active_isa()));
  // Only dx wanted: the others stay untouched.
  std::vector<T> gx2(dx.size());
  causal_dwconv3d_backward(x.data(), dyt.data(), p.t, w.data(), gx2.data(), nullptr, nullptr, s);
  CHECK(gx2 == gx, "%s dx alone differs", isa_name(active_isa()));
}

}  // namespace

int main() {
  set_default_num_threads(3);
  std::mt19937 rng(7);
  const int64_t kernels[][3] = {{1, 3, 3}, {1, 5, 5}, {3, 3, 3}, {5, 3, 3}, {3, 1, 1},
                                {5, 1, 1}, {7, 7, 7}, {2, 1, 5}, {1, 1, 1}};
  // 40x37: rows long enough for the vectorised stride-2 column split.
  // Outputs up to 8 wide take the channel-lane engine, wider the plane one;
  // 30x16 and 15x33 the plane engine's register tiles of one and two column
  // vectors, with row blocks that overlap (3x3 and 5x5 kernels).
  const int64_t sizes[][2] = {{7, 7}, {6, 9}, {11, 4}, {1, 1}, {40, 37}, {30, 16}, {15, 33}};
  const Activation acts[] = {Activation::kNone, Activation::kReLU, Activation::kReLU6,
                             Activation::kHardswish, Activation::kSwish};

  // The check vector: ones (1,1,4,2,2), ones (3,3,3), stride 2, same -> 4, 8, 12, 12.
  {
    DwConv3dShape s;
    s.in_h = s.in_w = 2;
    s.kt = s.kh = s.kw = 3;
    s.stride_h = s.stride_w = 2;
    same_padding(2, 3, 2, &s.out_h, &s.pad_top);
    same_padding(2, 3, 2, &s.out_w, &s.pad_left);
    std::vector<float> x(16, 1.f), w(27, 1.f), y(4);
    causal_dwconv3d_forward(x.data(), 4, nullptr, nullptr, 0, w.data(), nullptr, y.data(), s, Activation::kNone);
    CHECK(s.out_h == 1 && y[0] == 4 && y[1] == 8 && y[2] == 12 && y[3] == 12,
          "check vector: %g %g %g %g", y[0], y[1], y[2], y[3]);
  }

  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    set_active_isa(isa);
    std::printf("testing %s\n", isa_name(isa));
    int count = 0;
    for (const auto& k : kernels)
      for (const auto& hw : sizes)
        for (int64_t stride : {1, 2})
          for (int64_t pad : {int64_t{-1}, int64_t{0}, k[1] / 2}) {
            if (hw[0] + 2 * std::max<int64_t>(pad, 0) < k[1] || hw[1] + 2 * std::max<int64_t>(pad, 0) < k[2]) continue;
            const Activation act = acts[count % 5];
            const int64_t n = 1 + count % 2 * 2;  // 1 or 3
            // 19 channels on some small planes: the channel-lane engine's
            // vectors and tail, not only its scalar tail.
            const int64_t c = hw[1] <= 9 && count % 3 == 1 ? 19 : 3;
            const Problem p = make(rng, n, c, 6, hw[0], hw[1], k[0], k[1], k[2], stride, pad, count % 3 != 0);
            check_forward_and_stream<float>(p, act, 1e-5);
            check_forward_and_stream<double>(p, act, 1e-12);
            if (count % 2 == 0) check_backward<float>(p, rng, 1e-5);
            check_backward<double>(p, rng, 1e-12);
            ++count;
          }
    std::printf("  %d shapes\n", count);

    // Many channels on small planes: with few threads for the channel groups
    // (two cache lines each) the lane engine runs one task per group, from
    // the transposes to the ring's update; the last group's lanes past C are
    // padding (83: 96 lanes, 150: 160).
    for (int threads : {1, 2}) {
      set_default_num_threads(threads);
      for (int64_t c : {83, 150}) {
        const int64_t group_kernels[][3] = {{5, 3, 3}, {3, 3, 3}, {1, 5, 5}};
        for (const auto& k : group_kernels) {
          for (int64_t stride : {1, 2}) {
            const Problem p = make(rng, 1 + (c % 2), c, 5, 7, 7, k[0], k[1], k[2], stride, -1, true);
            check_forward_and_stream<float>(p, acts[(c + stride) % 5], 1e-5);
            check_forward_and_stream<double>(p, Activation::kNone, 1e-12);
          }
        }
      }
    }
    set_default_num_threads(3);
  }
  return TEST_MAIN_RESULT("causal_dwconv3d");
}
