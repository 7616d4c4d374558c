// Huge pages for large fresh outputs (Linux transparent huge pages).
#pragma once

#include <ATen/ATen.h>

namespace fastvfx::ops {

// Outputs of at least this many bytes ask for huge pages. glibc's malloc maps
// every block from 32 MiB on freshly (its mmap threshold never grows past
// that), so such an output is untouched memory whose pages the kernel would
// otherwise fault in and zero 4 KiB at a time: a 51 MB shifted clip spent
// more of its time in those faults than in the copy.
constexpr int64_t kHugePageAdviceBytes = int64_t{32} << 20;

// madvise(MADV_HUGEPAGE) on the whole 2 MiB pages inside a fresh CPU tensor
// of kHugePageAdviceBytes or more, before anything writes it (THP "madvise"
// mode then backs them with huge pages; "always" does anyway, "never"
// ignores it). Advice only: no effect on the values, a refusal is ignored.
// FASTVFX_HUGE_PAGES=0 in the environment turns it off.
void advise_huge_pages(const at::Tensor& fresh);

}  // namespace fastvfx::ops
