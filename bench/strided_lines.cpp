// What the memory system gives the channels_last in-place shift (issue 13:
// "in place: the moved bytes at no less than clone's bandwidth"). A
// channels_last clip keeps a pixel's channels in one row of C * 4 bytes; the
// shift moves the first 2 * C / 8 channels of every row, one 64-byte line of a
// 256-byte row at 64 channels. Timed in one process, the clip in L3, medians:
//   memcpy      the whole clip into another buffer (clone's pattern);
//   ours        the core's temporal_shift_inplace (bidirectional, fold C/8);
//   strided     the simplest move with the same lines: frame t's moved lines
//               from frame t+1, one 64-byte load and store each;
//   contiguous  the same number of lines, packed one after another.
// Each figure is the moved bytes (read and written) per second, and that over
// memcpy's bytes per second, the bench's "of clone" (docs/temporal_shift.md,
// "In place, channels_last, small channel counts"). Each pattern runs right
// after a memcpy of the clip, so that all start from the same cache state.
//   g++ -O2 -std=c++17 -Icsrc/kernels/include bench/strided_lines.cpp
//       build-core/csrc/kernels/libfastvfx_kernels.a -lpthread -o strided_lines
//   ./strided_lines [threads]   # default 2
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "fastvfx/parallel.h"
#include "fastvfx/temporal_shift.h"

namespace {

using Clock = std::chrono::steady_clock;

// Frame t's `lines` lines at the start of each of `rows` rows of `pitch`
// bytes from frame t + 1, rows [r0, r1).
void move_lines(char* base, long frames, long pitch, long lines, long frame_bytes, long r0, long r1) {
  for (long t = 0; t + 1 < frames; ++t) {
    for (long r = r0; r < r1; ++r) {
      for (long l = 0; l < lines; ++l) {
        std::memcpy(base + t * frame_bytes + r * pitch + l * 64, base + (t + 1) * frame_bytes + r * pitch + l * 64, 64);
      }
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run(long frames, long rows, long channels, int threads) {
  const long pitch = channels * 4, moved_bytes = 2 * (channels / 8) * 4;
  const long lines = moved_bytes / 64, frame_bytes = rows * pitch, total = frames * frame_bytes;
  const long packed_rows = rows * lines;
  auto alloc = [](long bytes) {
    char* p = static_cast<char*>(std::aligned_alloc(4096, static_cast<size_t>(bytes)));
    std::memset(p, 1, static_cast<size_t>(bytes));
    return p;
  };
  char* x = alloc(total);
  char* y = alloc(total);
  char* z = alloc(frames * packed_rows * 64);
  fastvfx::ShiftShape shape;
  shape.n_batch = 1, shape.n_segment = frames, shape.rows = rows, shape.channels = channels;
  shape.inner = 1, shape.fold = channels / 8, shape.elem_size = 4;
  const int rounds = 200;
  std::vector<double> t_copy(rounds), t_ours(rounds), t_strided(rounds), t_packed(rounds);
  // Every pattern on the core's persistent pool (no thread start timed), each
  // thread its share.
  fastvfx::set_default_num_threads(threads);
  auto on_threads = [&](const std::function<void(int)>& part) {
    fastvfx::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) part(static_cast<int>(i));
    });
  };
  auto share = [&](long n, int i) { return std::make_pair(n * i / threads, n * (i + 1) / threads); };
  auto timed = [](const std::function<void()>& fn) {
    const auto t0 = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  // Each pattern right after a memcpy, so that all start from the cache
  // state the copy leaves (the clip in L3, not in the cores' L2).
  auto copy = [&] {
    on_threads([&](int i) {
      const auto [c0, c1] = share(total, i);
      std::memcpy(y + c0, x + c0, static_cast<size_t>(c1 - c0));
    });
  };
  for (int round = 0; round < rounds; ++round) {
    t_copy[round] = timed(copy);
    t_ours[round] = timed([&] { fastvfx::temporal_shift_inplace(x, shape, fastvfx::ShiftMode::kBidirectional, false); });
    copy();
    t_strided[round] = timed([&] {
      on_threads([&](int i) {
        const auto [r0, r1] = share(rows, i);
        move_lines(x, frames, pitch, lines, frame_bytes, r0, r1);
      });
    });
    copy();
    t_packed[round] = timed([&] {
      on_threads([&](int i) {
        const auto [p0, p1] = share(packed_rows, i);
        move_lines(z, frames, 64, 1, packed_rows * 64, p0, p1);
      });
    });
  }
  const double clone = 2.0 * total / median(t_copy);
  // Ours moves both directions' channels: all moved bytes of all frames.
  const double ours = 2.0 * frames * rows * moved_bytes / median(t_ours);
  const double strided = 2.0 * (frames - 1) * rows * lines * 64 / median(t_strided);
  const double packed = 2.0 * (frames - 1) * packed_rows * 64 / median(t_packed);
  std::printf("%ldx%ldch %ld rows, %d thread(s): memcpy %5.1f GB/s | ours %5.1f GB/s %4.0f%% | strided %5.1f GB/s %4.0f%% "
              "| contiguous %5.1f GB/s %4.0f%%\n",
              frames, channels, rows, threads, clone / 1e9, ours / 1e9, 100 * ours / clone, strided / 1e9,
              100 * strided / clone, packed / 1e9, 100 * packed / clone);
  std::free(x), std::free(y), std::free(z);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  run(8, 56 * 56, 64, threads);   // the bench's 8x64ch 56²
  run(8, 28 * 28, 256, threads);  // 8x256ch 28²
  run(32, 28 * 28, 128, threads); // 32x128ch 28²
  return 0;
}
