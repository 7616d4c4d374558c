#include "fastvfx/parallel.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace fastvfx {
namespace {

int initial_num_threads() {
  if (const char* env = std::getenv("FASTVFX_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<int> g_num_threads{initial_num_threads()};
std::atomic<ParallelForImpl> g_impl{nullptr};

// Splits [begin, end) into at most default_num_threads() chunks of at least
// `grain`, runs the first on the calling thread and the rest on new threads.
void thread_split_for(int64_t begin, int64_t end, int64_t grain, const RangeBody& body) {
  const int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = std::min<int64_t>(g_num_threads.load(), (n + grain - 1) / grain);
  if (chunks <= 1) {
    body(begin, end);
    return;
  }
  const int64_t step = (n + chunks - 1) / chunks;
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(chunks - 1));
  for (int64_t lo = begin + step; lo < end; lo += step) {
    workers.emplace_back([&body, lo, end, step] { body(lo, std::min(end, lo + step)); });
  }
  body(begin, std::min(end, begin + step));
  for (auto& w : workers) w.join();
}

}  // namespace

void set_parallel_for(ParallelForImpl impl) { g_impl.store(impl); }

void set_default_num_threads(int n) { g_num_threads.store(std::max(1, n)); }

int default_num_threads() { return g_num_threads.load(); }

void parallel_for(int64_t begin, int64_t end, int64_t grain, const RangeBody& body) {
  if (begin >= end) return;
  if (ParallelForImpl impl = g_impl.load()) {
    impl(begin, end, grain, body);
  } else {
    thread_split_for(begin, end, grain, body);
  }
}

}  // namespace fastvfx
