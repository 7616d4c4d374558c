#include "pool_ukernels.h"

namespace fastvfx {
namespace {

template <class T>
struct PoolTable {
  PoolUkernels<T> by_isa[kIsaCount] = {};

  void fill_missing_with_scalar() {
    for (auto& entry : by_isa) {
      if (entry.sum_rows == nullptr) entry = by_isa[static_cast<int>(Isa::kScalar)];
    }
  }
};

struct Tables {
  PoolTable<float> f32;
  PoolTable<double> f64;

  Tables() {
#define FVX_POOL_UKERNEL(isa_enum, suffix)                                                   \
  f32.by_isa[static_cast<int>(Isa::isa_enum)] = {f32_sum_rows__##suffix, f32_max_rows__##suffix, \
                                                 f32_sum_cols__##suffix, f32_max_cols__##suffix}; \
  f64.by_isa[static_cast<int>(Isa::isa_enum)] = {f64_sum_rows__##suffix, f64_max_rows__##suffix, \
                                                 f64_sum_cols__##suffix, f64_max_cols__##suffix};
#include "pool_ukernels.inc"
#undef FVX_POOL_UKERNEL
    f32.fill_missing_with_scalar();
    f64.fill_missing_with_scalar();
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const PoolUkernels<float>& pool_ukernels_f32(Isa isa) {
  return tables().f32.by_isa[static_cast<int>(isa)];
}

const PoolUkernels<double>& pool_ukernels_f64(Isa isa) {
  return tables().f64.by_isa[static_cast<int>(isa)];
}

}  // namespace fastvfx
