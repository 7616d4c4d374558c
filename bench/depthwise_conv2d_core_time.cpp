// The depthwise 2-D op of the core on MobileNetV2's 3x3 layers (batch 8,
// fused ReLU6): channels_last and (N, C, H, W) input, medians of wall time
// (THREADS, default 1), data in cache. Link it against two builds of the
// core to compare them (docs/depthwise_conv2d.md, "Stop 30"):
//   g++ -O2 -std=c++17 -Icsrc/kernels/include bench/depthwise_conv2d_core_time.cpp
//       build-core/csrc/kernels/libfastvfx_kernels.a -lpthread -o depthwise_conv2d_core_time
//   THREADS=1 ./depthwise_conv2d_core_time [192@28s2]   # one layer by name
#include <time.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include <string>
#include "fastvfx/depthwise_conv2d.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
using namespace fastvfx;
static double now() { timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
static double med(const std::function<void()>& fn) {
  fn(); double t0 = now(); fn(); double one = now() - t0; int reps = std::max(1, int(0.01 / std::max(one, 1e-7)));
  std::vector<double> v; double st = now();
  while (now() - st < 0.5 || v.size() < 7) { double a = now(); for (int i = 0; i < reps; ++i) fn(); v.push_back((now() - a) / reps); }
  std::sort(v.begin(), v.end()); return v[v.size() / 2];
}
int main(int argc, char** argv) {
  set_default_num_threads(getenv("THREADS") ? atoi(getenv("THREADS")) : 1);
  const char* only = argc > 1 ? argv[1] : nullptr;
  struct L { int c, hw, s; };
  for (L l : {L{32,112,1}, L{96,112,2}, L{144,56,1}, L{144,56,2}, L{192,28,1}, L{192,28,2}, L{384,14,1}, L{576,14,1}, L{576,14,2}, L{960,7,1}}) {
    char name[64]; snprintf(name, sizeof name, "%d@%ds%d", l.c, l.hw, l.s);
    if (only && std::string(only) != name) continue;
    DwConv3dShape s; s.batch = 8; s.channels = l.c; s.in_h = s.in_w = l.hw; s.kt = 1; s.kh = s.kw = 3; s.stride_h = s.stride_w = l.s;
    s.out_h = s.out_w = symmetric_output(l.hw, 3, l.s, 1); s.pad_top = s.pad_left = 1;
    size_t n = (size_t)8 * l.c * l.hw * l.hw, no = (size_t)8 * l.c * s.out_h * s.out_w;
    std::vector<float> x(n, 0.5f), y(no), w(l.c * 9, 0.1f), b(l.c);
    double cl = med([&] { depthwise_conv2d_channels_last_forward(x.data(), w.data(), b.data(), y.data(), s, Activation::kReLU6); });
    double cf = med([&] { depthwise_conv2d_forward(x.data(), w.data(), b.data(), y.data(), s, Activation::kReLU6); });
    double gf = 2.0 * no * 9 / 1e9;
    printf("%-10s  NHWC %8.1f us (%5.1f GF/s)  NCHW %8.1f us (%5.1f GF/s)\n", name, cl * 1e6, gf / cl, cf * 1e6, gf / cf);
  }
}
