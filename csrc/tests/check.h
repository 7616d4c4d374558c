// A minimal test harness: CHECK records a failure with its location and the
// test keeps going; main returns the number of failures (ctest: 0 passes).
#pragma once

#include <cstdio>

namespace fvx_test {
inline int& failures() {
  static int n = 0;
  return n;
}
}  // namespace fvx_test

#define CHECK(cond, ...)                                                 \
  do {                                                                   \
    if (!(cond)) {                                                       \
      ++fvx_test::failures();                                            \
      if (fvx_test::failures() <= 20) {                                  \
        std::fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
        std::fprintf(stderr, __VA_ARGS__);                               \
        std::fprintf(stderr, "\n");                                      \
      }                                                                  \
    }                                                                    \
  } while (0)

#define TEST_MAIN_RESULT(name)                                                        \
  (std::printf("%s: %s (%d failures)\n", name, fvx_test::failures() ? "FAILED" : "passed", \
               fvx_test::failures()),                                                 \
   fvx_test::failures() ? 1 : 0)
