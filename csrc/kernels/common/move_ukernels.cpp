#include "move_ukernels.h"

#include "move_runs.h"

namespace fastvfx {
namespace {

struct MoveTable {
  MoveUkernels by_isa[kIsaCount] = {};

  MoveTable() {
#define FVX_MOVE_UKERNEL(isa_enum, suffix)            \
  by_isa[static_cast<int>(Isa::isa_enum)] = {          \
      bytes_copy2d__##suffix, bytes_zero2d__##suffix, bytes_swap2d__##suffix, \
      bytes_merge2d__##suffix, bytes_merge_width__##suffix, nullptr};
#include "move_ukernels.inc"
#undef FVX_MOVE_UKERNEL
#if defined(FASTVFX_HAVE_AVX512)
    by_isa[static_cast<int>(Isa::kAvx512)].select = bytes_select__avx512;
#endif
    for (auto& entry : by_isa) {
      if (entry.copy2d == nullptr) entry = by_isa[static_cast<int>(Isa::kScalar)];
    }
  }
};

}  // namespace

size_t merge_code_count(const MoveUkernels& uk, size_t n) {
  return n < uk.merge_width ? 0 : (n + uk.merge_width - 1) / uk.merge_width;
}

void merge_codes(const MoveUkernels& uk, const unsigned char* mask, size_t n, unsigned char* codes) {
  const size_t w = uk.merge_width;
  if (n < w) return;
  // In the vector order of move_runs::merge_vectors: every w bytes, the last
  // vector overlapping.
  auto code_at = [&](size_t i) {
    unsigned char any = 0;
    for (unsigned k = 0; k < 3; ++k) {
      size_t set = 0;
      for (size_t j = i; j < i + w; ++j) set += mask[k * n + j] != 0;
      if (set == w) return static_cast<unsigned char>(move_runs::kPure | k);
      if (set != 0) any |= static_cast<unsigned char>(1u << k);
    }
    return any;
  };
  size_t i = 0, v = 0;
  for (; i + w <= n; i += w) codes[v++] = code_at(i);
  if (i < n) codes[v] = code_at(n - w);
}

SelectVector make_select_vector(const uint64_t mask[3]) {
  SelectVector v{{mask[0], mask[1], mask[2]}, SelectVector::kGeneral};
  if ((mask[0] | mask[1] | mask[2]) == ~uint64_t{0}) {
    v.kind = SelectVector::kBlend;
    for (uint32_t k = 0; k < 3; ++k) {
      if (mask[k] == ~uint64_t{0}) v.kind = SelectVector::kPure0 + k;
    }
  }
  return v;
}

const MoveUkernels& move_ukernels(Isa isa) {
  static const MoveTable table;
  return table.by_isa[static_cast<int>(isa)];
}

}  // namespace fastvfx
