#include "fastvfx/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

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
std::atomic<ThreadCountImpl> g_thread_count{nullptr};

// The built-in pool of torch-free builds: workers started once, so a
// streaming application calling the kernels for every frame does not pay a
// thread start per call (tens of microseconds each on a board). Between
// regions a worker spins for kSpin before parking on a condition variable, as
// OpenMP runtimes do: waking a parked thread costs a futex call and a trip
// through the scheduler, as much as a small kernel itself. One parallel region
// runs at a time: a call that finds the pool busy (another application thread,
// or a nested call from inside a task) runs its range on its own thread
// instead of waiting. A forked child starts a new pool (the parent's workers
// do not exist there).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

constexpr auto kSpin = std::chrono::microseconds(50);

// Spins until done() or kSpin has passed; returns done().
template <class Done>
bool spin_until(Done done) {
  const auto start = std::chrono::steady_clock::now();
  while (!done()) {
    for (int i = 0; i < 64; ++i) cpu_relax();
    if (std::chrono::steady_clock::now() - start > kSpin) return done();
  }
  return true;
}

class Pool {
 public:
  // Runs chunk(i) for i in [0, n) on the calling thread and up to
  // threads - 1 workers; returns when all are done. False when busy.
  bool run(int64_t n, int threads, const std::function<void(int64_t)>& chunk) {
    std::unique_lock<std::mutex> busy(region_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    const int helpers = static_cast<int>(std::min<int64_t>(threads, n)) - 1;
    Region region(&chunk, n);
    {
      std::lock_guard<std::mutex> lock(m_);
      while (static_cast<int>(workers_.size()) < helpers) {
        workers_.emplace_back([this] { work(); });
        workers_.back().detach();
      }
      region_ = &region;
      generation_.fetch_add(1, std::memory_order_release);
      if (sleepers_ > 0) wake_.notify_all();
    }
    drain(region);
    if (!spin_until([&] { return region.remaining.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(m_);
      done_.wait(lock, [&] { return region.remaining.load(std::memory_order_acquire) == 0; });
    }
    // No worker can pick the region up any more; wait for those that did.
    {
      std::lock_guard<std::mutex> lock(m_);
      region_ = nullptr;
    }
    while (region.users.load(std::memory_order_acquire) != 0) cpu_relax();
    return true;
  }

 private:
  struct Region {
    Region(const std::function<void(int64_t)>* c, int64_t count) : chunk(c), n(count), remaining(count) {}
    const std::function<void(int64_t)>* chunk;
    const int64_t n;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> remaining;
    std::atomic<int> users{0};  // workers inside drain(*this)
  };

  // Takes chunks until none is left; counts those it finished.
  void drain(Region& r) {
    int64_t finished = 0;
    for (int64_t i = r.next.fetch_add(1); i < r.n; i = r.next.fetch_add(1)) {
      (*r.chunk)(i);
      ++finished;
    }
    if (finished > 0 && r.remaining.fetch_sub(finished, std::memory_order_acq_rel) == finished) {
      std::lock_guard<std::mutex> lock(m_);
      done_.notify_all();
    }
  }

  void work() {
    uint64_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      Region* r = nullptr;
      {
        std::unique_lock<std::mutex> lock(m_);
        if (generation_.load() == seen) {
          ++sleepers_;
          wake_.wait(lock, [&] { return generation_.load() != seen; });
          --sleepers_;
        }
        seen = generation_.load();
        r = region_;
        if (r != nullptr) r->users.fetch_add(1, std::memory_order_relaxed);
      }
      if (r != nullptr) {
        drain(*r);
        r->users.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::mutex region_mutex_;  // one parallel region at a time
  std::mutex m_;             // guards region_, sleepers_, workers_; the condition variables' mutex
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Region* region_ = nullptr;
  int sleepers_ = 0;
  std::atomic<uint64_t> generation_{0};
};

// Never destroyed: parked workers must not outlive the objects they wait on
// at exit.
Pool& pool() {
  static std::atomic<Pool*> current{nullptr};
  static std::atomic<pid_t> owner{0};
  static std::mutex m;
  Pool* p = current.load();
  if (p == nullptr || owner.load() != getpid()) {
    std::lock_guard<std::mutex> lock(m);
    p = current.load();
    if (p == nullptr || owner.load() != getpid()) {
      p = new Pool;
      current.store(p);
      owner.store(getpid());
    }
  }
  return *p;
}

// Splits [begin, end) into at most default_num_threads() chunks of at least
// `grain` and runs them on the pool (the calling thread takes part).
void pool_for(int64_t begin, int64_t end, int64_t grain, const RangeBody& body) {
  const int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  const int threads = g_num_threads.load();
  // Every chunk at least `grain` long: floor, not ceiling.
  const int64_t chunks = std::min<int64_t>(threads, n / grain);
  if (chunks <= 1) {
    body(begin, end);
    return;
  }
  const int64_t step = (n + chunks - 1) / chunks;
  const std::function<void(int64_t)> chunk = [&](int64_t i) {
    const int64_t lo = begin + i * step;
    if (lo < end) body(lo, std::min(end, lo + step));
  };
  if (!pool().run(chunks, threads, chunk)) body(begin, end);
}

}  // namespace

void set_parallel_for(ParallelForImpl impl) { g_impl.store(impl); }

void set_default_num_threads(int n) { g_num_threads.store(std::max(1, n)); }

int default_num_threads() { return g_num_threads.load(); }

void set_thread_count(ThreadCountImpl impl) { g_thread_count.store(impl); }

int parallel_threads() {
  if (ThreadCountImpl impl = g_thread_count.load()) return std::max(1, impl());
  return g_num_threads.load();
}

void parallel_for(int64_t begin, int64_t end, int64_t grain, const RangeBody& body) {
  if (begin >= end) return;
  if (ParallelForImpl impl = g_impl.load()) {
    impl(begin, end, grain, body);
  } else {
    pool_for(begin, end, grain, body);
  }
}

}  // namespace fastvfx
