#include "huge_pages.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
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

void advise_huge_pages(const at::Tensor& fresh) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const int64_t bytes = static_cast<int64_t>(fresh.nbytes());
  if (bytes < kHugePageAdviceBytes || !fresh.device().is_cpu() || !huge_pages_enabled()) return;
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const auto begin = reinterpret_cast<uintptr_t>(fresh.data_ptr());
  const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (begin + static_cast<uintptr_t>(bytes)) & ~(kHugePage - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)fresh;
#endif
}

}  // namespace fastvfx::ops
