#include "large_outputs.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>  // madvise, mincore
#endif

namespace fastvfx::ops {
namespace {

// Off unless FASTVFX_HUGE_PAGES is set to something other than "0" or "".
std::atomic<bool>& advice_switch() {
  static std::atomic<bool> enabled{[] {
    const char* value = std::getenv("FASTVFX_HUGE_PAGES");
    return value != nullptr && value[0] != '\0' && std::strcmp(value, "0") != 0;
  }()};
  return enabled;
}

}  // namespace

bool huge_pages_enabled() { return advice_switch().load(std::memory_order_relaxed); }

void set_huge_pages(bool enabled) { advice_switch().store(enabled, std::memory_order_relaxed); }

#if defined(__linux__)
namespace {

#if !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

// Whether MADV_POPULATE_WRITE works here (an older kernel refuses it with
// EINVAL; then the op's writes fault the pages in as before) and is wanted
// (FASTVFX_PREFAULT=0 turns it off).
std::atomic<bool> populate_works{[] {
  const char* value = std::getenv("FASTVFX_PREFAULT");
  return value == nullptr || std::strcmp(value, "0") != 0;
}()};

void populate(uintptr_t first, uintptr_t last) {
  constexpr uintptr_t kPage = 4096;
  first = (first + kPage - 1) & ~(kPage - 1);
  last &= ~(kPage - 1);
  if (last <= first || !populate_works.load(std::memory_order_relaxed)) return;
  // Memory that is already in place (an allocator that keeps large blocks)
  // needs nothing: its last page tells (mincore on anonymous memory).
  unsigned char resident = 0;
  if (mincore(reinterpret_cast<void*>(last - kPage), kPage, &resident) == 0 && (resident & 1)) return;
  constexpr int64_t kChunk = int64_t{2} << 20;
  const int64_t chunks = static_cast<int64_t>((last - first + kChunk - 1) / kChunk);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    const uintptr_t b = first + static_cast<uintptr_t>(begin * kChunk);
    const uintptr_t e = std::min<uintptr_t>(last, first + static_cast<uintptr_t>(end * kChunk));
    if (madvise(reinterpret_cast<void*>(b), e - b, MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
      populate_works.store(false, std::memory_order_relaxed);
    }
  });
}

}  // namespace
#endif

bool prefault_enabled() {
#if defined(__linux__)
  return populate_works.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

void prepare_large_output(const at::Tensor& fresh) {
#if defined(__linux__)
  const int64_t bytes = static_cast<int64_t>(fresh.nbytes());
  if (bytes < kLargeOutputBytes || !fresh.device().is_cpu()) return;
  const auto begin = reinterpret_cast<uintptr_t>(fresh.data_ptr());
  const uintptr_t end = begin + static_cast<uintptr_t>(bytes);
#if defined(MADV_HUGEPAGE)
  if (huge_pages_enabled()) {
    constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
    const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
    const uintptr_t last = end & ~(kHugePage - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
    return;
  }
#endif
  populate(begin, end);
#else
  (void)fresh;
#endif
}

}  // namespace fastvfx::ops
