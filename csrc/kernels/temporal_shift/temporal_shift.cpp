// Temporal shift drivers. In bytes, every frame is `rows` rows of `row` bytes
// and a shift plan is a few byte ranges of each row (the channel spans), so
// all three ops are 2-D block moves between frames; the active ISA's
// microkernels (common/move_ukernels*.cpp) move each block.
//
// The out-of-place shift is a clone with three sources: in NCHW each thread
// writes one contiguous range of the output front to back; in NHWC it walks
// tiles of rows through a clip's frames (see temporal_shift). The
// in-place and online ops touch only the moving channels and cut them into
// tiles of about kTileBytes (row blocks for NHWC's short rows, byte ranges of
// the one long row for NCHW), run in parallel.
#include "fastvfx/temporal_shift.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "../common/move_ukernels.h"
#include "fastvfx/parallel.h"

namespace fastvfx {
namespace {

// Small: a tile's rows of all frames of a clip then stay in L1 while the
// in-place shift walks them through time. 16 and 64 KiB measured no better
// (in place, (8, C, H, W) fp32, NCHW and NHWC, one thread).
constexpr int64_t kTileBytes = 4 * 1024;

// The NCHW out-of-place shift hands out its output in units of this many bytes.
constexpr int64_t kUnitBytes = 4 * 1024;
// The NHWC out-of-place shift walks tiles of about this many bytes of a frame
// through the clip's frames (three input tiles and one output tile stay in L2).
constexpr int64_t kClipTileBytes = 32 * 1024;
// NHWC rows are merged (see temporal_shift) when a moving span is shorter than
// a cache line (a copy per span is then a few bytes, and lines are shared
// between spans) and the row is short. Merging longer rows too, or rows with
// longer spans (up to 4 KiB), measured slower than span copies (fp32, 128 to
// 512 channels, one thread).
constexpr int64_t kMergeSpanBytes = 64;
constexpr int64_t kMergeRowBytes = 512;
// The select pass walks tiles of about this many bytes of a frame through the
// clip's frames: long ones, so that every stream it reads and writes stays
// sequential for long (the L2 prefetchers follow a stream, not the jump to
// the next frame's tile). Same-process A/B runs, channels_last fp32, of
// clone's throughput (one thread / two threads): 128 KiB against 32 KiB
// tiles, 64x256x14x14 0.64 -> 0.76 / 0.71 -> 0.84 and 8x256x56x56 0.99 ->
// 1.14 / 0.97 -> 1.01, never lower on the 21 TSM stage shapes tried; 256
// against 128 KiB and 512 against 256 KiB as good or better again (the
// latter 8x256x56x56 0.98 -> 1.20, one thread); 2 MiB as 512 KiB.
constexpr int64_t kSelectTileBytes = 512 * 1024;
// The longest select period (vectors), lcm(64, row) / 64: a row of an odd
// number of 2-byte channels repeats only every 64 rows.
constexpr int64_t kMaxSelectPeriod = 1024;
// The select pass splits a clip into at least this many tiles where it can
// (tiles of at least kMinSelectTileBytes), so that two threads share evenly.
constexpr int64_t kMinSelectTiles = 8;
constexpr int64_t kMinSelectTileBytes = 4 * 1024;
// Narrow rows (up to kNarrowRowBytes: a shifted channel group in nearly every
// vector, so each output vector reads frames t-1, t and t+1) in outputs of
// kL1SelectMinBytes up to kPrefetchBytes take tiles of kL1SelectTileBytes:
// the three source tiles and the output's then stay in L1 across the frame
// walk, where a long tile read each of them from L2 three times. Same-process
// A/B runs, of clone's throughput (one thread / two threads), 8 KiB against
// the long tiles: 8x24x56x56 0.67 -> 0.89 / 0.75 -> 0.93, 64x32x28x28 0.86
// -> 0.94 / 0.83 -> 0.93, 64x64x14x14 0.86 -> 0.97 / 0.89 -> 0.96. They lost
// under 1 MB (in L2: 8x64x14x14 0.85 -> 0.74, one thread), on wide rows
// (64x256x14x14 0.89 -> 0.57), and from 8 MB on, where the long tiles'
// streams (and prefetches) from L3 and memory win: 12.8 MB, 32x128x28x28 and
// 16x64x56x56, 0.79 and 0.74 -> 0.58 (with the prefetches 0.47).
// On several threads, an NHWC clip whose output is under kL1SelectMinBytes
// (in L2) is split by whole output frames: each thread writes one contiguous
// part of the output, as a clone's threads do, where the row tiles' frame walk
// gave each thread a strided share of every frame. Same-process A/B runs, of
// clone's throughput at two threads, frames against tiles: 8x64x14x14 0.64 ->
// 0.98, 8x96x14x14 0.62 -> 0.94, 8x128x14x14 0.56 -> 0.81, 8x32x28x28 0.61
// -> 0.75 (select pass); 8x512x7x7 0.68 -> 0.79, 8x256x14x14 0.72 -> 0.86
// (span copies). At one thread the tile walk stays (8x24x28x28: 0.88 against
// 0.76 for whole frames).
constexpr int64_t kNarrowRowBytes = 512;
constexpr int64_t kL1SelectTileBytes = 8 * 1024;
constexpr int64_t kL1SelectMinBytes = 1024 * 1024;
// From this many output bytes on, the select pass prefetches the next frame's
// tile as it goes (in cache the prefetches only cost: 0.74 of clone against
// 0.77 without at 6.4 MB; from memory 0.89 against 0.65 at 25.7 MB, one
// thread, fp32 NHWC).
constexpr int64_t kPrefetchBytes = 8 * 1024 * 1024;
// From this many output bytes on, the select pass writes with streaming
// stores, as large memcpys do: input and output no longer fit a 32 MiB L3
// together, and not reading the output's lines before writing them saves a
// third of the traffic (8x256x56x56: 0.65 -> 1.08 of clone, one thread). At
// 12.8 MB, which still fits, two threads' clone ran from L3 at up to 166 GB/s
// and streaming stores (to memory) lost: 0.46-0.50 of clone.
// There is no upper bound. An output of 32 MiB or more is a fresh mapping on
// every call (glibc's malloc maps fresh pages from 32 MiB on); while the
// kernel's writes faulted its pages in (and zeroed them, leaving their lines
// in cache), streaming past them lost (0.88 of clone against 0.94 with plain
// stores, 64x256x56x56, one thread). The torch ops now fault such an output's
// pages in ahead of the kernel (csrc/ops/cpu/large_outputs.h), and streaming
// wins there too (python bench/temporal_shift_goal_grid.py, channels_last,
// the four 51-205 MB clips, plain against streaming stores: 1.00-1.02 ->
// 1.01-1.12 of clone at one thread, 0.89-0.97 -> 0.99-1.05 at two). A caller
// of the core that hands in fresh memory of that size was not measured.
constexpr int64_t kStreamBytes = 16 * 1024 * 1024;

// Below this much work per thread, waking the other threads costs more than it
// saves: a 100 KB NCHW online swap took 7 us on one thread, 16 us on two.
constexpr int64_t kParallelGrainBytes = 256 * 1024;
// The NCHW path's one contiguous range a task splits from this much output,
// as ATen's copy does (32768 float32 elements): 8x160x7x7 (250 KB) on two
// threads ran at 0.67-0.70 of clone as one task, 0.86-0.90 as two
// (bench/temporal_shift_goal_grid.py, A/B); the other 8-frame NCHW stages
// were unchanged.
constexpr int64_t kNchwGrainBytes = 128 * 1024;
// A short strided run costs about as much as this many contiguous bytes (its
// line often sits in another core's cache): the same swap in NHWC took 57 us on
// one thread and 13 us on two, so short runs must count for more.
constexpr int64_t kShortRunCost = 256;

struct ByteGeometry {
  int64_t elem;     // one element
  int64_t channel;  // one channel run (inner elements)
  int64_t row;      // one row (all channels)
  int64_t frame;    // one frame (all rows)

