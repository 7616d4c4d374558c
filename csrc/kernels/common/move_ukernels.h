// Byte-movement microkernels: the inner loops of the temporal-shift family.
// One variant per ISA; move_ukernels.inc lists them, and the list feeds the
// dispatch table, the C++ tests and the benchmarks alike.
#pragma once

#include <cstddef>

#include "fastvfx/isa.h"

namespace fastvfx {

struct MoveUkernels {
  // dst and src do not overlap.
  void (*copy)(void* dst, const void* src, size_t n);
  void (*zero)(void* dst, size_t n);
  // a and b do not overlap.
  void (*swap)(void* a, void* b, size_t n);
};

#define FVX_DECLARE_MOVE_UKERNELS(isa_enum, suffix)             \
  void bytes_copy__##suffix(void* dst, const void* src, size_t n); \
  void bytes_zero__##suffix(void* dst, size_t n);                 \
  void bytes_swap__##suffix(void* a, void* b, size_t n);
#define FVX_MOVE_UKERNEL(isa_enum, suffix) FVX_DECLARE_MOVE_UKERNELS(isa_enum, suffix)
#include "move_ukernels.inc"
#undef FVX_MOVE_UKERNEL
#undef FVX_DECLARE_MOVE_UKERNELS

// The variant for an ISA; falls back to scalar for an ISA not compiled in.
const MoveUkernels& move_ukernels(Isa isa);

}  // namespace fastvfx
