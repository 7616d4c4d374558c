// 16-bit tensors (bfloat16, float16) through the float32 kernels of the core,
// a tile at a time: each task converts its tile of the input to float32, runs
// the kernel on it alone and converts the result back. No float32 copy of a
// whole tensor is made, and a tile stays in cache between the three passes.
// The conversions are ATen's copies (vectorised for the running CPU).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include <algorithm>

namespace fastvfx::ops {

inline bool is_16bit(at::ScalarType t) { return t == at::kBFloat16 || t == at::kHalf; }

// float32 tile about this size: the tile, its output and the kernel's own
// buffers stay in L2.
constexpr int64_t kFp32TileBytes = 512 * 1024;

// Calls fn(i0, count) over consecutive ranges of [0, items), each about
// kFp32TileBytes of float32 (item_bytes each, at least one item), on torch's
// threads. Ranges never cross a multiple of `group` (e.g. a sample's channels).
// A small tensor is still cut into one range per thread where it has the
// items: else one thread converted and ran the whole of it.
// The tasks call ATen ops (the conversions) on pool threads, which do not
// inherit the caller's thread-local state: without it, writing an inference
// tensor under torch.inference_mode() raised.
template <class Fn>
void for_each_fp32_tile(int64_t items, int64_t group, int64_t item_bytes, Fn&& fn) {
  if (items <= 0 || group <= 0) return;
  const int64_t groups = items / group;
  const int64_t per_thread = (group * groups + at::get_num_threads() - 1) / at::get_num_threads();
  const int64_t tile = std::min({group, std::max<int64_t>(1, kFp32TileBytes / std::max<int64_t>(1, item_bytes)),
                                 std::max<int64_t>(1, per_thread)});
  const int64_t per_group = (group + tile - 1) / tile;
  const at::ThreadLocalState caller_state;
  at::parallel_for(0, groups * per_group, 1, [&](int64_t begin, int64_t end) {
    const at::ThreadLocalStateGuard state_guard(caller_state);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t first = (i / per_group) * group + (i % per_group) * tile;
      fn(first, std::min(tile, group - (i % per_group) * tile));
    }
  });
}

// Rows [first, first + count) of t viewed as (rows, row_numel): a dense slice.
inline at::Tensor rows_of(const at::Tensor& t, int64_t rows, int64_t row_numel, int64_t first, int64_t count) {
  return t.view({rows, row_numel}).narrow(0, first, count);
}

}  // namespace fastvfx::ops
