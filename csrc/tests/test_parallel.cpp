// The built-in thread pool of torch-free builds: every index of a range runs
// exactly once for any size, grain and thread count; nested calls and calls
// from several application threads at once complete and stay exact; a forked
// child gets a working pool.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fastvfx/parallel.h"

using namespace fastvfx;

namespace {

// Runs parallel_for over [begin, end) and checks each index ran once and
// every range (but the last) respected the grain.
void check_cover(int64_t begin, int64_t end, int64_t grain, bool nested) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(end - begin + 1));
  std::atomic<int> short_ranges{0};
  parallel_for(begin, end, grain, [&](int64_t lo, int64_t hi) {
    if (hi - lo < grain && hi != end) ++short_ranges;
    for (int64_t i = lo; i < hi; ++i) {
      if (nested) {
        parallel_for(0, 3, 1, [&](int64_t a, int64_t b) {
          for (int64_t j = a; j < b; ++j) hits[static_cast<size_t>(i - begin)].fetch_add(1);
        });
      } else {
        hits[static_cast<size_t>(i - begin)].fetch_add(1);
      }
    }
  });
  const int want = nested ? 3 : 1;
  int wrong = 0;
  for (int64_t i = 0; i < end - begin; ++i) wrong += hits[static_cast<size_t>(i)].load() != want;
  CHECK(wrong == 0, "[%lld, %lld) grain %lld nested %d: %d indices ran a wrong number of times", (long long)begin,
        (long long)end, (long long)grain, nested, wrong);
  CHECK(short_ranges.load() == 0, "[%lld, %lld) grain %lld: a range shorter than the grain", (long long)begin,
        (long long)end, (long long)grain);
}

}  // namespace

int main(int argc, char** argv) {
  const bool fork_check = !(argc > 1 && std::strcmp(argv[1], "--no-fork") == 0);
  for (int threads : {1, 2, 3, 5, 8}) {
    set_default_num_threads(threads);
    for (int64_t n : {1, 2, 3, 7, 64, 1000}) {
      for (int64_t grain : {1, 2, 5, 100}) {
        check_cover(0, n, grain, false);
        check_cover(10, 10 + n, grain, false);
      }
      check_cover(0, n, 1, true);
    }
  }
  // Several application threads using the kernels at once.
  set_default_num_threads(3);
  std::vector<std::thread> apps;
  for (int a = 0; a < 4; ++a) {
    apps.emplace_back([] {
      for (int r = 0; r < 200; ++r) check_cover(0, 37 + r % 5, 1, r % 10 == 0);
    });
  }
  for (auto& t : apps) t.join();
  // A forked child (the parent's workers do not exist there).
  if (!fork_check) {
    std::printf("fork check skipped (--no-fork)\n");
    return TEST_MAIN_RESULT("parallel");
  }
  const int failures_before = fvx_test::failures();
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(20);  // a hang ends the child with a signal
    check_cover(0, 100, 1, false);
    _exit(fvx_test::failures() == failures_before ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork failed");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child's parallel_for failed (status %d)", status);
  return TEST_MAIN_RESULT("parallel");
}