  explicit ByteGeometry(const ShiftShape& s)
      : elem(s.elem_size),
        channel(s.inner * s.elem_size),
        row(s.channels * s.inner * s.elem_size),
        frame(s.rows * s.channels * s.inner * s.elem_size) {}
};

// The bytes [0, region) of every row, cut into tiles: a block of whole rows
// when a row's region is short, else one row's region in byte chunks.
struct RowTiling {
  int64_t rows, region;
  int64_t row_block = 1, chunk = 1, chunks = 1;

  RowTiling(int64_t rows_, int64_t region_) : rows(rows_), region(region_) {
    if (region >= 2 * kTileBytes) {
      chunk = kTileBytes;
      chunks = (region + chunk - 1) / chunk;
    } else {
      chunk = region;
      row_block = std::max<int64_t>(1, kTileBytes / std::max<int64_t>(1, region));
    }
  }

  int64_t count() const { return ((rows + row_block - 1) / row_block) * chunks; }

  // Tiles per parallel task when each tile is visited `passes` times.
  int64_t grain(int64_t passes) const {
    const int64_t cost = std::max(chunk, kShortRunCost) * row_block * passes;
    return std::max<int64_t>(1, kParallelGrainBytes / cost);
  }

  struct Tile {
    int64_t r0, nrows, b0, b1;
  };
  Tile tile(int64_t index) const {
    const int64_t r0 = (index / chunks) * row_block;
    const int64_t b0 = (index % chunks) * chunk;
    return {r0, std::min(rows, r0 + row_block) - r0, b0, std::min(region, b0 + chunk)};
  }
};

// How many tiles of at most `max_units` units (rows, periods) to cut a clip of
// `units` units into, for `n_batch` clips: as few as fit, then, where the
// tasks are few, rounded up until the threads get equal shares (7 tiles of
// a 14x14 clip on two threads ran 4 against 3: 1.36x faster than one thread
// where a clone is 2x). The caller cuts the clip into that many equal tiles.
// Up to 16 tasks a thread (was 4): 13 tiles of 8x512x28x28 channels_last ran
// 7 against 6, 0.75 of clone at two threads against 0.81 with 14 (8x128x28x28
// 0.78 -> 0.84; A/B, the other TSM stages unchanged).
int64_t balanced_tiles(int64_t n_batch, int64_t units, int64_t max_units) {
  int64_t tiles = (units + max_units - 1) / max_units;
  const int64_t threads = parallel_threads();
  if (threads > 1 && n_batch * tiles < 16 * threads) {
    while ((n_batch * tiles) % threads != 0 && tiles < units) ++tiles;
  }
  return tiles;
}

// Whether an NHWC clip is split between the threads by whole output frames
// (see kL1SelectMinBytes above).
bool split_by_frames(const ShiftShape& shape, int64_t out_bytes) {
  const int64_t threads = parallel_threads();
  return threads > 1 && out_bytes < kL1SelectMinBytes && shape.frames() >= 2 * threads;
}

int64_t moved_channels(const ShiftPlan& plan) {
  int64_t n = 0;
  for (int k = 0; k < plan.count; ++k) {
    if (plan.spans[k].dt != 0) n += plan.spans[k].hi - plan.spans[k].lo;
  }
  return n;
}

// The select vectors of one period per edge case (see shift_nhwc_select),
// kept per thread for the last geometry: a stream of shifts over one shape
// builds them once (building them took 0.3 us of a call: 1.75 -> 1.45 us on
// an 8x160x2x1 clip, one thread).
const std::vector<SelectVector>& select_period_tables(const ByteGeometry& g, const ShiftPlan& plan,
                                                      int64_t period_bytes) {
  struct Key {
    int64_t row = -1, channel = -1, lo[3] = {}, hi[3] = {};
    int dt[3] = {}, count = -1;
    bool operator==(const Key& o) const {
      if (row != o.row || channel != o.channel || count != o.count) return false;
      for (int k = 0; k < count; ++k) {
        if (lo[k] != o.lo[k] || hi[k] != o.hi[k] || dt[k] != o.dt[k]) return false;
      }
      return true;
    }
  };
  Key key;
  key.row = g.row, key.channel = g.channel, key.count = plan.count;
  for (int k = 0; k < plan.count; ++k) {
    key.lo[k] = plan.spans[k].lo, key.hi[k] = plan.spans[k].hi, key.dt[k] = plan.spans[k].dt;
  }
  thread_local Key cached_key;
  thread_local std::vector<SelectVector> cached;
  if (key == cached_key) return cached;
  const int64_t period_len = period_bytes / 64;
  // masks[k * period_len + j]: the bytes of vector j that source k (0: frame
  // t-1, 1: t, 2: t+1) fills, span by span over the period's rows.
  std::vector<uint64_t> masks(3 * period_len, 0);
  for (int64_t r = 0; r < period_bytes; r += g.row) {
    for (int k = 0; k < plan.count; ++k) {
      uint64_t* m = &masks[(plan.spans[k].dt + 1) * period_len];
      for (int64_t b = r + plan.spans[k].lo * g.channel, e = r + plan.spans[k].hi * g.channel; b < e;) {
        const int64_t word = b / 64, bit = b % 64, n = std::min<int64_t>(64 - bit, e - b);
        m[word] |= (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << bit;
        b += n;
      }
    }
  }
  // periods[z * period_len + j]: z's bit 0 set when frame t-1 lies outside the
  // clip, bit 1 when frame t+1 does (those bytes are zeros).
  std::vector<SelectVector> periods(4 * period_len);
  for (int z = 0; z < 4; ++z) {
    for (int64_t j = 0; j < period_len; ++j) {
      const uint64_t m[3] = {(z & 1) ? 0 : masks[j], masks[period_len + j], (z & 2) ? 0 : masks[2 * period_len + j]};
      periods[z * period_len + j] = make_select_vector(m);
    }
  }
  cached = std::move(periods);
  cached_key = key;
  return cached;
}

// NHWC out of place with the ISA's select pass (AVX-512). In bytes a frame is
// its rows back to back, and which source frame (t-1, t or t+1) a byte of the
// output takes repeats every lcm(64, row) bytes: one period of select
// vectors, per edge case (first frame, last frame, both, neither), describes
// every output vector. Each task takes a tile of rows, a whole number of
// periods long, and walks it through its clip's frames as the merge path
// does (frame t's tile is read for outputs t-1, t and t+1 while it is in
// L2), writing each output tile front to back in one pass, and prefetching
// the next frame's tile as it goes: the spans of a shifted channel group
// touch a line or two of every row, which the hardware prefetchers do not
// follow. Returns false (nothing written) when the period is too long, or
// when the rows' spans are whole lines and the output fits in cache.
bool shift_nhwc_select(const unsigned char* s, unsigned char* d, const ShiftShape& shape,
                       const ShiftPlan& plan, const MoveUkernels& uk) {
  const ByteGeometry g(shape);
  const int64_t period_bytes = std::lcm<int64_t>(64, g.row);
  const int64_t period_len = period_bytes / 64;
  if (period_len > kMaxSelectPeriod) return false;
  const int64_t out_bytes = shape.frames() * g.frame;
  // Rows whose spans are whole lines, in cache: the span copies of the merge
  // path (one span at a time over a tile's rows) measured faster (2048
  // channels at 7x7, 8 frames: 0.88 of clone against 0.74, one thread).
  bool whole_lines = g.row % 64 == 0;
  for (int k = 0; k < plan.count; ++k) whole_lines &= (plan.spans[k].lo * g.channel) % 64 == 0;
  if (whole_lines && out_bytes < kPrefetchBytes) return false;
  const int64_t T = shape.n_segment;
  const std::vector<SelectVector>& periods = select_period_tables(g, plan, period_bytes);
  // Frame f's output from its clip's frames t-1, t, t+1, bytes [b0, b0 + bytes).
  auto select_frame = [&](int64_t f, int64_t b0, int64_t bytes, bool prefetch, bool stream) {
    const int64_t t = f % T;
    const int z = (t == 0 ? 1 : 0) | (t == T - 1 ? 2 : 0);
    // A source outside the clip is masked out: any valid address does.
    const unsigned char* from[3] = {s + (t > 0 ? f - 1 : f) * g.frame + b0, s + f * g.frame + b0,
                                    s + (t + 1 < T ? f + 1 : f) * g.frame + b0};
    uk.select(d + f * g.frame + b0, from, &periods[z * period_len], static_cast<size_t>(period_len),
              static_cast<size_t>(bytes), prefetch && t + 1 < T ? from[2] : nullptr, stream);
  };
  if (split_by_frames(shape, out_bytes)) {
    parallel_for(0, shape.frames(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t f = begin; f < end; ++f) select_frame(f, 0, g.frame, false, false);
    });
    return true;
  }
  // Tiles of whole periods, about kSelectTileBytes; shorter (down to 4 KiB)
  // while there are too few for two threads to share evenly (a clip of 7x7 or
  // 14x14 frames is a few tiles), unless the whole shift is too small to be
  // split at all (every tile is a call with its own setup).
  auto periods_in = [&](int64_t bytes) { return std::max<int64_t>(1, bytes / period_bytes) * period_bytes; };
  int64_t tile_bytes = periods_in(kSelectTileBytes);
  while (out_bytes >= 2 * kParallelGrainBytes &&
         shape.n_batch * ((g.frame + tile_bytes - 1) / tile_bytes) < kMinSelectTiles &&
         periods_in(tile_bytes / 2) >= kMinSelectTileBytes && periods_in(tile_bytes / 2) < tile_bytes) {
    tile_bytes = periods_in(tile_bytes / 2);
  }
  if (g.row <= kNarrowRowBytes && out_bytes >= kL1SelectMinBytes && out_bytes < kPrefetchBytes) {
    tile_bytes = periods_in(kL1SelectTileBytes);
  }
  {  // equal tiles, as many as the threads share evenly
    const int64_t frame_periods = (g.frame + period_bytes - 1) / period_bytes;
    const int64_t n = balanced_tiles(shape.n_batch, frame_periods, tile_bytes / period_bytes);
    tile_bytes = (frame_periods + n - 1) / n * period_bytes;
  }
  const int64_t tiles = (g.frame + tile_bytes - 1) / tile_bytes;
  const bool large = out_bytes >= kPrefetchBytes;
  const bool stream = out_bytes >= kStreamBytes;
  parallel_for(0, shape.n_batch * tiles, std::max<int64_t>(1, kParallelGrainBytes / (T * tile_bytes)),
               [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b0 = (item % tiles) * tile_bytes;
      const int64_t bytes = std::min(g.frame - b0, tile_bytes);
      const int64_t f0 = (item / tiles) * T;
      for (int64_t t = 0; t < T; ++t) select_frame(f0 + t, b0, bytes, large, stream);
    }
  });
  return true;
}

}  // namespace

