// Byte-movement microkernels: the inner loops of the temporal-shift family.
//
// Each works on a 2-D block: `rows` runs of `n` bytes, consecutive runs
// `*_stride` bytes apart. An NCHW shift is one long run per call; an NHWC shift
// is many short runs (one channel group per pixel), where the vector variants
// move a whole run with one (masked) load and store.
//
// One variant per ISA; move_ukernels.inc lists them, and the list feeds the
// dispatch table, the C++ tests and the benchmarks alike.
#pragma once

#include <cstddef>

#include "fastvfx/isa.h"

namespace fastvfx {

struct MoveUkernels {
  // dst and src do not overlap.
  void (*copy2d)(void* dst, size_t dst_stride, const void* src, size_t src_stride, size_t rows,
                 size_t n);
  void (*zero2d)(void* dst, size_t dst_stride, size_t rows, size_t n);
  // a and b do not overlap.
  void (*swap2d)(void* a, size_t a_stride, void* b, size_t b_stride, size_t rows, size_t n);
  // Byte i of each dst run is byte i of the run of src[k] where mask[k * n + i]
  // is 0xff (mask bytes are 0 or 0xff, at most one of the three set per i),
  // else 0. dst overlaps no source. `codes` (from merge_codes for this mask
  // and n, or null) marks the vectors that one source covers whole: those are
  // a plain load and store, and the other sources are not read there. A
  // shift's NHWC rows: one pass per row, front to back, instead of a copy call
  // per channel span.
  void (*merge2d)(void* dst, size_t dst_stride, const unsigned char* const src[3],
                  size_t src_stride, const unsigned char* mask, const unsigned char* codes,
                  size_t rows, size_t n);
  // The vector width of merge2d's runs, in bytes: the unit of its codes.
  size_t merge_width;
};

#define FVX_MOVE_UKERNEL(isa_enum, suffix)                                                   \
  void bytes_copy2d__##suffix(void* dst, size_t dst_stride, const void* src, size_t src_stride, \
                              size_t rows, size_t n);                                         \
  void bytes_zero2d__##suffix(void* dst, size_t dst_stride, size_t rows, size_t n);           \
  void bytes_swap2d__##suffix(void* a, size_t a_stride, void* b, size_t b_stride, size_t rows, \
                              size_t n);                                                      \
  void bytes_merge2d__##suffix(void* dst, size_t dst_stride, const unsigned char* const src[3], \
                               size_t src_stride, const unsigned char* mask,                 \
                               const unsigned char* codes, size_t rows, size_t n);            \
  extern const size_t bytes_merge_width__##suffix;
#include "move_ukernels.inc"
#undef FVX_MOVE_UKERNEL

// The variant for an ISA; falls back to scalar for an ISA not compiled in.
const MoveUkernels& move_ukernels(Isa isa);

// merge2d's codes for rows of n bytes under `mask` (laid out as merge2d's):
// n / uk.merge_width of them, rounded up; none when n < uk.merge_width.
size_t merge_code_count(const MoveUkernels& uk, size_t n);
void merge_codes(const MoveUkernels& uk, const unsigned char* mask, size_t n, unsigned char* codes);

}  // namespace fastvfx
