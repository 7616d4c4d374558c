// Hands the core torch's thread pool: its kernels then run on at::parallel_for
// with torch's thread count, and no second OpenMP runtime enters the process.
#include <ATen/Parallel.h>

#include "fastvfx/parallel.h"

namespace {

void at_parallel_for(int64_t begin, int64_t end, int64_t grain, const fastvfx::RangeBody& body) {
  at::parallel_for(begin, end, grain, [&body](int64_t lo, int64_t hi) { body(lo, hi); });
}

const bool installed = [] {
  fastvfx::set_parallel_for(at_parallel_for);
  return true;
}();

}  // namespace
