// The TFC gate and the channel-scaled conv of the torch-free core (used by
// the C API and board builds; the torch binding hands the GEMM to at::bmm).
//
// The conv is a GEMM per sample, y[n] (Cout x OH*OW) = (W * scale[n]) (Cout x
// Cin*kH*kW) · im2col(x[n]), tiled the usual way: a task owns an mc x nc block
// of one sample's output; for each kc-deep slice of K it packs the scaled
// weights into mr-row panels (the scale folded in while packing, so x * scale
// is never written) and the input columns into nr-column panels (im2col done
// while packing; a 1x1 stride-1 conv copies rows), then the ISA's microkernel
// sweeps every a panel over every b panel.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fastvfx/parallel.h"
#include "fastvfx/tfc.h"
#include "../pointwise/pointwise_ukernels.h"
#include "gemm_ukernels.h"

namespace fastvfx {
namespace tfc {

const GemmKernel& gemm_kernel_for(Isa isa) {
  static const struct Table {
    const GemmKernel* by_isa[kIsaCount] = {};
    Table() {
#define FVX_GEMM_VARIANT(isa_enum, suffix) by_isa[static_cast<int>(Isa::isa_enum)] = &gemm__##suffix;
#include "gemm_variants.inc"
#undef FVX_GEMM_VARIANT
      for (auto& k : by_isa) {
        if (k == nullptr) k = by_isa[static_cast<int>(Isa::kScalar)];
      }
    }
  } table;
  return *table.by_isa[static_cast<int>(isa)];
}

}  // namespace tfc

namespace {

// kc: a packed a panel (mr x kc) stays in L1 while b panels stream past it.
// nc: the packed b block (kc x nc floats, 256 KiB) stays in L2 while every a
// panel of the task sweeps it. mc: rows per task, enough tasks to spread
// a batch-1 7x7 stage (N = 49) over the threads by rows.
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 128;
constexpr int64_t kNc = 256;

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

bool is_plain_1x1(const ScaledConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
}

// Columns [j0, j0 + nc) and rows [k0, k0 + kc) of sample xs's im2col matrix
// into panels of nr columns (kc x nr each, zero-filled past nc).
void pack_b(const float* xs, const ScaledConvShape& s, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
            int64_t nr, float* out) {
  const int64_t ow = s.out_w();
  const int64_t plane = s.in_h * s.in_w;
  const int64_t taps = s.kh * s.kw;
  const bool direct = is_plain_1x1(s);
  for (int64_t p0 = 0; p0 < nc; p0 += nr) {
    const int64_t w = std::min(nr, nc - p0);
    float* panel = out + p0 * kc;
    for (int64_t k = 0; k < kc; ++k) {
      float* dst = panel + k * nr;
      const int64_t kk = k0 + k;
      if (direct) {
        std::memcpy(dst, xs + kk * plane + j0 + p0, static_cast<size_t>(w) * sizeof(float));
      } else {
        const float* src = xs + (kk / taps) * plane;
        const int64_t dy = (kk % taps) / s.kw, dx = kk % s.kw;
        int64_t oh = (j0 + p0) / ow, owi = (j0 + p0) % ow;
        for (int64_t q = 0; q < w; ++q) {
          const int64_t ih = oh * s.stride_h - s.pad_h + dy;
          const int64_t iw = owi * s.stride_w - s.pad_w + dx;
          dst[q] = (ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w) ? src[ih * s.in_w + iw] : 0.f;
          if (++owi == ow) {
            owi = 0;
            ++oh;
          }
        }
      }
      std::fill(dst + w, dst + nr, 0.f);
    }
  }
}

// Rows [m0, m0 + mc) and columns [k0, k0 + kc) of weight (M x K), each
// column k times scale[k / taps], into panels of mr rows (kc x mr each,
// zero-filled past mc).
void pack_a(const float* weight, const float* scale, int64_t K, int64_t taps, int64_t k0, int64_t kc,
            int64_t m0, int64_t mc, int64_t mr, float* out) {
  for (int64_t p0 = 0; p0 < mc; p0 += mr) {
    float* panel = out + p0 * kc;
    for (int64_t i = 0; i < mr; ++i) {
      if (p0 + i >= mc) {
        for (int64_t k = 0; k < kc; ++k) panel[k * mr + i] = 0.f;
        continue;
      }
      const float* row = weight + (m0 + p0 + i) * K + k0;
      if (scale == nullptr) {
        for (int64_t k = 0; k < kc; ++k) panel[k * mr + i] = row[k];
      } else {
        for (int64_t k = 0; k < kc; ++k) panel[k * mr + i] = row[k] * scale[(k0 + k) / taps];
      }
    }
  }
}

}  // namespace

void scaled_conv2d(const float* x, const float* scale, const float* weight, const float* bias, float* y,
                   const ScaledConvShape& s) {
  const tfc::GemmKernel& g = tfc::gemm_kernel_for(active_isa());
  const int64_t taps = s.kh * s.kw;
  const int64_t M = s.out_channels, K = s.in_channels * taps, N = s.out_h() * s.out_w();
  if (s.n_batch <= 0 || M <= 0 || N <= 0) return;
  const int64_t mc = round_up(std::min(M, kMc), g.mr);
  const int64_t nc = round_up(std::min(N, kNc), g.nr);
  const int64_t kc_max = std::min(K, kKc);
  const int64_t m_tiles = (M + mc - 1) / mc, n_tiles = (N + nc - 1) / nc;
  const int64_t in_numel = s.in_channels * s.in_h * s.in_w;
  // A task is worth splitting off when it has a few hundred thousand FMAs.
  const int64_t task_fmas = std::min(M, mc) * std::min(N, nc) * K;
  const int64_t grain = std::max<int64_t>(1, (1 << 18) / std::max<int64_t>(task_fmas, 1));
  parallel_for(0, s.n_batch * m_tiles * n_tiles, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> a_pack(static_cast<size_t>(mc * kc_max)), b_pack(static_cast<size_t>(nc * kc_max));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / (m_tiles * n_tiles);
      const int64_t m0 = (task / n_tiles % m_tiles) * mc, j0 = task % n_tiles * nc;
      const int64_t m_len = std::min(mc, M - m0), n_len = std::min(nc, N - j0);
      const float* xs = x + n * in_numel;
      float* ys = y + n * M * N;
      if (K == 0) {
        for (int64_t i = 0; i < m_len; ++i) std::fill(ys + (m0 + i) * N + j0, ys + (m0 + i) * N + j0 + n_len, 0.f);
      }
      for (int64_t k0 = 0; k0 < K; k0 += kKc) {
        const int64_t kc = std::min(kKc, K - k0);
        pack_b(xs, s, k0, kc, j0, n_len, g.nr, b_pack.data());
        pack_a(weight, scale == nullptr ? nullptr : scale + n * s.in_channels, K, taps, k0, kc, m0, m_len, g.mr,
               a_pack.data());
        for (int64_t p0 = 0; p0 < m_len; p0 += g.mr) {
          for (int64_t q0 = 0; q0 < n_len; q0 += g.nr) {
            g.run(kc, a_pack.data() + p0 * kc, b_pack.data() + q0 * kc, ys + (m0 + p0) * N + j0 + q0, N,
                  std::min(g.mr, m_len - p0), std::min(g.nr, n_len - q0), k0 > 0);
          }
        }
      }
      if (bias != nullptr) {
        for (int64_t i = 0; i < m_len; ++i) {
          float* row = ys + (m0 + i) * N + j0;
          const float b = bias[m0 + i];
          for (int64_t j = 0; j < n_len; ++j) row[j] += b;
        }
      }
    }
  });
}

