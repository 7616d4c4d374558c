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
#include <cstdint>

#include "fastvfx/isa.h"

namespace fastvfx {

// One 64-byte vector of a `select` pass: byte i is byte i of source k where
// bit i of mask[k] is set (at most one k per i), else 0. `kind` names the
// cheap cases, so a vector reads only the sources it needs.
struct SelectVector {
  enum Kind : uint32_t {
    kPure0 = 0,  // source 0 covers the vector (kPure0 + k: source k)
    kBlend = 3,  // source 1 covers what sources 0 and 2 do not
    kGeneral = 4,  // some bytes are zeros
  };
  uint64_t mask[3];
  uint32_t kind;
};

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
  // Null where the ISA has no byte-masked loads (only AVX-512 has it). `bytes`
  // bytes of dst from three sources (dst overlaps none), 64 at a time: vector
  // j takes period[j % period_len] (make_select_vector). An NHWC shift's tile
  // of rows is one call: the rows' channel spans repeat every lcm(64, row)
  // bytes, so a vector reads whole lines of only the sources it needs, and
  // the output is written front to back as a clone writes it. `prefetch`
  // (may be null): a range of `bytes` bytes to prefetch as the pass goes (the
  // next frame's tile, which the next pass reads). `stream`: write with
  // non-temporal stores (where dst is 64-byte aligned), for outputs too large
  // to be read back from cache.
  void (*select)(void* dst, const unsigned char* const src[3], const SelectVector* period,
                 size_t period_len, size_t bytes, const unsigned char* prefetch, bool stream);
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

#if defined(FASTVFX_HAVE_AVX512)
void bytes_select__avx512(void* dst, const unsigned char* const src[3], const SelectVector* period,
                          size_t period_len, size_t bytes, const unsigned char* prefetch,
                          bool stream);
#endif

// The select vector whose byte i comes from source k where bit i of mask[k]
// is set (at most one k), or is a zero where none is.
SelectVector make_select_vector(const uint64_t mask[3]);

// The variant for an ISA; falls back to scalar for an ISA not compiled in.
const MoveUkernels& move_ukernels(Isa isa);

// merge2d's codes for rows of n bytes under `mask` (laid out as merge2d's):
// n / uk.merge_width of them, rounded up; none when n < uk.merge_width.
size_t merge_code_count(const MoveUkernels& uk, size_t n);
void merge_codes(const MoveUkernels& uk, const unsigned char* mask, size_t n, unsigned char* codes);

}  // namespace fastvfx
