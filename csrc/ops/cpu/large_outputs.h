// Large fresh outputs: their pages faulted in ahead of the kernel, in
// parallel, or (opt-in) backed by Linux transparent huge pages.
#pragma once

#include <ATen/ATen.h>

namespace fastvfx::ops {

// Outputs of at least this many bytes are prepared. glibc's malloc maps every
// block from 32 MiB on freshly (its mmap threshold never grows past that), so
// such an output is untouched memory whose pages the kernel faults in and
// zeroes 4 KiB at a time as the op first writes them: a 51 MB shifted clip
// spent more of its time in those faults than in the copy.
constexpr int64_t kLargeOutputBytes = int64_t{32} << 20;

// Called on a fresh CPU output of kLargeOutputBytes or more before anything
// writes it; never changes values.
//
// By default its pages are faulted in ahead of the kernel with
// MADV_POPULATE_WRITE (Linux 5.14; an older kernel refuses it and the op's
// writes fault them in as before), in 2 MiB chunks spread over torch's
// threads: one system call per chunk instead of a trap per 4 KiB page.
// Memory already in place (its last page resident: an allocator that keeps
// large blocks) is left as it is. FASTVFX_PREFAULT=0 in the environment (read
// at load) turns this off.
//
// With the huge-page advice switched on it instead asks for transparent huge
// pages: madvise(MADV_HUGEPAGE) on the whole 2 MiB pages inside (THP
// "madvise" mode then backs them with huge pages; "always" does anyway,
// "never" ignores it). That advice is off by default (opt-in, as torch's
// THP_MEM_ALLOC_ENABLE is): the median gain is large (a 51 MB shift 2.5-3x
// faster), but where the kernel runs in a VM whose balloon reports free pages
// to the host (virtio-balloon free page reporting: the guest's free 2 MiB
// blocks are handed back and faulted in again by the host on the next touch),
// two threads faulting huge pages at once came in slow bursts: a plain
// two-thread memcpy into a fresh 51 MB mapping took 5-8 ms at the median with
// the advice against 15 without, but 18-55 ms at the 90th percentile, and
// whole bench cases stayed slow in every round. FASTVFX_HUGE_PAGES=1 in the
// environment (read at load) or set_huge_pages(true) turns it on.
void prepare_large_output(const at::Tensor& fresh);

// Whether the prefault is on (off with FASTVFX_PREFAULT=0, off the Linux
// kernel, or after a kernel without MADV_POPULATE_WRITE refused it).
bool prefault_enabled();

bool huge_pages_enabled();
void set_huge_pages(bool enabled);

}  // namespace fastvfx::ops
