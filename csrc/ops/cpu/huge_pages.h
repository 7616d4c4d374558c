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
// ignores it), when the advice is switched on. Advice only: no effect on the
// values, a refusal is ignored.
//
// Off by default (opt-in, as torch's THP_MEM_ALLOC_ENABLE is): the median
// gain is large (a 51 MB shift 2.5-3x faster), but where the kernel runs in
// a VM whose balloon reports free pages to the host (virtio-balloon free page
// reporting: the guest's free 2 MiB blocks are handed back and faulted in
// again by the host on the next touch), two threads faulting huge pages at
// once came in slow bursts: a plain two-thread memcpy into a fresh 51 MB
// mapping took 5-8 ms at the median with the advice against 15 without, but
// 18-55 ms at the 90th percentile, and whole bench cases stayed slow in
// every round. FASTVFX_HUGE_PAGES=1 in the environment (read at load) or
// set_huge_pages(true) turns it on.
void advise_huge_pages(const at::Tensor& fresh);

bool huge_pages_enabled();
void set_huge_pages(bool enabled);

}  // namespace fastvfx::ops
