// The Winograd F(2x2, 3x3) conv driver (see fastvfx/pointwise_conv.h,
// conv2d_winograd_nhwc). A 3x3 conv's output in 2x2 tiles, each from the 4x4
// input pixels around it: V = B^T d B (16 planes per input channel), then
// for each plane xi one GEMM M[xi] = V[xi] U[xi] over the tiles (U = G g G^T,
// the weight transformed and packed once by the caller), then each tile's
// 2x2 outputs A^T M A with the bias, residual and activation. The GEMMs do 16
// multiply-adds per tile, channel and output channel where the direct conv
// does 36 (2.25x fewer); the transforms are adds over the channels-last
// pixels. A task takes a block of tiles through all three steps, so that its
// V and M (16 planes each) stay in L2 and each plane's weight panel in L1
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

}  // namespace

void conv2d_winograd_nhwc(const Conv2dNhwc& p) {
  const int64_t n = p.batch, h = p.height, w = p.width, cin = p.in_channels, cout = p.out_channels;
  const int64_t oh = p.out_h(), ow = p.out_w();
  if (n <= 0 || oh <= 0 || ow <= 0 || cout <= 0) return;
  const pointwise::PointwiseKernel& kr = pointwise::pointwise_kernel_for(active_isa());
  const int64_t th = (oh + 1) / 2, tw = (ow + 1) / 2, tiles = n * th * tw;
  const int64_t per_tile = 16 * (cin + cout);
  const int64_t threads = std::max(1, parallel_threads());
  // Tiles per task: as many as fit kBlockFloats (whole row tiles), split evenly.
  const int64_t fit = std::max<int64_t>(kr.mr, kBlockFloats / per_tile / kr.mr * kr.mr);
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
  const int64_t panel_k = 16 * cin;  // rows of a packed weight panel: plane xi's at xi * cin
  parallel_for(0, blocks, 1, [&](int64_t b_begin, int64_t b_end) {
    float* v = pointwise::thread_scratch(static_cast<size_t>(block * per_tile));
    float* m = v + 16 * block * cin;
    const int64_t v_stride = block * cin, m_stride = block * cout;
    const float* a_rows[pointwise::kMaxMr];
    float* c_rows[pointwise::kMaxMr];
    pointwise::GemmTile t;
    t.segments = 1;
    t.ldb = kPointwisePanel;
    t.c = c_rows;
    for (int64_t task = b_begin; task < b_end; ++task) {
      const int64_t blk = task / col_blocks, j_begin = task % col_blocks * cols;
      const int64_t j_end = std::min(cout, j_begin + cols);
      const int64_t t0 = blk * block, tn = std::min(block, tiles - t0);
      // V: each tile's 16 planes.
      for (int64_t i = 0; i < tn; ++i) {
        const int64_t q = t0 + i, img = q / (th * tw), ty = q / tw % th, tx = q % tw;
        const float* d[16];
        for (int64_t r = 0; r < 4; ++r) {
          const int64_t iy = 2 * ty - p.pad_top + r;
          for (int64_t c = 0; c < 4; ++c) {
            const int64_t ix = 2 * tx - p.pad_left + c;
            const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            d[r * 4 + c] = inside ? p.x + ((img * h + iy) * w + ix) * cin : zeros.data();
          }
        }
        kr.winograd_input(d, cin, p.channel_scale != nullptr ? p.channel_scale + img * cin : nullptr, v + i * cin,
                          v_stride);
      }
      // M[xi] = V[xi] U[xi]: tiles (rows) by output channels (columns).
      const int64_t mr = pointwise::balanced_tile_rows(tn, kr.mr);
      for (int64_t xi = 0; xi < 16; ++xi) {
        for (int64_t j0 = j_begin; j0 < j_end; j0 += kr.nr) {
          const float* b = p.packed_weight + (j0 / kPointwisePanel) * panel_k * kPointwisePanel +
                           xi * cin * kPointwisePanel + j0 % kPointwisePanel;
          t.n = std::min(kr.nr, j_end - j0);
          for (int64_t i0 = 0; i0 < tn; i0 += mr) {
            const int64_t rows = std::min(mr, tn - i0);
            for (int64_t i = 0; i < rows; ++i) {
              a_rows[i] = v + xi * v_stride + (i0 + i) * cin;
              c_rows[i] = m + xi * m_stride + (i0 + i) * cout + j0;
            }
            t.seg[0] = pointwise::GemmSegment{a_rows, b, 0, cin};
            t.m = rows;
            kr.gemm(t, Activation::kNone);
          }
        }
      }
      // Each tile's 2x2 outputs.
      for (int64_t i = 0; i < tn; ++i) {
        const int64_t q = t0 + i, img = q / (th * tw), ty = q / tw % th, tx = q % tw;
        float* out[4];
        const float* res[4];
        for (int64_t r = 0; r < 2; ++r) {
          for (int64_t c = 0; c < 2; ++c) {
            const int64_t oy = 2 * ty + r, ox = 2 * tx + c;
            const bool inside = oy < oh && ox < ow;
            const int64_t at = ((img * oh + oy) * ow + ox) * cout;
            out[r * 2 + c] = inside ? p.y + at + j_begin : nullptr;
            res[r * 2 + c] = inside && p.residual != nullptr ? p.residual + at + j_begin : nullptr;
          }
        }
        kr.winograd_output(m + i * cout + j_begin, m_stride, j_end - j_begin,
                           p.bias != nullptr ? p.bias + j_begin : nullptr, out, p.residual != nullptr ? res : nullptr,
                           p.residual_op, p.act);
      }
    }
  });
}

