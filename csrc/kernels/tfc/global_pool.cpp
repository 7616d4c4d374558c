// Global average / max pooling over H*W, one pass over x, the first stage of
// the TFC gate. NCHW reduces each channel's contiguous run (rows kernels);
// NHWC reduces each sample's pixels column-wise over a block of channels
// (cols kernels), so neither layout is transposed first.
#include <algorithm>

#include "fastvfx/isa.h"
#include "fastvfx/parallel.h"
#include "fastvfx/tfc.h"
#include "pool_ukernels.h"

namespace fastvfx {
namespace {

// Below this many bytes per task, waking another thread costs about as much
// as reducing them (a 56x56 float channel is 12.5 KB).
constexpr int64_t kParallelGrainBytes = 128 * 1024;
// NHWC at small batch: split each sample's channels into this many column
// blocks (whole cache lines) so that a batch of one still has work for
// several threads.
constexpr int64_t kColumnBlocksPerSample = 8;
constexpr int64_t kCacheLineBytes = 64;

template <class T>
void finish_mean(T* out, int64_t count, int64_t hw, PoolKind kind) {
  if (kind != PoolKind::kAvg) return;
  const T denom = static_cast<T>(hw);
  for (int64_t i = 0; i < count; ++i) out[i] /= denom;  // torch divides the sum too
}

template <class T>
void pool_nchw(const T* x, T* out, const PoolShape& s, PoolKind kind) {
  const int64_t rows = s.n_batch * s.channels;
  const int64_t row_bytes = s.hw * static_cast<int64_t>(sizeof(T));
  const int64_t grain = std::max<int64_t>(1, kParallelGrainBytes / row_bytes);
  parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    const PoolUkernels<T>& uk = pool_ukernels<T>(active_isa());
    const auto reduce = kind == PoolKind::kAvg ? uk.sum_rows : uk.max_rows;
    reduce(x + begin * s.hw, static_cast<size_t>(s.hw), static_cast<size_t>(end - begin),
           static_cast<size_t>(s.hw), out + begin);
    finish_mean(out + begin, end - begin, s.hw, kind);
  });
}

template <class T>
void pool_nhwc(const T* x, T* out, const PoolShape& s, PoolKind kind) {
  const int64_t line = kCacheLineBytes / static_cast<int64_t>(sizeof(T));
  const int64_t wanted = std::max<int64_t>(1, kColumnBlocksPerSample / s.n_batch);
  const int64_t per_block = (s.channels + wanted - 1) / wanted;
  const int64_t block = std::min(s.channels, (per_block + line - 1) / line * line);
  const int64_t blocks = (s.channels + block - 1) / block;
  const int64_t task_bytes = s.hw * block * static_cast<int64_t>(sizeof(T));
  const int64_t grain = std::max<int64_t>(1, kParallelGrainBytes / task_bytes);
  parallel_for(0, s.n_batch * blocks, grain, [&](int64_t begin, int64_t end) {
    const PoolUkernels<T>& uk = pool_ukernels<T>(active_isa());
    const auto reduce = kind == PoolKind::kAvg ? uk.sum_cols : uk.max_cols;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks;
      const int64_t c0 = (item % blocks) * block;
      const int64_t width = std::min(block, s.channels - c0);
      T* o = out + n * s.channels + c0;
      reduce(x + n * s.hw * s.channels + c0, static_cast<size_t>(s.channels), static_cast<size_t>(s.hw),
             static_cast<size_t>(width), o);
      finish_mean(o, width, s.hw, kind);
    }
  });
}

template <class T>
void global_pool2d_impl(const T* x, T* out, const PoolShape& s, PoolKind kind) {
  if (s.n_batch <= 0 || s.channels <= 0 || s.hw <= 0) return;
  if (s.channels_last) {
    pool_nhwc(x, out, s, kind);
  } else {
    pool_nchw(x, out, s, kind);
  }
}

}  // namespace

void global_pool2d(const float* x, float* out, const PoolShape& shape, PoolKind kind) {
  global_pool2d_impl(x, out, shape, kind);
}

void global_pool2d(const double* x, double* out, const PoolShape& shape, PoolKind kind) {
  global_pool2d_impl(x, out, shape, kind);
}

}  // namespace fastvfx
