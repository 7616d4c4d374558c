// Temporal shift kernels (see fastvfx/temporal_shift.h for the layout and the
// semantics). All three move bytes: a frame is `rows` rows of `row` bytes, and
// the channel spans of the shift plan are byte ranges of every row. A thread
// moves one unit of U bytes, U the largest of 16, 8, 4, 2, 1 that divides the
// pointers and every span boundary, so a 16-byte unit is one 128-bit access.
#pragma once

#include "dtype.h"
#include "fastvfx/temporal_shift.h"
#include "grid.h"

namespace fastvfx::cuda {

template <int U> struct UnitOf;
template <> struct UnitOf<16> { using type = Bytes16; };
template <> struct UnitOf<8> { using type = uint64_t; };
template <> struct UnitOf<4> { using type = uint32_t; };
template <> struct UnitOf<2> { using type = uint16_t; };
template <> struct UnitOf<1> { using type = uint8_t; };

// The byte geometry of a shift, in units.
struct ShiftUnits {
  int64_t row;      // units per row
  int64_t frame;    // units per frame
  int64_t n_segment;
  int64_t frames;
  int64_t n_batch;
  // Span boundaries in units of a row, and each span's time offset.
  int64_t lo[3], hi[3];
  int dt[3];
  int count;

  FVX_HD int dt_at(int64_t offset_in_row) const {
    for (int k = 0; k < count; ++k) {
      if (offset_in_row < hi[k]) return dt[k];
    }
    return 0;
  }
};

// The largest unit dividing every pointer and the byte boundaries of `plan`.
inline int shift_unit(const ShiftShape& s, const ShiftPlan& plan, const void* a, const void* b) {
  const int64_t channel = s.inner * s.elem_size;
  int u = 16;
  auto fits = [&](int64_t bytes) { return bytes % u == 0; };
  while (u > 1) {
    bool ok = aligned(a, u) && (!b || aligned(b, u)) && fits(s.channels * channel);
    for (int k = 0; k < plan.count; ++k) ok = ok && fits(plan.spans[k].lo * channel) && fits(plan.spans[k].hi * channel);
    if (ok) break;
    u /= 2;
  }
  return u;
}

inline ShiftUnits shift_units(const ShiftShape& s, const ShiftPlan& plan, int unit) {
  const int64_t channel = s.inner * s.elem_size;
  ShiftUnits g{};
  g.row = s.channels * channel / unit;
  g.frame = g.row * s.rows;
  g.n_segment = s.n_segment;
  g.n_batch = s.n_batch;
  g.frames = s.n_batch * s.n_segment;
  g.count = plan.count;
  for (int k = 0; k < plan.count; ++k) {
    g.lo[k] = plan.spans[k].lo * channel / unit;
    g.hi[k] = plan.spans[k].hi * channel / unit;
    g.dt[k] = plan.spans[k].dt;
  }
  return g;
}

// Out of place, one pass: every unit of dst is written once, from the frame
// its span names or with zeros.
template <int U> struct ShiftCopyKernel {
  using Unit = typename UnitOf<U>::type;
  const Unit* src;
  Unit* dst;
  ShiftUnits g;

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t total = g.frames * g.frame;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      const int64_t f = i / g.frame;
      const int dt = g.dt_at(i % g.row);
      const int64_t ts = f % g.n_segment + dt;
      if (ts < 0 || ts >= g.n_segment) {
        dst[i] = Unit{};
      } else {
        dst[i] = src[i + dt * g.frame];
      }
    }
  }
};

// In place, race-free in one launch: a thread owns one unit column of one clip
// (the same offset in all T frames) and walks time against the shift, so each
// frame is read before it is overwritten and no other thread touches it.
template <int U> struct ShiftInplaceKernel {
  using Unit = typename UnitOf<U>::type;
  Unit* x;
  ShiftUnits g;
  int64_t moved;  // the moving spans are the prefix [0, moved) of a row

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t rows = g.frame / g.row;
    const int64_t total = g.n_batch * rows * moved;
    const int64_t T = g.n_segment;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      const int64_t offset = i % moved, r = (i / moved) % rows, b = i / (moved * rows);
      Unit* col = x + b * T * g.frame + r * g.row + offset;
      if (g.dt_at(offset) > 0) {
        for (int64_t t = 0; t + 1 < T; ++t) col[t * g.frame] = col[(t + 1) * g.frame];
        col[(T - 1) * g.frame] = Unit{};
      } else {
        for (int64_t t = T - 1; t > 0; --t) col[t * g.frame] = col[(t - 1) * g.frame];
        col[0] = Unit{};
      }
    }
  }
};

