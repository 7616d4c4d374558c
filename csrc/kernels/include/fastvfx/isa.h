// Instruction-set variants of the core kernels and the runtime choice among them.
//
// The variant is chosen once, when the library is loaded: the best one this CPU
// runs, unless the environment variable FASTVFX_ISA names another (scalar, avx2,
// avx512, neon). Tests and benchmarks switch it at run time with set_active_isa.
#pragma once

namespace fastvfx {

enum class Isa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kNeon = 3 };

constexpr int kIsaCount = 4;

const char* isa_name(Isa isa);
// Parses a name as isa_name prints it; returns false for an unknown name.
bool isa_from_name(const char* name, Isa* out);
// Built into this library (the compiler targeted it).
bool isa_compiled(Isa isa);
// Built in and runnable on this CPU.
bool isa_supported(Isa isa);
Isa best_isa();
Isa active_isa();
// Returns false (and changes nothing) when the ISA is not supported here.
bool set_active_isa(Isa isa);

}  // namespace fastvfx
