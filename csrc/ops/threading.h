// Thread policy of the binding: the core's parallel-for runs on torch's pool
// (threading.cpp), and a SerialScope runs a region of small work on the
// calling thread alone.
#pragma once

namespace fastvfx::ops {

// While alive, the calling thread's at::parallel_for loops (the core's kernels
// included, through the installed parallel-for), oneDNN's and MKL's GEMMs run
// serially: the thread's OpenMP and MKL thread counts are 1 (both are
// per-thread settings; other threads keep theirs). c10::ParallelGuard does not
// do it: torch's OpenMP build asks omp_in_parallel(), not the guard.
// For work too small to split: MoViNet's block steps at batch 1 are 2-5 M
// multiply-adds in some ten ops, and a two-thread region per op cost more than
// it saved (docs/models.md, "MoViNet: threads").
class SerialScope {
 public:
  SerialScope();
  ~SerialScope();
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  int omp_previous_ = 1;
  int mkl_previous_ = 0;
};

}  // namespace fastvfx::ops