// At least this many input and output channels and 2x2 output tiles. Fewer
// tiles: the transformed weight (16/9 of the kernel's) is read for too few
// (512@7², 16 tiles: level with oneDNN); 16 input channels: each plane's
// GEMM is 16 multiply-adds deep, and the direct conv was as fast or faster.
// One thread, ms, Winograd / oneDNN (python bench/winograd.py): the short
// convs 64@56² 1.57 / 2.36, 128@28² 1.64 / 2.35, 256@14² 1.48 / 2.25; IOI
// 128 -> 16 @28² 0.21 / 0.31.
constexpr int64_t kWinogradMinInChannels = 32;
constexpr int64_t kWinogradMinOutChannels = 16;
constexpr int64_t kWinogradMinTiles = 32;

bool winograd_pays(int64_t in_channels, int64_t out_channels, int64_t tiles) {
  return in_channels >= kWinogradMinInChannels && out_channels >= kWinogradMinOutChannels &&
         tiles >= kWinogradMinTiles;
}

void winograd_weight_3x3(const float* w, int64_t cout, int64_t cin, float* u) {
  if (cout <= 0 || cin <= 0) return;
  const int64_t grain = std::max<int64_t>(1, 4096 / cin);
  parallel_for(0, cout, grain, [&](int64_t o_begin, int64_t o_end) {
    std::vector<float> taps(static_cast<size_t>(9 * cin));  // one output channel's kernels as (9, Cin)
    for (int64_t o = o_begin; o < o_end; ++o) {
      const float* wo = w + o * cin * 9;
      for (int64_t c = 0; c < cin; ++c) {
        for (int64_t t = 0; t < 9; ++t) taps[static_cast<size_t>(t * cin + c)] = wo[c * 9 + t];
      }
      float* uo = u + o * 16 * cin;
      const float* k = taps.data();
      for (int64_t c = 0; c < cin; ++c) {  // vectorised over the channels
        float g[4][3];  // G k: rows of the kernel combined
        for (int j = 0; j < 3; ++j) {
          const float k0 = k[j * cin + c], k1 = k[(3 + j) * cin + c], k2 = k[(6 + j) * cin + c];
          g[0][j] = k0, g[1][j] = 0.5f * (k0 + k1 + k2), g[2][j] = 0.5f * (k0 - k1 + k2), g[3][j] = k2;
        }
        for (int r = 0; r < 4; ++r) {  // (G k) G^T: then its columns
          uo[(r * 4 + 0) * cin + c] = g[r][0];
          uo[(r * 4 + 1) * cin + c] = 0.5f * (g[r][0] + g[r][1] + g[r][2]);
          uo[(r * 4 + 2) * cin + c] = 0.5f * (g[r][0] - g[r][1] + g[r][2]);
          uo[(r * 4 + 3) * cin + c] = g[r][2];
        }
      }
    }
  });
}

}  // namespace fastvfx
