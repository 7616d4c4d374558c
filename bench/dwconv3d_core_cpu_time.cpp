// The causal depthwise Conv3D of the core on the MoViNet-A0 layers of
// `fastvfx bench --only dwconv3d`: streaming step (with the padded cache),
// full clip and backward, one thread, medians of the calling thread's CPU
// time (robust to other processes on a shared machine, unlike wall time).
// Link it against two builds of the core to compare them (docs/causal_dwconv3d.md):
//   g++ -O2 -std=c++17 -Icsrc/kernels/include bench/dwconv3d_core_cpu_time.cpp
//       build-core/csrc/kernels/libfastvfx_kernels.a -lpthread -o dwconv3d_core_cpu_time
//   ISA=avx2 ./dwconv3d_core_cpu_time       # default: the best ISA of the CPU
#include <time.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include "fastvfx/causal_dwconv3d.h"
#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
using namespace fastvfx;
static double now() { timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
static double med(const std::function<void()>& fn) {
  fn(); double t0 = now(); fn(); double one = now() - t0; int reps = std::max(1, int(0.01 / std::max(one, 1e-7)));
  std::vector<double> v; double st = now();
  while (now() - st < 0.4 || v.size() < 7) { double a = now(); for (int i = 0; i < reps; ++i) fn(); v.push_back((now() - a) / reps); }
  std::sort(v.begin(), v.end()); return v[v.size() / 2];
}
int main() {
  set_default_num_threads(1);
  if (getenv("ISA")) { Isa i; if (isa_from_name(getenv("ISA"), &i)) set_active_isa(i); }
  struct L { int c, hw, kt, k, s, T; };
  for (L l : {L{40,56,5,3,1,8}, L{64,28,3,3,1,8}, L{104,14,5,3,1,8}, L{168,7,5,3,1,8}, L{24,56,1,5,2,8}, L{80,28,3,1,1,8}, L{64,28,3,3,1,50}, L{104,14,5,3,1,50}}) {
    DwConv3dShape s; s.channels = l.c; s.in_h = s.in_w = l.hw; s.kt = l.kt; s.kh = s.kw = l.k; s.stride_h = s.stride_w = l.s;
    same_padding(l.hw, l.k, l.s, &s.out_h, &s.pad_top); same_padding(l.hw, l.k, l.s, &s.out_w, &s.pad_left);
    size_t n = (size_t)l.c * l.T * l.hw * l.hw;
    std::vector<float> x(n, 0.5f), y(n), dx(n), dy(n, 0.25f), w(l.c * l.kt * l.k * l.k, 0.1f), b(l.c), dw(w.size()), db(l.c);
    std::vector<float> hist(l.c * std::max(l.kt - 1, 1) * l.hw * l.hw), pad(l.c * std::max(l.kt - 1, 1) * causal_dwconv3d_padded_numel(s, 4));
    int64_t pos = 0;
    double st = med([&] { causal_dwconv3d_forward(x.data(), 1, l.kt > 1 ? hist.data() : nullptr, l.kt > 1 ? pad.data() : nullptr, pos++, w.data(), b.data(), y.data(), s, Activation::kNone); });
    double fw = med([&] { causal_dwconv3d_forward(x.data(), l.T, nullptr, nullptr, 0, w.data(), b.data(), y.data(), s, Activation::kNone); });
    double bw = med([&] { causal_dwconv3d_backward(x.data(), dy.data(), l.T, w.data(), dx.data(), dw.data(), db.data(), s); });
    printf("%3dch %2d² k%dx%dx%d s%d T%-2d  step %7.1f us  clip %8.1f us  backward %8.1f us\n", l.c, l.hw, l.kt, l.k, l.k, l.s, l.T, st * 1e6, fw * 1e6, bw * 1e6);
  }
}
