// Portable variant: the C library's memcpy / memset (themselves tuned per CPU)
// per run, and a word-wise swap.
#include <cstdint>
#include <cstring>

#include "move_runs.h"
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
  move_runs::swap_bytes(a + i, b + i, n - i);
}

void copy_run(unsigned char* d, const unsigned char* s, size_t n) { std::memcpy(d, s, n); }

void zero_run(unsigned char* d, size_t n) { std::memset(d, 0, n); }

}  // namespace

FVX_DEFINE_MOVE_2D(scalar, copy_run, zero_run, swap_run)

}  // namespace fastvfx
