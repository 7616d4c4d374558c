// Portable variant: the shared reductions over one-lane "vectors" (plain
// scalars), with four independent accumulators per row.
#include "pool_reduce.h"
#include "pool_ukernels.h"

namespace fastvfx {
namespace {

using F32 = pool_reduce::ScalarLanes<float>;
using F64 = pool_reduce::ScalarLanes<double>;

}  // namespace

FVX_DEFINE_POOL_UKERNELS(F32, f32, scalar)
FVX_DEFINE_POOL_UKERNELS(F64, f64, scalar)

}  // namespace fastvfx
