// Portable variant: the C library's memcpy / memset (themselves tuned per CPU)
// and a word-wise swap.
#include <cstdint>
#include <cstring>

#include "move_ukernels.h"

namespace fastvfx {

void bytes_copy__scalar(void* dst, const void* src, size_t n) { std::memcpy(dst, src, n); }

void bytes_zero__scalar(void* dst, size_t n) { std::memset(dst, 0, n); }

void bytes_swap__scalar(void* a, void* b, size_t n) {
  auto* pa = static_cast<unsigned char*>(a);
  auto* pb = static_cast<unsigned char*>(b);
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
    uint64_t wa, wb;
    std::memcpy(&wa, pa + i, sizeof wa);
    std::memcpy(&wb, pb + i, sizeof wb);
    std::memcpy(pa + i, &wb, sizeof wb);
    std::memcpy(pb + i, &wa, sizeof wa);
  }
  for (; i < n; ++i) {
    const unsigned char t = pa[i];
    pa[i] = pb[i];
    pb[i] = t;
  }
}

}  // namespace fastvfx