// Online step: x's units [0, fold_units) of every row swap with the cache,
// whose rows hold those units only.
template <int U> struct ShiftSwapKernel {
  using Unit = typename UnitOf<U>::type;
  Unit* x;
  Unit* cache;
  int64_t rows;        // n_batch * rows of a frame
  int64_t row;         // units per row of x
  int64_t fold_units;  // units per cache row

  FVX_HD int phases() const { return 1; }
  FVX_HD void operator()(int, const Thread& th, void*) const {
    const int64_t total = rows * fold_units;
    for (int64_t i = th.global(); i < total; i += th.grid_threads()) {
      Unit* a = x + (i / fold_units) * row + i % fold_units;
      const Unit v = *a;
      *a = cache[i];
      cache[i] = v;
    }
  }
};

// Calls fn(std::integral_constant-like tag) for unit size u.
template <class Fn> void dispatch_unit(int u, Fn&& fn) {
  switch (u) {
    case 16: fn(ShiftCopyKernel<16>{}, ShiftInplaceKernel<16>{}, ShiftSwapKernel<16>{}); break;
    case 8: fn(ShiftCopyKernel<8>{}, ShiftInplaceKernel<8>{}, ShiftSwapKernel<8>{}); break;
    case 4: fn(ShiftCopyKernel<4>{}, ShiftInplaceKernel<4>{}, ShiftSwapKernel<4>{}); break;
    case 2: fn(ShiftCopyKernel<2>{}, ShiftInplaceKernel<2>{}, ShiftSwapKernel<2>{}); break;
    default: fn(ShiftCopyKernel<1>{}, ShiftInplaceKernel<1>{}, ShiftSwapKernel<1>{}); break;
  }
}

// Builders shared by the launchers (temporal_shift.cu) and the emulator
// tests: each calls run(kernel, grid) with the kernel it chose, or nothing
// for an empty shift. `Run` is a launcher or the emulator.
template <class Run>
void temporal_shift_run(const void* src, void* dst, const ShiftShape& s, ShiftMode mode, bool reverse,
                        Run&& run) {
  if (s.frames() <= 0 || s.frame_elems() <= 0) return;
  const ShiftPlan plan = make_shift_plan(s, mode, reverse);
  const int u = shift_unit(s, plan, src, dst);
  const ShiftUnits g = shift_units(s, plan, u);
  dispatch_unit(u, [&](auto copy, auto, auto) {
    using K = decltype(copy);
    K k{static_cast<const typename K::Unit*>(src), static_cast<typename K::Unit*>(dst), g};
    run(k, grid_for(g.frames * g.frame));
  });
}

template <class Run>
void temporal_shift_inplace_run(void* x, const ShiftShape& s, ShiftMode mode, bool reverse, Run&& run) {
  if (s.frames() <= 0 || s.frame_elems() <= 0) return;
  const ShiftPlan plan = make_shift_plan(s, mode, reverse);
  const int u = shift_unit(s, plan, x, nullptr);
  const ShiftUnits g = shift_units(s, plan, u);
  int64_t moved = 0;
  for (int k = 0; k < g.count; ++k) {
    if (g.dt[k] != 0) moved = g.hi[k];
  }
  if (moved == 0) return;
  dispatch_unit(u, [&](auto, auto inplace, auto) {
    using K = decltype(inplace);
    K k{static_cast<typename K::Unit*>(x), g, moved};
    run(k, grid_for(s.n_batch * s.rows * moved));
  });
}

template <class Run>
void temporal_shift_online_swap_run(void* x, void* cache, const ShiftShape& s, Run&& run) {
  const int64_t fold = s.fold < 0 ? 0 : (s.fold > s.channels ? s.channels : s.fold);
  if (s.n_batch <= 0 || fold == 0 || s.rows <= 0 || s.inner <= 0) return;
  ShiftPlan plan;  // the one boundary that matters: the cache row
  plan.spans[0] = {0, fold, 0};
  plan.count = 1;
  const int u = shift_unit(s, plan, x, cache);
  const int64_t channel = s.inner * s.elem_size;
  dispatch_unit(u, [&](auto, auto, auto swap) {
    using K = decltype(swap);
    K k{static_cast<typename K::Unit*>(x), static_cast<typename K::Unit*>(cache), s.n_batch * s.rows,
        s.channels * channel / u, fold * channel / u};
    run(k, grid_for(k.rows * k.fold_units));
  });
}

}  // namespace fastvfx::cuda
