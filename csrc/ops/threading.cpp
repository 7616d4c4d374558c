// Hands the core torch's thread pool: its kernels then run on at::parallel_for
// with torch's thread count, and no second OpenMP runtime enters the process.
#include "threading.h"

#include <ATen/Parallel.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastvfx/parallel.h"

// MKL's per-thread thread count (0 restores the global one), by its C name:
// the lower-case mkl_set_num_threads_local symbol is the Fortran entry, which
// takes a pointer. Torch's x86 builds link MKL as their BLAS and export it;
// elsewhere the weak reference stays null.
extern "C" __attribute__((weak)) int MKL_Set_Num_Threads_Local(int);

namespace {

void at_parallel_for(int64_t begin, int64_t end, int64_t grain, const fastvfx::RangeBody& body) {
  at::parallel_for(begin, end, grain, [&body](int64_t lo, int64_t hi) { body(lo, hi); });
}

int at_num_threads() { return at::get_num_threads(); }

const bool installed = [] {
  fastvfx::set_parallel_for(at_parallel_for);
  fastvfx::set_thread_count(at_num_threads);
  return true;
}();

}  // namespace

namespace fastvfx::ops {

SerialScope::SerialScope() {
  // A thread's first parallel loop would otherwise set its counts from the
  // global one, inside the scope.
  at::internal::lazy_init_num_threads();
#ifdef _OPENMP
  omp_previous_ = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  if (MKL_Set_Num_Threads_Local != nullptr) mkl_previous_ = MKL_Set_Num_Threads_Local(1);
}

SerialScope::~SerialScope() {
#ifdef _OPENMP
  omp_set_num_threads(omp_previous_);
#endif
  if (MKL_Set_Num_Threads_Local != nullptr) MKL_Set_Num_Threads_Local(mkl_previous_);
}

}  // namespace fastvfx::ops
