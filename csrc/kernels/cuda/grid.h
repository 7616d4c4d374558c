// The execution model the CUDA kernels are written against, small enough to
// run on the host. A kernel is a functor: `phases()` block-wide phases, and
// `operator()(phase, thread, shared)` the work of one thread in one phase.
// Between two phases every thread of the block has finished the earlier one
// (on the device a __syncthreads(), in the emulator the phase loop), which is
// all the block-wide cooperation the kernels use: shared memory written in one
// phase and read in the next (see block_reduce below). The same functor is
// launched by launch.cuh on a GPU and by emulator.h in the host tests.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define FVX_HD __host__ __device__ __forceinline__
#else
#define FVX_HD inline
#endif

namespace fastvfx::cuda {

// One thread of a 1-D grid.
struct Thread {
  int64_t block;
  int index;  // within the block
  int block_dim;
  int64_t grid_dim;
  FVX_HD int64_t global() const { return block * block_dim + index; }
  FVX_HD int64_t grid_threads() const { return grid_dim * block_dim; }
};

struct Grid {
  int64_t blocks = 0;
  int threads = 256;
  int64_t shared_bytes = 0;
};

// Enough blocks of `threads` for `items`, capped: kernels stride over the rest.
inline Grid grid_for(int64_t items, int threads = 256, int64_t max_blocks = 65535 * 4) {
  Grid g;
  g.threads = threads;
  g.blocks = (items + threads - 1) / threads;
  if (g.blocks > max_blocks) g.blocks = max_blocks;
  return g;
}

// Tree reduction of one value per thread in shared memory, over phases
// [first, first + reduce_phases(block_dim)). The block size is a power of two.
// Before `first`, thread i has written its value to slot[i]; afterwards
// slot[0] holds the result of `op` over all of them.
FVX_HD int reduce_phases(int block_dim) {
  int p = 0;
  while ((1 << p) < block_dim) ++p;
  return p;
}
template <class A, class Op>
FVX_HD void block_reduce_phase(int step, const Thread& th, A* slot, Op op) {
  const int half = th.block_dim >> (step + 1);
  if (th.index < half) slot[th.index] = op(slot[th.index], slot[th.index + half]);
}

}  // namespace fastvfx::cuda
