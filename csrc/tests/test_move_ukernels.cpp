// Every compiled byte-movement variant against plain byte loops, for every
// length up to a few vectors and every misalignment of a 64-byte line.
#include <cstdint>
#include <vector>

#include "check.h"
#include "common/move_ukernels.h"

using namespace fastvfx;

int main() {
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    if (!isa_supported(isa)) continue;
    const MoveUkernels& uk = move_ukernels(isa);
    std::printf("testing %s\n", isa_name(isa));
    for (size_t n = 0; n <= 600; n += (n < 140 ? 1 : 37)) {
      for (size_t off = 0; off < 64; off += 7) {
        std::vector<unsigned char> a(n + 160), b(n + 160), a0, b0;
        for (size_t k = 0; k < a.size(); ++k) {
          a[k] = static_cast<unsigned char>(k * 13 + 7);
          b[k] = static_cast<unsigned char>(k * 29 + 3);
        }
        a0 = a;
        b0 = b;
        // copy a[off..off+n) -> b[off+3..)
        uk.copy(b.data() + off + 3, a.data() + off, n);
        bool ok = true;
        for (size_t k = 0; k < b.size(); ++k) {
          const bool inside = k >= off + 3 && k < off + 3 + n;
          ok &= b[k] == (inside ? a0[k - 3] : b0[k]);
        }
        CHECK(ok, "%s copy n=%zu off=%zu", isa_name(isa), n, off);
        CHECK(a == a0, "%s copy modified its source", isa_name(isa));

        b = b0;
        uk.zero(b.data() + off, n);
        ok = true;
        for (size_t k = 0; k < b.size(); ++k) {
          ok &= b[k] == ((k >= off && k < off + n) ? 0 : b0[k]);
        }
        CHECK(ok, "%s zero n=%zu off=%zu", isa_name(isa), n, off);

        b = b0;
        uk.swap(a.data() + off, b.data() + off + 5, n);
        ok = true;
        for (size_t k = 0; k < a.size(); ++k) {
          ok &= a[k] == ((k >= off && k < off + n) ? b0[k + 5] : a0[k]);
        }
        for (size_t k = 0; k < b.size(); ++k) {
          ok &= b[k] == ((k >= off + 5 && k < off + 5 + n) ? a0[k - 5] : b0[k]);
        }
        CHECK(ok, "%s swap n=%zu off=%zu", isa_name(isa), n, off);
      }
    }
  }
  return TEST_MAIN_RESULT("move_ukernels");
}
