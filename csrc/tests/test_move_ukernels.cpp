// Every compiled byte-movement variant against plain byte loops: run lengths
// up to several vectors, every few misalignments, 1..3 rows with gaps between.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "check.h"
#include "common/move_ukernels.h"

using namespace fastvfx;

namespace {

std::vector<unsigned char> pattern(size_t size, unsigned mul, unsigned add) {
  std::vector<unsigned char> v(size);
  for (size_t k = 0; k < size; ++k) v[k] = static_cast<unsigned char>(k * mul + add);
  return v;
}

// True when byte k lies in run r of a block starting at `start`.
bool in_block(size_t k, size_t start, size_t stride, size_t rows, size_t n) {
  if (k < start) return false;
  const size_t rel = k - start;
  return rel / stride < rows && rel % stride < n;
}

// The select vector whose byte i comes from source pick[i] (0..2, or 3: a zero).
SelectVector select_vector(const unsigned char* pick) {
  uint64_t mask[3] = {0, 0, 0};
  for (unsigned i = 0; i < 64; ++i) {
    if (pick[i] < 3) mask[pick[i]] |= uint64_t{1} << i;
  }
  return make_select_vector(mask);
}

}  // namespace

int main() {
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    const MoveUkernels& uk = move_ukernels(isa);
    const char* name = isa_name(isa);
    std::printf("testing %s\n", name);
    for (size_t n = 0; n <= 600; n += (n < 140 ? 1 : 37)) {
      for (size_t rows : {1, 3}) {
        const size_t stride = n + 13;
        for (size_t off = 0; off < 64; off += 9) {
          const size_t size = off + 8 + rows * stride + 64;
          const auto a0 = pattern(size, 13, 7), b0 = pattern(size, 29, 3);

          auto a = a0, b = b0;
          uk.copy2d(b.data() + off + 3, stride, a.data() + off, stride, rows, n);
          bool ok = a == a0;
          for (size_t k = 0; k < size; ++k) {
            ok &= b[k] == (in_block(k, off + 3, stride, rows, n) ? a0[k - 3] : b0[k]);
          }
          CHECK(ok, "%s copy2d n=%zu rows=%zu off=%zu", name, n, rows, off);

          b = b0;
          uk.zero2d(b.data() + off, stride, rows, n);
          ok = true;
          for (size_t k = 0; k < size; ++k) {
            ok &= b[k] == (in_block(k, off, stride, rows, n) ? 0 : b0[k]);
          }
          CHECK(ok, "%s zero2d n=%zu rows=%zu off=%zu", name, n, rows, off);

          b = b0;
          uk.swap2d(a.data() + off, stride, b.data() + off + 5, stride, rows, n);
          ok = true;
          for (size_t k = 0; k < size; ++k) {
            ok &= a[k] == (in_block(k, off, stride, rows, n) ? b0[k + 5] : a0[k]);
            ok &= b[k] == (in_block(k, off + 5, stride, rows, n) ? a0[k - 5] : b0[k]);
          }
          CHECK(ok, "%s swap2d n=%zu rows=%zu off=%zu", name, n, rows, off);

          // Three sources, each byte from the one its mask picks (or none):
          // scattered picks (every vector a blend), then three spans as a
          // shift lays them out (vectors inside a span are plain copies),
          // the middle one left out (a zero) on odd offsets.
          const auto c0 = pattern(size, 7, 11);
          const unsigned char* src[3] = {a0.data() + off + 1, b0.data() + off + 2, c0.data() + off};
          const size_t lo = n / 8 + off % 5, hi = std::min(n, 2 * lo + off % 3);
          for (bool spans : {false, true}) {
            auto pick_at = [&](size_t i) -> size_t {  // 3: no source, a zero
              if (!spans) return (i * 5 + off) % 4;
              if (i < lo) return 0;
              if (i < hi) return off % 2 ? 3 : 1;
              return 2;
            };
            std::vector<unsigned char> mask(3 * n);
            for (size_t i = 0; i < n; ++i) {
              for (size_t k = 0; k < 3; ++k) mask[k * n + i] = pick_at(i) == k ? 0xff : 0;
            }
            std::vector<unsigned char> codes(merge_code_count(uk, n));
            merge_codes(uk, mask.data(), n, codes.data());
            for (bool coded : {false, true}) {
              b = b0;
              uk.merge2d(b.data() + off + 7, stride, src, stride, mask.data(),
                         coded ? codes.data() : nullptr, rows, n);
              ok = true;
              for (size_t k = 0; k < size; ++k) {
                unsigned char want = b0[k];
                if (in_block(k, off + 7, stride, rows, n)) {
                  const size_t rel = k - off - 7, pick = pick_at(rel % stride);
                  want = pick == 3 ? 0 : src[pick][rel];
                }
                ok &= b[k] == want;
              }
              CHECK(ok, "%s merge2d n=%zu rows=%zu off=%zu spans=%d coded=%d", name, n, rows, off,
                    spans, coded);
            }
          }
        }
      }
    }
  }
  // select, where the ISA has it: periods of 1..12 vectors (pure, blended and
  // zeroed vectors), byte counts that end mid-period and mid-vector, every few
  // misalignments of dst and sources; the bytes after the end stay untouched.
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa) || move_ukernels(isa).select == nullptr) continue;
    const MoveUkernels& uk = move_ukernels(isa);
    const char* name = isa_name(isa);
    for (size_t len : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 40, 150}) {
      for (unsigned style = 0; style < 5; ++style) {
        // style 0: a shift's row of 40 bytes (8 from t+1, 8 from t-1, the
        // rest from t); 1: the same with t-1 a zero; 2: scattered picks;
        // 3: a wide row (a vector from t+1, one from t-1, the rest from t:
        // runs of whole vectors); 4: pure and blended vectors alternating
        // (at 150, more runs than the kernel keeps).
        std::vector<unsigned char> pick(64 * len);
        std::vector<SelectVector> period(len);
        for (size_t j = 0; j < 64 * len; ++j) {
          const size_t b = j % 40;
          if (style == 2) {
            pick[j] = static_cast<unsigned char>((j * 7 + j / 64) % 4);
          } else if (style == 3) {
            pick[j] = j < 64 ? 2 : j < 128 ? 0 : 1;
          } else if (style == 4) {
            pick[j] = (j / 64) % 2 == 0 ? 1 : static_cast<unsigned char>((j * 5) % 3);
          } else {
            pick[j] = b < 8 ? 2 : b < 16 ? (style == 1 ? 3 : 0) : 1;
          }
        }
        for (size_t j = 0; j < len; ++j) period[j] = select_vector(&pick[64 * j]);
        for (size_t bytes : {size_t{0}, 64 * len, 64 * len * 3, 64 * len * 2 + 64 * (len / 2) + 17,
                             size_t{5}}) {
          for (size_t off = 0; off < 64; off += 21) {
            const size_t size = bytes + off + 256;
            const auto a0 = pattern(size, 13, 7), b0 = pattern(size, 29, 3), c0 = pattern(size, 7, 11);
            const unsigned char* src[3] = {a0.data() + off + 1, b0.data() + 2, c0.data() + off};
            for (bool stream : {false, true}) {
              auto out = pattern(size + 64, 3, 1);
              const auto out0 = out;
              // Streaming stores need a 64-byte aligned dst: the first one
              // past the start.
              const size_t at = stream ? 64 - reinterpret_cast<uintptr_t>(out.data()) % 64 : off + 3;
              uk.select(out.data() + at, src, period.data(), len, bytes, style == 0 ? a0.data() : nullptr,
                        stream);
              bool ok = true;
              for (size_t k = 0; k < out.size(); ++k) {
                unsigned char want = out0[k];
                if (k >= at && k - at < bytes) {
                  const size_t j = k - at;
                  const unsigned char p = pick[j % (64 * len)];
                  want = p == 3 ? 0 : src[p][j];
                }
                ok &= out[k] == want;
              }
              CHECK(ok, "%s select len=%zu style=%u bytes=%zu off=%zu stream=%d", name, len, style, bytes,
                    off, stream);
            }
          }
        }
      }
    }
  }
  return TEST_MAIN_RESULT("move_ukernels");
}