ShiftPlan make_shift_plan(const ShiftShape& shape, ShiftMode mode, bool reverse) {
  const int64_t c = shape.channels;
  const int64_t fold = std::min(std::max<int64_t>(shape.fold, 0), c);
  ShiftPlan plan;
  auto add = [&plan](int64_t lo, int64_t hi, int dt) {
    if (lo < hi) plan.spans[plan.count++] = {lo, hi, dt};
  };
  // Moving spans first: they form the prefix [0, moved) of every row.
  if (mode == ShiftMode::kBidirectional) {
    const int64_t fold2 = std::min(2 * fold, c);
    add(0, fold, reverse ? -1 : +1);
    add(fold, fold2, reverse ? +1 : -1);
    add(fold2, c, 0);
  } else {
    add(0, fold, reverse ? +1 : -1);
    add(fold, c, 0);
  }
  return plan;
}

void temporal_shift(const void* src, void* dst, const ShiftShape& shape, ShiftMode mode,
                    bool reverse) {
  if (shape.frames() <= 0 || shape.frame_elems() <= 0) return;
  const ShiftPlan plan = make_shift_plan(shape, mode, reverse);
  const ByteGeometry g(shape);
  const int64_t T = shape.n_segment;
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  // NHWC rows (pixels) are merged from the spans' source frames in one pass
  // per row, front to back (MoveUkernels::merge2d). masks[z] selects span k's
  // bytes of a row, with the spans whose source frame lies outside the clip
  // left out: bit 0 of z for the span taking t-1, bit 1 for the one taking
  // t+1. codes[z] makes the vectors inside one span plain copies, so a row
  // reads only the lines it needs of each source, as a clone would.
  const MoveUkernels& uk = move_ukernels(active_isa());
  if (shape.rows > 1 && uk.select != nullptr && shift_nhwc_select(s, d, shape, plan, uk)) return;
  int64_t shortest_moving = g.row;
  for (int k = 0; k < plan.count; ++k) {
    if (plan.spans[k].dt != 0) {
      shortest_moving = std::min(shortest_moving, (plan.spans[k].hi - plan.spans[k].lo) * g.channel);
    }
  }
  const bool merge = shape.rows > 1 && shortest_moving < kMergeSpanBytes && g.row <= kMergeRowBytes;
  const int64_t n_codes = merge ? static_cast<int64_t>(merge_code_count(uk, g.row)) : 0;
  std::vector<unsigned char> masks(merge ? 4 * 3 * g.row : 0, 0);
  std::vector<unsigned char> codes(4 * n_codes);
  for (int z = 0; merge && z < 4; ++z) {
    for (int k = 0; k < plan.count; ++k) {
      const int dt = plan.spans[k].dt;
      if ((dt < 0 && (z & 1)) || (dt > 0 && (z & 2))) continue;
      std::fill(masks.begin() + (z * 3 + k) * g.row + plan.spans[k].lo * g.channel,
                masks.begin() + (z * 3 + k) * g.row + plan.spans[k].hi * g.channel, 0xff);
    }
    if (n_codes > 0) merge_codes(uk, &masks[z * 3 * g.row], g.row, &codes[z * n_codes]);
  }
  // Bytes [b0, b1) of rows [r0, r0 + n) of output frame f.
  auto move_rows = [&](int64_t f, int64_t r0, int64_t n, int64_t b0, int64_t b1) {
    const int64_t t = f % T;
    if (merge && b0 == 0 && b1 == g.row) {
      const int z = (t == 0 ? 1 : 0) | (t == T - 1 ? 2 : 0);
      const unsigned char* from[3];
      for (int k = 0; k < 3; ++k) {
        const int dt = k < plan.count ? plan.spans[k].dt : 0;
        const bool outside = (dt < 0 && (z & 1)) || (dt > 0 && (z & 2));
        from[k] = s + (outside ? f : f + dt) * g.frame + r0 * g.row;  // masked out when outside
      }
      uk.merge2d(d + f * g.frame + r0 * g.row, g.row, from, g.row, &masks[z * 3 * g.row],
                 n_codes > 0 ? &codes[z * n_codes] : nullptr, n, g.row);
      return;
    }
    for (int k = 0; k < plan.count; ++k) {
      const ShiftSpan& span = plan.spans[k];
      const int64_t lo = std::max(b0, span.lo * g.channel);
      const int64_t hi = std::min(b1, span.hi * g.channel);
      if (lo >= hi) continue;
      unsigned char* d_blk = d + f * g.frame + r0 * g.row + lo;
      const int64_t ts = t + span.dt;
      if (ts < 0 || ts >= T) {
        uk.zero2d(d_blk, g.row, n, hi - lo);
      } else {
        uk.copy2d(d_blk, g.row, s + (f + span.dt) * g.frame + r0 * g.row + lo, g.row, n, hi - lo);
      }
    }
  };
  if (shape.rows > 1) {
    // NHWC: an output row takes a few bytes from the same row of frames t-1
    // and t+1, so in output order every input line is read three times, a
    // frame apart: beyond L2, so from memory or L3. Walking a tile of rows
    // through the clip's frames instead, frame t's tile is read for output
    // t-1 and still in L2 for outputs t and t+1: each input line is read
    // once, and the tiles are long enough to keep the streams sequential.
    if (split_by_frames(shape, shape.frames() * g.frame)) {
      parallel_for(0, shape.frames(), 1, [&](int64_t begin, int64_t end) {
        for (int64_t f = begin; f < end; ++f) move_rows(f, 0, shape.rows, 0, g.row);
      });
      return;
    }
    const int64_t n = balanced_tiles(shape.n_batch, shape.rows, std::max<int64_t>(1, kClipTileBytes / g.row));
    const int64_t tile_rows = (shape.rows + n - 1) / n;
    const int64_t tiles = (shape.rows + tile_rows - 1) / tile_rows;
    parallel_for(0, shape.n_batch * tiles,
                 std::max<int64_t>(1, kParallelGrainBytes / (T * tile_rows * g.row)),
                 [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t r0 = (item % tiles) * tile_rows;
        const int64_t n = std::min(shape.rows - r0, tile_rows);
        for (int64_t f = (item / tiles) * T, f_end = f + T; f < f_end; ++f) move_rows(f, r0, n, 0, g.row);
      }
    });
    return;
  }
  // NCHW (one long row per frame): each task writes one contiguous range of
  // the output, front to back, as a clone's copy does: one sequential store
  // stream, and one read stream per span (frames t-1, t, t+1 at the same
  // offset). Visiting the output frame by frame, not a tile of every frame in
  // turn, keeps those streams long.
  const int64_t total = shape.frames() * g.frame;
  const int64_t units = (total + kUnitBytes - 1) / kUnitBytes;
  parallel_for(0, units, std::max<int64_t>(1, kNchwGrainBytes / kUnitBytes),
               [&](int64_t begin, int64_t end) {
    int64_t o = begin * kUnitBytes;
    const int64_t o_end = std::min(total, end * kUnitBytes);
    while (o < o_end) {
      const int64_t f = o / g.frame;
      const int64_t b = o % g.frame;
      const int64_t e = std::min(g.frame, b + (o_end - o));
      move_rows(f, 0, 1, b, e);
      o += e - b;
    }
  });
}

