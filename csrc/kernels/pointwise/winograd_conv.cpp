// The Winograd F(m x m, 3x3) conv driver, m = 2 or 4 (see
// fastvfx/pointwise_conv.h, conv2d_winograd_nhwc). A 3x3 conv's output in
// m x m tiles, each from the alpha x alpha input pixels around it (alpha =
// m + 2): V = B^T d B (alpha^2 planes per input channel: 16 or 36), then for
// each plane xi one GEMM M[xi] = V[xi] U[xi] over the tiles (U = G g G^T,
// the weight transformed and packed once by the caller), then each tile's
// m x m outputs A^T M A with the bias, residual and activation. The GEMMs do
// alpha^2 multiply-adds per tile, channel and output channel where the
// direct conv does 9 m^2 (F(2x2): 16 against 36, 2.25x fewer; F(4x4): 36
// against 144, 4x); the transforms are adds and scaled adds over the
// channels-last pixels. A task takes a block of tiles through all three
// steps, so that its V and M stay in L2 and each plane's weight panel in L1
// over the block's row tiles.
#include <algorithm>
#include <vector>

#include "fastvfx/parallel.h"
#include "fastvfx/pointwise_conv.h"
#include "pointwise_ukernels.h"

namespace fastvfx {
namespace {

// A task's V and M together take at most about this many floats (640 KB,
// within a Zen 4 or recent Intel core's L2 beside the weight panels).
constexpr int64_t kBlockFloats = 160 * 1024;
// ... unless the transformed weight is larger than that (it then comes from
// L3 for every block, 4 MB at 256@14² by F(2x2)): blocks of up to this many
// floats (1.6 MB, V and M partly in L3). Eight different convs in a row, so
// that each one's weights come from L3 as in a model, one thread, ms a conv,
// 160K / 400K floats (an A/B switch, not kept; python bench/gemm_tiles.py
// times the chains with the rule against oneDNN): 256@14² F(2x2) 1.19-1.22
// / 0.88-0.99, 128@28² F(4x4) 0.64-0.68 / 0.53-0.55, but 64@56² F(4x4) (weights
// 590 KB, read from L2 again) 0.49-0.52 / 0.53-0.55; two threads 0.56-0.58 /
// 0.47, 0.32 / 0.29, 0.28-0.29 / 0.37-0.39.
constexpr int64_t kLargeBlockFloats = 400 * 1024;

}  // namespace

void conv2d_winograd_nhwc(const Conv2dNhwc& p) {
  const int64_t n = p.batch, h = p.height, w = p.width, cin = p.in_channels, cout = p.out_channels;
  const int64_t oh = p.out_h(), ow = p.out_w();
  if (n <= 0 || oh <= 0 || ow <= 0 || cout <= 0) return;
  const pointwise::PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  const int64_t m_out = p.winograd_tile == 4 ? 4 : 2, alpha = m_out + 2, planes = alpha * alpha;
  const auto input = m_out == 4 ? kr.winograd_input4 : kr.winograd_input;
  const auto output = m_out == 4 ? kr.winograd_output4 : kr.winograd_output;
  const int64_t th = (oh + m_out - 1) / m_out, tw = (ow + m_out - 1) / m_out, tiles = n * th * tw;
  const int64_t per_tile = planes * (cin + cout);
  const int64_t threads = std::max(1, parallel_threads());
  // Tiles per task: as many as fit kBlockFloats (whole row tiles), split evenly.
  // Transformed weights larger than a block are read from L3 again by every
  // block: then the blocks take more tiles (see kLargeBlockFloats).
  const int64_t block_floats = planes * cin * cout > kBlockFloats ? kLargeBlockFloats : kBlockFloats;
  const int64_t fit = std::max<int64_t>(kr.mr_s, block_floats / per_tile / kr.mr_s * kr.mr_s);
  int64_t tile_blocks = (tiles + fit - 1) / fit;
  const int64_t block = (tiles + tile_blocks - 1) / tile_blocks;
  tile_blocks = (tiles + block - 1) / block;
  // Too few blocks for two tasks a thread: each block's output channels split
  // too (each such task transforms its tiles' inputs again, a small share).
  const int64_t panels = (cout + kPointwisePanel - 1) / kPointwisePanel;
  int64_t col_blocks = 1;
  if (tile_blocks < 2 * threads) col_blocks = std::min(panels, (2 * threads + tile_blocks - 1) / tile_blocks);
  const int64_t cols = (panels + col_blocks - 1) / col_blocks * kPointwisePanel;
  col_blocks = (cout + cols - 1) / cols;
  const int64_t blocks = tile_blocks * col_blocks;
  const std::vector<float> zeros(static_cast<size_t>(cin), 0.f);
  const int64_t panel_k = planes * cin;  // rows of a packed weight panel: plane xi's at xi * cin
  parallel_for(0, blocks, 1, [&](int64_t b_begin, int64_t b_end) {
    float* v = pointwise::thread_scratch(static_cast<size_t>(block * per_tile));
    float* m = v + planes * block * cin;
    const int64_t v_stride = block * cin, m_stride = block * cout;
    pointwise::GemmTileS s;
    s.segments = 1;
    s.k_begin[0] = 0, s.k_end[0] = cin;
    s.lda = cin;
    s.panel_stride = panel_k * kPointwisePanel;
    s.ldc = cout;
    const float* d[36];
    float* out[16];
    const float* res[16];
    for (int64_t task = b_begin; task < b_end; ++task) {
      const int64_t blk = task / col_blocks, j_begin = task % col_blocks * cols;
      const int64_t j_end = std::min(cout, j_begin + cols);
      const int64_t t0 = blk * block, tn = std::min(block, tiles - t0);
      // V: each tile's planes.
      for (int64_t i = 0; i < tn; ++i) {
        const int64_t q = t0 + i, img = q / (th * tw), ty = q / tw % th, tx = q % tw;
        for (int64_t r = 0; r < alpha; ++r) {
          const int64_t iy = m_out * ty - p.pad_top + r;
          for (int64_t c = 0; c < alpha; ++c) {
            const int64_t ix = m_out * tx - p.pad_left + c;
            const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            d[r * alpha + c] = inside ? p.x + ((img * h + iy) * w + ix) * cin : zeros.data();
          }
        }
        input(d, cin, p.channel_scale != nullptr ? p.channel_scale + img * cin : nullptr, v + i * cin, v_stride);
      }
      // M[xi] = V[xi] U[xi]: tiles (rows) by output channels (columns).
      const int64_t mr = pointwise::balanced_tile_rows(tn, kr.mr_s), row_tiles = (tn + mr - 1) / mr;
      auto panels_at = [&](int64_t xi, int64_t j0) {
        return p.packed_weight + (j0 / kPointwisePanel) * panel_k * kPointwisePanel + xi * cin * kPointwisePanel +
               j0 % kPointwisePanel;
      };
      for (int64_t xi = 0; xi < planes; ++xi) {
        for (int64_t j0 = j_begin; j0 < j_end; j0 += kr.nr_s) {
          s.b = panels_at(xi, j0);
          s.n = std::min(kr.nr_s, j_end - j0);
          // The next column tile's (or plane's) panels (GemmTileS::next).
          const bool last = j0 + kr.nr_s >= j_end && xi + 1 == planes;
          s.next = last ? nullptr
                   : j0 + kr.nr_s < j_end ? panels_at(xi, j0 + kr.nr_s) : panels_at(xi + 1, j_begin);
          for (int64_t i0 = 0; i0 < tn; i0 += mr) {
            s.a[0] = v + xi * v_stride + i0 * cin;
            s.c = m + xi * m_stride + i0 * cout + j0;
            s.m = std::min(mr, tn - i0);
            s.prefetch_b = i0 == 0;
            pointwise::set_next_share(s, cin, row_tiles, i0 / mr);
            kr.gemm_s(s, Activation::kNone);
          }
        }
      }
      // Each tile's m_out x m_out outputs.
      for (int64_t i = 0; i < tn; ++i) {
        const int64_t q = t0 + i, img = q / (th * tw), ty = q / tw % th, tx = q % tw;
        for (int64_t r = 0; r < m_out; ++r) {
          for (int64_t c = 0; c < m_out; ++c) {
            const int64_t oy = m_out * ty + r, ox = m_out * tx + c;
            const bool inside = oy < oh && ox < ow;
            const int64_t at = ((img * oh + oy) * ow + ox) * cout;
            out[r * m_out + c] = inside ? p.y + at + j_begin : nullptr;
            res[r * m_out + c] = inside && p.residual != nullptr ? p.residual + at + j_begin : nullptr;
          }
        }
        output(m + i * cout + j_begin, m_stride, j_end - j_begin, p.bias != nullptr ? p.bias + j_begin : nullptr, out,
               p.residual != nullptr ? res : nullptr, p.residual_op, p.act);
      }
    }
  });
}

// At least this many input and output channels and 2x2 output tiles. Fewer
// tiles: the transformed weight (16/9 of the kernel's) is read for too few
// (512@7², 16 tiles: level with oneDNN at stop 28; 6-15% faster in stop 29's
// runs, not yet taken). One thread, ms, F(2x2) / oneDNN
// (python bench/winograd.py): the short convs 64@56² 1.57 / 2.36, 128@28²
// 1.64 / 2.35, 256@14² 1.48 / 2.25; IOI 128 -> 16 @28² 0.21 / 0.31. From 16
// input channels each plane's GEMM is 16 multiply-adds deep: F(2x2) was
// level with the direct conv at 56², but F(4x4) ran the IOI convs 16 -> 64
// @56² and 16 -> 128 @28² in 0.46 and 0.22 ms against oneDNN's 0.71 and 0.38
// (two threads 0.21 / 0.35, 0.12 / 0.21), and F(2x2) 16 -> 256 @14² in 0.15
// against 0.22 (0.09 / 0.17).
constexpr int64_t kWinogradMinInChannels = 16;
constexpr int64_t kWinogradMinOutChannels = 16;
constexpr int64_t kWinogradMinTiles = 32;
// F(4x4, 3x3) from this many 4x4 output tiles (28² at batch 1: 49). ms at
// batch 1, F(2x2) / F(4x4), one thread and two (a diagnostic A/B of
// fused_conv2d's two packings; the bench's figures: python bench/winograd.py):
// 64@56² 1.19 / 0.80 and 0.63 / 0.46, 128@28² 1.07 / 0.63 and 0.69 / 0.37,
// the stem's 192 -> 64 @112² 14.3 / 9.1 and 7.3 / 4.7, 64 -> 16 @56² 0.42 /
// 0.23 and 0.25 / 0.12. At 14² (16 tiles) F(4x4) was level or slower at two
// threads (256@14² 0.69 / 0.73, 256 -> 16 0.058 / 0.096: too few tiles to
// share), so F(2x2) keeps those.
constexpr int64_t kWinograd4MinTiles = 48;

int64_t winograd_tile(int64_t in_channels, int64_t out_channels, int64_t batch, int64_t out_h, int64_t out_w) {
  if (in_channels < kWinogradMinInChannels || out_channels < kWinogradMinOutChannels) return 0;
  if (batch * ((out_h + 3) / 4) * ((out_w + 3) / 4) >= kWinograd4MinTiles) return 4;
  return batch * ((out_h + 1) / 2) * ((out_w + 1) / 2) >= kWinogradMinTiles ? 2 : 0;
}

int64_t winograd_planes(int64_t tile) { return (tile + 2) * (tile + 2); }

void winograd_weight_3x3(const float* w, int64_t cout, int64_t cin, float* u, int64_t tile) {
  if (cout <= 0 || cin <= 0) return;
  // G (alpha x 3): F(2x2, 3x3) on the points 0, 1, -1; F(4x4, 3x3) on 0, 1,
  // -1, 1/2, -2 (both with infinity).
  static constexpr double kG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  static constexpr double kG4[6][3] = {{1, 0, 0},
                                       {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                       {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                       {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                       {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                       {0, 0, 1}};
  const int alpha = tile == 4 ? 6 : 4;
  const double(*g)[3] = tile == 4 ? kG4 : kG2;
  const int64_t grain = std::max<int64_t>(1, 4096 / cin);
  parallel_for(0, cout, grain, [&](int64_t o_begin, int64_t o_end) {
    for (int64_t o = o_begin; o < o_end; ++o) {
      float* uo = u + o * alpha * alpha * cin;
      for (int64_t c = 0; c < cin; ++c) {
        const float* k = w + (o * cin + c) * 9;
        double gk[6][3];  // G k: the kernel's rows combined, in double, rounded once
        for (int r = 0; r < alpha; ++r) {
          for (int j = 0; j < 3; ++j) gk[r][j] = g[r][0] * k[j] + g[r][1] * k[3 + j] + g[r][2] * k[6 + j];
        }
        for (int r = 0; r < alpha; ++r) {  // (G k) G^T: then its columns
          for (int s = 0; s < alpha; ++s) {
            uo[(r * alpha + s) * cin + c] =
                static_cast<float>(gk[r][0] * g[s][0] + gk[r][1] * g[s][1] + gk[r][2] * g[s][2]);
          }
        }
      }
    }
  });
}

}  // namespace fastvfx
