/* Page faults on a fresh 51 MB mapping, without fastvfx: the cause behind
 * csrc/ops/cpu/large_outputs.h (docs/temporal_shift.md, "Large outputs").
 * Copies 51 MB into a fresh anonymous mapping, `calls` times, with one thread
 * or two (a half each), the pages coming in one of four ways:
 *   4k        the copy's writes fault them in, 4 KiB at a time;
 *   huge      madvise(MADV_HUGEPAGE) first (transparent huge pages);
 *   populate  each thread's half populated (MADV_POPULATE_WRITE), then copied;
 *   chunks    populate and copy 1 MiB chunks in turn.
 * Prints the median, 90th and 99th percentile in ms. Linux only:
 *
 *   cc -O2 -pthread bench/fresh_pages.c -o /tmp/fresh_pages
 *   /tmp/fresh_pages 4k 2 200; /tmp/fresh_pages huge 2 200
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { k4k, kHuge, kPopulate, kChunks };
static const size_t kBytes = 51380224; /* 64 x 64 x 56 x 56 floats */
static const size_t kChunk = 1 << 20;
static char *src, *dst;
static int mode;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void* copy_half(void* arg) {
  const size_t half = kBytes / 2, o = (size_t)(uintptr_t)arg * half;
  if (mode == kChunks) {
    for (size_t c = 0; c < half; c += kChunk) {
      const size_t n = half - c < kChunk ? half - c : kChunk;
      madvise(dst + o + c, n, MADV_POPULATE_WRITE); /* page-aligned: o and c are multiples of 4 KiB */
      memcpy(dst + o + c, src + o + c, n);
    }
    return NULL;
  }
  if (mode == kPopulate) madvise(dst + o, half, MADV_POPULATE_WRITE);
  memcpy(dst + o, src + o, half);
  return NULL;
}

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  const char* names[] = {"4k", "huge", "populate", "chunks"};
  mode = -1;
  for (int m = 0; argc > 1 && m < 4; ++m) if (strcmp(argv[1], names[m]) == 0) mode = m;
  const int threads = argc > 2 ? atoi(argv[2]) : 1, calls = argc > 3 ? atoi(argv[3]) : 100;
  if (mode < 0 || threads < 1 || threads > 2 || calls < 1) {
    fprintf(stderr, "usage: %s 4k|huge|populate|chunks [threads 1|2] [calls]\n", argv[0]);
    return 2;
  }
  src = malloc(kBytes);
  memset(src, 1, kBytes);
  double* t = malloc(sizeof(double) * calls);
  for (int r = 0; r < calls; ++r) {
    dst = mmap(NULL, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (dst == MAP_FAILED) return 1;
    const double t0 = now_ms();
    if (mode == kHuge) {
      const uintptr_t huge = (uintptr_t)2 << 20, first = ((uintptr_t)dst + huge - 1) & ~(huge - 1);
      const uintptr_t last = ((uintptr_t)dst + kBytes) & ~(huge - 1);
      if (last > first) madvise((void*)first, last - first, MADV_HUGEPAGE);
    }
    if (threads == 2) {
      pthread_t other;
      pthread_create(&other, NULL, copy_half, (void*)(uintptr_t)1);
      copy_half((void*)(uintptr_t)0);
      pthread_join(other, NULL);
    } else {
      copy_half((void*)(uintptr_t)0);
      copy_half((void*)(uintptr_t)1);
    }
    t[r] = now_ms() - t0;
    munmap(dst, kBytes);
  }
  qsort(t, calls, sizeof(double), by_value);
  printf("%s, %d thread(s), %d calls: median %.2f ms, p90 %.2f, p99 %.2f\n", names[mode], threads, calls,
         t[calls / 2], t[calls * 9 / 10], t[calls * 99 / 100]);
  return 0;
}