void temporal_shift_inplace(void* x, const ShiftShape& shape, ShiftMode mode, bool reverse) {
  if (shape.frames() <= 0 || shape.frame_elems() <= 0) return;
  const ShiftPlan plan = make_shift_plan(shape, mode, reverse);
  const ByteGeometry g(shape);
  const int64_t moved = moved_channels(plan) * g.channel;
  if (moved == 0) return;
  const RowTiling tiling(shape.rows, moved);
  const int64_t T = shape.n_segment;
  // Bidirectional with whole rows per tile (NHWC): one pass over time instead
  // of one per span. The span that takes frame t-1 is walked forward too, its
  // previous values held in a per-task carry buffer, so each frame's rows are
  // visited once while they are in L1 (the channel groups share cache lines).
  const ShiftSpan* forward = nullptr;   // dt = +1: walked with time
  const ShiftSpan* carried = nullptr;   // dt = -1: walked with time via the carry
  for (int k = 0; k < plan.count; ++k) {
    if (plan.spans[k].dt > 0) forward = &plan.spans[k];
    if (plan.spans[k].dt < 0) carried = &plan.spans[k];
  }
  const bool one_pass = forward && carried && tiling.chunks == 1;
  const int64_t carry_row = one_pass ? (carried->hi - carried->lo) * g.channel : 0;
  auto* base = static_cast<unsigned char*>(x);
  parallel_for(0, shape.n_batch * tiling.count(), tiling.grain(T), [&](int64_t begin, int64_t end) {
    const MoveUkernels& uk = move_ukernels(active_isa());
    std::vector<unsigned char> carry(static_cast<size_t>(one_pass ? tiling.row_block * carry_row : 0));
    for (int64_t item = begin; item < end; ++item) {
      const auto tile = tiling.tile(item % tiling.count());
      unsigned char* clip = base + (item / tiling.count()) * T * g.frame + tile.r0 * g.row;
      if (one_pass) {
        const int64_t f_lo = forward->lo * g.channel, f_n = (forward->hi - forward->lo) * g.channel;
        const int64_t c_lo = carried->lo * g.channel;
        uk.zero2d(carry.data(), carry_row, tile.nrows, carry_row);  // frame -1 is zeros
        for (int64_t t = 0; t < T; ++t) {
          unsigned char* frame = clip + t * g.frame;
          uk.swap2d(frame + c_lo, g.row, carry.data(), carry_row, tile.nrows, carry_row);
          if (t + 1 < T) {
            uk.copy2d(frame + f_lo, g.row, frame + g.frame + f_lo, g.row, tile.nrows, f_n);
          } else {
            uk.zero2d(frame + f_lo, g.row, tile.nrows, f_n);
          }
        }
        continue;
      }
      for (int k = 0; k < plan.count; ++k) {
        const ShiftSpan& span = plan.spans[k];
        const int64_t lo = std::max(tile.b0, span.lo * g.channel);
        const int64_t hi = std::min(tile.b1, span.hi * g.channel);
        if (span.dt == 0 || lo >= hi) continue;
        auto at = [&](int64_t t) { return clip + t * g.frame + lo; };
        // Walk against the shift so every frame is read before it is overwritten.
        if (span.dt > 0) {
          for (int64_t t = 0; t + 1 < T; ++t) uk.copy2d(at(t), g.row, at(t + 1), g.row, tile.nrows, hi - lo);
          uk.zero2d(at(T - 1), g.row, tile.nrows, hi - lo);
        } else {
          for (int64_t t = T - 1; t > 0; --t) uk.copy2d(at(t), g.row, at(t - 1), g.row, tile.nrows, hi - lo);
          uk.zero2d(at(0), g.row, tile.nrows, hi - lo);
        }
      }
    }
  });
}

