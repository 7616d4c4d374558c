#include "move_ukernels.h"

namespace fastvfx {
namespace {

struct MoveTable {
  MoveUkernels by_isa[kIsaCount] = {};

  MoveTable() {
#define FVX_MOVE_UKERNEL(isa_enum, suffix)            \
  by_isa[static_cast<int>(Isa::isa_enum)] = {          \
      bytes_copy2d__##suffix, bytes_zero2d__##suffix, bytes_swap2d__##suffix, \
      bytes_merge2d__##suffix};
#include "move_ukernels.inc"
#undef FVX_MOVE_UKERNEL
    for (auto& entry : by_isa) {
      if (entry.copy2d == nullptr) entry = by_isa[static_cast<int>(Isa::kScalar)];
    }
  }
};

}  // namespace

const MoveUkernels& move_ukernels(Isa isa) {
  static const MoveTable table;
  return table.by_isa[static_cast<int>(isa)];
}

}  // namespace fastvfx
