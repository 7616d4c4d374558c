// How the core runs independent pieces of work in parallel.
//
// The core never owns a thread runtime when it lives inside another one: the
// torch binding installs a parallel-for that forwards to at::parallel_for, so
// the kernels use torch's thread pool and thread count (one OpenMP runtime per
// process). Torch-free builds (C API, boards) get a small persistent thread
// pool whose width is set_default_num_threads (default: the hardware
// concurrency, or FASTVFX_NUM_THREADS). Calls from several application threads
// at once, and calls from inside a parallel body, are safe: whichever finds
// the pool busy runs its range on its own thread.
#pragma once

#include <cstdint>
#include <functional>

namespace fastvfx {

using RangeBody = std::function<void(int64_t begin, int64_t end)>;
// Must call body over disjoint ranges covering [begin, end), each at least
// `grain` long except possibly the last, and return when all are done.
using ParallelForImpl = void (*)(int64_t begin, int64_t end, int64_t grain,
                                 const RangeBody& body);

// nullptr restores the built-in pool.
void set_parallel_for(ParallelForImpl impl);
void set_default_num_threads(int n);
int default_num_threads();

// How many threads the installed parallel-for runs on now (torch's current
// count under the binding): kernels size their tiles by it so that a few
// tiles split evenly. nullptr restores default_num_threads().
using ThreadCountImpl = int (*)();
void set_thread_count(ThreadCountImpl impl);
int parallel_threads();

void parallel_for(int64_t begin, int64_t end, int64_t grain, const RangeBody& body);

}  // namespace fastvfx
