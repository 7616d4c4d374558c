// The host grid emulator: runs a kernel of grid.h for every block, phase by
// phase, every thread of the block in each phase. Within a phase the threads
// run one after another in `order`; a kernel whose threads race within a
// phase (one reads what another writes) gives results that depend on it, so
// tests run both orders. Shared memory starts as garbage, as on the device.
#pragma once

#include <cstring>
#include <vector>

#include "grid.h"

namespace fastvfx::cuda {

enum class ThreadOrder { kForward, kReverse };

template <class K> void emulate(const K& kernel, const Grid& g, ThreadOrder order = ThreadOrder::kForward) {
  std::vector<unsigned char> storage(static_cast<size_t>(g.shared_bytes) + 16);
  void* shared = storage.data() + (16 - reinterpret_cast<uintptr_t>(storage.data()) % 16) % 16;
  for (int64_t b = 0; b < g.blocks; ++b) {
    const int64_t block = order == ThreadOrder::kForward ? b : g.blocks - 1 - b;
    std::memset(shared, 0xA5, static_cast<size_t>(g.shared_bytes));
    for (int p = 0; p < kernel.phases(); ++p) {
      for (int i = 0; i < g.threads; ++i) {
        const int index = order == ThreadOrder::kForward ? i : g.threads - 1 - i;
        kernel(p, Thread{block, index, g.threads, g.blocks}, shared);
      }
    }
  }
}

// A `Run` for the builders of the *_kernels.h headers.
struct Emulate {
  ThreadOrder order = ThreadOrder::kForward;
  int launches = 0;
  template <class K> void operator()(const K& kernel, const Grid& g) {
    ++launches;
    emulate(kernel, g, order);
  }
};

}  // namespace fastvfx::cuda
