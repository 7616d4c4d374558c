#include "fastvfx/isa.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__arm__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace fastvfx {
namespace {

constexpr const char* kNames[kIsaCount] = {"scalar", "avx2", "avx512", "neon"};

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
#endif
#if defined(__aarch64__)
    case Isa::kNeon:
      return true;  // AdvSIMD is part of the aarch64 base architecture.
#elif defined(__arm__) && defined(__linux__)
    case Isa::kNeon:
      // Optional on 32-bit ARM: the kernel says whether this core has it
      // (and the VFPv4 fused multiply-add the variants are compiled for).
      return (getauxval(AT_HWCAP) & HWCAP_NEON) != 0 && (getauxval(AT_HWCAP) & HWCAP_VFPv4) != 0;
#endif
    default:
      return false;
  }
}

Isa initial_isa() {
  const Isa best = best_isa();
  const char* requested = std::getenv("FASTVFX_ISA");
  if (requested == nullptr || *requested == '\0') return best;
  Isa isa;
  if (!isa_from_name(requested, &isa)) {
    std::fprintf(stderr, "fastvfx: FASTVFX_ISA=%s is not an ISA name (scalar, avx2, avx512, neon); using %s\n",
                 requested, isa_name(best));
    return best;
  }
  if (!isa_supported(isa)) {
    std::fprintf(stderr, "fastvfx: FASTVFX_ISA=%s is not %s; using %s\n", requested,
                 isa_compiled(isa) ? "supported by this CPU" : "compiled into this build",
                 isa_name(best));
    return best;
  }
  return isa;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_isa())};
  return slot;
}

}  // namespace

const char* isa_name(Isa isa) {
  const int i = static_cast<int>(isa);
  return (i >= 0 && i < kIsaCount) ? kNames[i] : "unknown";
}

bool isa_from_name(const char* name, Isa* out) {
  if (name == nullptr) return false;
  for (int i = 0; i < kIsaCount; ++i) {
    if (std::strcmp(name, kNames[i]) == 0) {
      *out = static_cast<Isa>(i);
      return true;
    }
  }
  return false;
}

bool isa_compiled(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
#if defined(FASTVFX_HAVE_AVX2)
    case Isa::kAvx2:
      return true;
#endif
#if defined(FASTVFX_HAVE_AVX512)
    case Isa::kAvx512:
      return true;
#endif
#if defined(FASTVFX_HAVE_NEON)
    case Isa::kNeon:
      return true;
#endif
    default:
      return false;
  }
}

bool isa_supported(Isa isa) { return isa_compiled(isa) && cpu_has(isa); }

Isa best_isa() {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kNeon}) {
    if (isa_supported(isa)) return isa;
  }
  return Isa::kScalar;
}

Isa active_isa() { return static_cast<Isa>(active_slot().load(std::memory_order_relaxed)); }

bool set_active_isa(Isa isa) {
  if (!isa_supported(isa)) return false;
  active_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

}  // namespace fastvfx
