// fastvfx_bench: times every ISA variant of the core kernels against the
// scalar one on the machine it runs on (a board, typically) and prints a
// table. Usage: fastvfx_bench [--quick] [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "fastvfx/temporal_shift.h"
#include "fastvfx/tfc.h"
#include "fastvfx/version.h"

using namespace fastvfx;

namespace {

struct Case {
  std::string kernel, shape;
  std::function<void()> run;
};

double median_ms(const std::function<void()>& fn, int reps) {
  fn();  // warm-up
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

ShiftShape clip(int64_t frames, int64_t c, int64_t hw, bool nhwc) {
  ShiftShape s;
  s.n_segment = 8;
  s.n_batch = frames / 8;
  s.channels = c;
  s.rows = nhwc ? hw : 1;
  s.inner = nhwc ? 1 : hw;
  s.fold = c / 8;
  s.elem_size = 4;
  return s;
}

DwConv3dShape layer(int64_t c, int64_t hw, int64_t kt, int64_t k, int64_t stride) {
  DwConv3dShape s;
  s.channels = c;
  s.in_h = s.in_w = hw;
  s.kt = kt;
  s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride;
  same_padding(hw, k, stride, &s.out_h, &s.pad_top);
  same_padding(hw, k, stride, &s.out_w, &s.pad_left);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 30;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      reps = 3;
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      set_default_num_threads(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  std::printf("fastvfx %s core benchmark, %d threads, best ISA %s\n", FASTVFX_VERSION_STRING,
              default_num_threads(), isa_name(best_isa()));

  // Buffers shared by the cases (sized for the largest).
  std::vector<float> a(8 * 64 * 56 * 56, 1.f), b(a.size()), cache(64 * 56 * 56 / 8, 0.f);
  std::vector<Case> cases;
  for (bool nhwc : {false, true}) {
    const ShiftShape s = clip(8, 64, 56 * 56, nhwc);
    const std::string shape = std::string("8x64x56x56 ") + (nhwc ? "NHWC" : "NCHW");
    cases.push_back({"shift out-of-place", shape, [&, s] {
                       temporal_shift(a.data(), b.data(), s, ShiftMode::kBidirectional, false);
                     }});
    cases.push_back({"shift in place", shape, [&, s] {
                       temporal_shift_inplace(a.data(), s, ShiftMode::kBidirectional, false);
                     }});
  }
  {
    ShiftShape s = clip(8, 64, 56 * 56, false);
    s.n_batch = 1;
    cases.push_back({"online swap", "1x64x56x56 NCHW", [&, s] { temporal_shift_online_swap(a.data(), cache.data(), s); }});
  }
  struct Layer {
    int64_t c, hw, kt, k, stride;
  };
  for (const Layer& l : {Layer{40, 56, 5, 3, 1}, Layer{104, 14, 5, 3, 1}, Layer{24, 56, 1, 5, 2}}) {
    const DwConv3dShape s = layer(l.c, l.hw, l.kt, l.k, l.stride);
    auto hist = std::make_shared<std::vector<float>>(l.c * (l.kt - 1) * l.hw * l.hw, 0.f);
    auto padded = std::make_shared<std::vector<float>>(l.c * (l.kt - 1) * causal_dwconv3d_padded_numel(s, 4), 0.f);
    auto w = std::make_shared<std::vector<float>>(l.c * l.kt * l.k * l.k, 0.1f);
    auto pos = std::make_shared<int64_t>(0);
    char shape[64];
    std::snprintf(shape, sizeof shape, "%ldx%ldx%ld k(%ld,%ld,%ld) s%ld", (long)l.c, (long)l.hw, (long)l.hw,
                  (long)l.kt, (long)l.k, (long)l.k, (long)l.stride);
    // Without and with the fused swish (MoViNet's 3D activation): the
    // difference of the two rows is what the activation costs.
    for (const Activation act : {Activation::kNone, Activation::kSwish}) {
      cases.push_back({act == Activation::kNone ? "dwconv3d step" : "dwconv3d step+swish", shape,
                       [&, s, hist, padded, w, pos, act] {
                         causal_dwconv3d_forward(a.data(), 1, s.kt > 1 ? hist->data() : nullptr,
                                                 s.kt > 1 ? padded->data() : nullptr, (*pos)++, w->data(), nullptr,
                                                 b.data(), s, act);
                       }});
    }
  }
  {
    PoolShape ps;
    ps.channels = 64;
    ps.hw = 56 * 56;
    cases.push_back({"tfc pool (avg)", "1x64x56x56", [&, ps] { global_pool2d(a.data(), b.data(), ps, PoolKind::kAvg); }});
  }
  // The released SqueezeTime TFC convs (1x1, Cin = Cout), the scale folded in.
  struct Stage {
    int64_t c, hw;
  };
  for (const Stage& l : {Stage{64, 56}, Stage{256, 14}, Stage{512, 7}}) {
    ScaledConvShape s;
    s.in_channels = s.out_channels = l.c;
    s.in_h = s.in_w = l.hw;
    auto w = std::make_shared<std::vector<float>>(l.c * l.c, 0.01f);
    auto scale = std::make_shared<std::vector<float>>(l.c, 0.5f);
    char shape[64];
    std::snprintf(shape, sizeof shape, "1x%ldx%ldx%ld 1x1", (long)l.c, (long)l.hw, (long)l.hw);
    cases.push_back({"tfc scaled conv", shape, [&, s, w, scale] {
                       scaled_conv2d(a.data(), scale->data(), w->data(), nullptr, b.data(), s);
                     }});
  }

  std::printf("%-20s %-28s %-8s %10s %10s\n", "kernel", "shape", "isa", "ms", "vs scalar");
  for (const Case& c : cases) {
    double scalar_ms = 0;
    for (int i = 0; i < kIsaCount; ++i) {
      const Isa isa = static_cast<Isa>(i);
      if (!set_active_isa(isa)) continue;
      const double ms = median_ms(c.run, reps);
      if (isa == Isa::kScalar) scalar_ms = ms;
      std::printf("%-20s %-28s %-8s %10.4f %9.2fx\n", c.kernel.c_str(), c.shape.c_str(), isa_name(isa), ms,
                  scalar_ms / ms);
    }
  }
  set_active_isa(best_isa());
  return 0;
}