void temporal_shift_online_swap(void* x, void* cache, const ShiftShape& shape) {
  const int64_t fold = std::min(std::max<int64_t>(shape.fold, 0), shape.channels);
  if (shape.n_batch <= 0 || fold == 0 || shape.rows <= 0 || shape.inner <= 0) return;
  const ByteGeometry g(shape);
  const int64_t cache_row = fold * g.channel;  // cache rows hold the fold channels only
  const RowTiling tiling(shape.rows, cache_row);
  auto* xb = static_cast<unsigned char*>(x);
  auto* cb = static_cast<unsigned char*>(cache);
  parallel_for(0, shape.n_batch * tiling.count(), tiling.grain(2), [&](int64_t begin, int64_t end) {
    const MoveUkernels& uk = move_ukernels(active_isa());
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / tiling.count();
      const auto tile = tiling.tile(item % tiling.count());
      uk.swap2d(xb + n * g.frame + tile.r0 * g.row + tile.b0, g.row,
                cb + (n * shape.rows + tile.r0) * cache_row + tile.b0, cache_row, tile.nrows,
                tile.b1 - tile.b0);
    }
  });
}

void temporal_shift_gather_tile(const void* src, const ShiftShape& shape, const ShiftPlan& plan,
                                int64_t frame, int64_t r0, int64_t r1, int64_t i0, int64_t i1,
                                void* dst, int64_t dst_row_stride, int64_t dst_channel_stride) {
  const MoveUkernels& uk = move_ukernels(active_isa());
  const ByteGeometry g(shape);
  const int64_t t = frame % shape.n_segment;
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  const int64_t run = (i1 - i0) * g.elem;
  for (int k = 0; k < plan.count; ++k) {
    const ShiftSpan& span = plan.spans[k];
    const int64_t ts = t + span.dt;
    const bool zero = ts < 0 || ts >= shape.n_segment;
    const unsigned char* s_frame = s + (frame + span.dt) * g.frame + i0 * g.elem;
    if (run == g.channel && dst_channel_stride == g.channel) {
      // Whole channels, packed as in the source: one block of rows.
      unsigned char* d_blk = d + span.lo * g.channel;
      const int64_t n = (span.hi - span.lo) * g.channel;
      if (zero) {
        uk.zero2d(d_blk, dst_row_stride, r1 - r0, n);
      } else {
        uk.copy2d(d_blk, dst_row_stride, s_frame + r0 * g.row + span.lo * g.channel, g.row, r1 - r0, n);
      }
      continue;
    }
    // Part of each channel: one block of channel runs per row.
    for (int64_t r = r0; r < r1; ++r) {
      unsigned char* d_blk = d + (r - r0) * dst_row_stride + span.lo * dst_channel_stride;
      if (zero) {
        uk.zero2d(d_blk, dst_channel_stride, span.hi - span.lo, run);
      } else {
        uk.copy2d(d_blk, dst_channel_stride, s_frame + r * g.row + span.lo * g.channel, g.channel,
                  span.hi - span.lo, run);
      }
    }
  }
}

}  // namespace fastvfx
