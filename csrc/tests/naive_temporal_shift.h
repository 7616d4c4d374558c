// Naive per-element formulation of TSM's temporal shift, shared by the tests
// of the CPU drivers and of the CUDA kernels (run by the host grid emulator).
#pragma once

#include <cstdint>
#include <vector>

#include "fastvfx/temporal_shift.h"

namespace fvx_naive {

using fastvfx::ShiftMode;
using fastvfx::ShiftShape;

struct Case {
  int64_t n, t, rows, c, inner, fold_div;
  ShiftMode mode;
  bool reverse;
};

// Frame offset of channel c's source at time t: +1, -1 or 0 (TSM rule),
// written per channel without the span machinery under test.
inline int source_dt(const Case& k, int64_t ch) {
  const int64_t fold = k.c / k.fold_div;
  int dt = 0;
  if (k.mode == ShiftMode::kBidirectional) {
    if (ch < fold) dt = +1;
    else if (ch < 2 * fold) dt = -1;
  } else if (ch < fold) {
    dt = -1;
  }
  return k.reverse ? -dt : dt;
}

template <class E>
std::vector<E> reference(const Case& k, const std::vector<E>& x) {
  std::vector<E> y(x.size());
  for (int64_t b = 0; b < k.n; ++b)
    for (int64_t t = 0; t < k.t; ++t)
      for (int64_t r = 0; r < k.rows; ++r)
        for (int64_t ch = 0; ch < k.c; ++ch)
          for (int64_t i = 0; i < k.inner; ++i) {
            const auto at = [&](int64_t tt) {
              return (((b * k.t + tt) * k.rows + r) * k.c + ch) * k.inner + i;
            };
            const int64_t ts = t + source_dt(k, ch);
            y[at(t)] = (ts < 0 || ts >= k.t) ? E(0) : x[at(ts)];
          }
  return y;
}

inline ShiftShape shape_of(const Case& k, int64_t elem) {
  ShiftShape s;
  s.n_batch = k.n;
  s.n_segment = k.t;
  s.rows = k.rows;
  s.channels = k.c;
  s.inner = k.inner;
  s.fold = k.c / k.fold_div;
  s.elem_size = elem;
  return s;
}

}  // namespace fvx_naive