void tfc_gate(const float* pooled, int64_t n, const TfcGateWeights& g, float* scale) {
  if (n <= 0 || g.channels <= 0) return;
  const tfc::GemmKernel& kernel = tfc::gemm_kernel_for(active_isa());
  const pointwise::PointwiseKernel& pw = pointwise::pointwise_kernel_for(active_isa());
  std::vector<float> hidden(static_cast<size_t>(n * std::max<int64_t>(g.hidden, 0)));
  // Each GEMM split by its weight rows: a range is worth a thread when it
  // streams some 64k weights (a 512-channel gate: two ranges per GEMM).
  const auto grain = [](int64_t k) { return std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(k, 1)); };
  parallel_for(0, g.hidden, grain(g.channels), [&](int64_t begin, int64_t end) {
    kernel.dot_rows(g.channels, g.w1 + begin * g.channels, end - begin, pooled, n, hidden.data() + begin, g.hidden);
    for (int64_t s = 0; s < n; ++s) {
      float* h = hidden.data() + s * g.hidden;
      for (int64_t r = begin; r < end; ++r) h[r] = std::max(h[r] + (g.b1 != nullptr ? g.b1[r] : 0.f), 0.f);
    }
  });
  parallel_for(0, g.channels, grain(g.hidden), [&](int64_t begin, int64_t end) {
    kernel.dot_rows(g.hidden, g.w2 + begin * g.hidden, end - begin, hidden.data(), n, scale + begin, g.channels);
    // The sigmoid in vectors (the pointwise kernels' activation) instead of a
    // libm exp per value (the gate at 256 channels, batch 4, one thread,
    // weights in cache: 21.5 -> 19.0 us a call).
    for (int64_t s = 0; s < n; ++s) {
      pw.bias_activate(scale + s * g.channels + begin, g.b2 != nullptr ? g.b2 + begin : nullptr, end - begin,
                       Activation::kSigmoid);
    }
  });
}

}  // namespace fastvfx
