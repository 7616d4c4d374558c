// Portable variant: the C library's memcpy / memset (themselves tuned per CPU)
// per run, and a word-wise swap (move_runs::swap_bytes).
#include <cstdint>
#include <cstring>

#include "move_runs.h"
#include "move_ukernels.h"

namespace fastvfx {
namespace {

void swap_run(unsigned char* a, unsigned char* b, size_t n) { move_runs::swap_bytes(a, b, n); }

void copy_run(unsigned char* d, const unsigned char* s, size_t n) { std::memcpy(d, s, n); }

void zero_run(unsigned char* d, size_t n) { std::memset(d, 0, n); }

}  // namespace

FVX_DEFINE_MOVE_2D(scalar, copy_run, zero_run, swap_run, move_runs::merge_words_coded, 8)

}  // namespace fastvfx
