// Portable variant: the C library's memcpy / memset (themselves tuned per CPU)
// per run, and a word-wise swap.
#include <cstdint>
#include <cstring>

#include "move_ukernels.h"

namespace fastvfx {
namespace {

void swap_run(unsigned char* a, unsigned char* b, size_t n) {
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
    uint64_t wa, wb;
    std::memcpy(&wa, a + i, sizeof wa);
    std::memcpy(&wb, b + i, sizeof wb);
    std::memcpy(a + i, &wb, sizeof wb);
    std::memcpy(b + i, &wa, sizeof wa);
  }
  for (; i < n; ++i) {
    const unsigned char t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

}  // namespace

void bytes_copy2d__scalar(void* dst, size_t dst_stride, const void* src, size_t src_stride,
                          size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t r = 0; r < rows; ++r) std::memcpy(d + r * dst_stride, s + r * src_stride, n);
}

void bytes_zero2d__scalar(void* dst, size_t dst_stride, size_t rows, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  for (size_t r = 0; r < rows; ++r) std::memset(d + r * dst_stride, 0, n);
}

void bytes_swap2d__scalar(void* a, size_t a_stride, void* b, size_t b_stride, size_t rows,
                          size_t n) {
  auto* pa = static_cast<unsigned char*>(a);
  auto* pb = static_cast<unsigned char*>(b);
  for (size_t r = 0; r < rows; ++r) swap_run(pa + r * a_stride, pb + r * b_stride, n);
}

}  // namespace fastvfx
