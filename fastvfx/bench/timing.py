"""How a case is timed: a budget of rounds, interleaved rounds of the
baseline beside the candidate (DESIGN.md, "What fast means here"), and the
statistics kept of them."""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import math
import statistics
import sys
import time
from functools import partial
from typing import Callable, Optional, Sequence

import torch


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long one case is measured: ``warmup`` rounds, then as many rounds
    as fit in ``seconds``, clamped to ``[min_rounds, max_rounds]``."""

    warmup: int
    min_rounds: int
    max_rounds: int
    seconds: float
    # Re-measurements of a case whose spread stays above NOISY_SPREAD.
    retries: int = 2

    def rounds_for(self, seconds_per_round: float) -> int:
        fit = int(self.seconds / max(seconds_per_round, 1e-9))
        return max(self.min_rounds, min(self.max_rounds, fit))


QUICK = Budget(warmup=2, min_rounds=5, max_rounds=100, seconds=0.25, retries=1)
DEFAULT = Budget(warmup=3, min_rounds=20, max_rounds=1000, seconds=2.0, retries=2)

# A call whose interquartile range exceeds this fraction of its median is noisy:
# its median, and the ratios taken of it, can move by about as much between runs.
NOISY_SPREAD = 0.10


def summarize(samples: Sequence[float]) -> dict:
    """Statistics of per-call times in seconds; ``spread`` is the
    interquartile range over the median (0 for a single sample)."""
    median = statistics.median(samples)
    if len(samples) > 1:
        q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    else:
        q1 = q3 = median
    return {
        "median_s": median,
        "min_s": min(samples),
        "mean_s": statistics.fmean(samples),
        "max_s": max(samples),
        "q1_s": q1,
        "q3_s": q3,
        "spread": (q3 - q1) / median if median > 0 else 0.0,
        "repeats": len(samples),
    }


# A sample shorter than this is at the mercy of one interrupt or one
# descheduling: when a case's fastest call is that fast, every call of the
# case runs several times in a row within its sample, and the sample is their
# mean (at most MAX_REPEAT calls). One count for all calls of a case: with
# counts of their own, a fast call's later repeats found warm caches that the
# baseline, timed once per sample, never did.
MIN_SAMPLE_S = 2e-4
MAX_REPEAT = 100


class InterleavedTimer:
    """Times named callables in rounds (A B C, A B C, ...), so that machine
    noise (clock changes, other processes) hits all of them alike.
    ``repeat[name]`` calls make one sample of ``name`` (default 1)."""

    def __init__(self, calls: dict[str, Callable[[], object]], sync: Optional[Callable[[], None]] = None,
                 repeat: Optional[dict[str, int]] = None):
        self.calls = dict(calls)
        # Called after each sample's calls inside its timing (torch.cuda.synchronize on CUDA).
        self.sync = sync or (lambda: None)
        self.repeat = {name: max(1, (repeat or {}).get(name, 1)) for name in self.calls}
        self.samples: dict[str, list[float]] = {name: [] for name in self.calls}

    def round(self) -> None:
        """Take one sample of each callable: its time per call."""
        for name, call in self.calls.items():
            count = self.repeat[name]
            start = time.perf_counter()
            for _ in range(count):
                call()
            self.sync()
            self.samples[name].append((time.perf_counter() - start) / count)

    def stats(self) -> dict[str, dict]:
        return {name: summarize(samples) for name, samples in self.samples.items()}

    def paired_ratios(self, numerator: str, denominator: str) -> list[float]:
        """numerator's time over denominator's, round by round: a slow
        stretch of the machine that hits both calls of a round cancels."""
        return [a / b for a, b in zip(self.samples[numerator], self.samples[denominator]) if b > 0]


def warm_up(calls: dict[str, Callable[[], object]], budget: Budget,
            sync: Optional[Callable[[], None]] = None) -> int:
    """Run the budget's warm-up rounds; return how many timed rounds fit it."""
    return plan_rounds(calls, budget, sync, min_sample_s=0.0)[0]


def plan_rounds(calls: dict[str, Callable[[], object]], budget: Budget, sync: Optional[Callable[[], None]] = None,
                min_sample_s: float = MIN_SAMPLE_S) -> tuple[int, dict[str, int]]:
    """Run the budget's warm-up rounds; return how many timed rounds fit the
    budget and how many calls make one sample: the same count for every
    callable, enough for the fastest one's sample to last ``min_sample_s``
    (its quickest warm-up call decides, so that one slow call does not)."""
    seconds = {name: math.inf for name in calls}
    last = dict(seconds)
    for _ in range(max(1, budget.warmup)):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            if sync:
                sync()
            last[name] = time.perf_counter() - start
            seconds[name] = min(seconds[name], last[name])
    count = min(MAX_REPEAT, max(1, math.ceil(min_sample_s / max(min(seconds.values()), 1e-9))))
    seconds_per_round = count * sum(last.values())
    return budget.rounds_for(seconds_per_round), {name: count for name in calls}


# glibc's mallopt parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's largest mmap threshold on 64-bit systems.
KEPT_ALLOCATION_BYTES = 32 << 20


def keep_freed_memory() -> Optional[str]:
    """Make glibc's malloc keep freed memory for the process's next
    allocations (allocations under 32 MiB from the heap, the heap never
    trimmed), as jemalloc or tcmalloc would; return what was set, or None
    where the C library is not glibc.

    By default glibc serves a large allocation with a fresh mmap until an
    earlier one of that size was freed, and gives the heap's free top back
    to the system; whether a case's tensors then come back as page-faulting
    fresh pages (a 6 MB intermediate: about 1,500 faults) depends on the
    cases that ran before it in the process. One case timed 2.7 or 9.8 ms,
    every contender's time moved, and two runs of ``fastvfx bench`` did not
    agree. Kept memory removes that from every contender alike; tensors of
    32 MiB and more still come fresh from the system (the 64-frame clips)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        version = libc.gnu_get_libc_version().decode()
    except (OSError, AttributeError):  # not glibc (musl has no mallopt / gnu_get_libc_version)
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if not (mallopt(_M_MMAP_THRESHOLD, KEPT_ALLOCATION_BYTES) and mallopt(_M_TRIM_THRESHOLD, 1 << 30)):
        return None
    return f"glibc {version} malloc keeps freed memory (mmap threshold 32 MiB, no trimming; set by fastvfx bench)"


def memcpy_call(nbytes: int, device: torch.device = torch.device("cpu")) -> Callable[[], object]:
    """``dst.copy_(src)`` on preallocated float32 buffers of ``nbytes`` each.

    torch's parallel copy is the practical memcpy roof here. Both buffers are
    written once so that page faults stay out of the timing.
    """
    src = torch.ones(nbytes // 4, device=device)
    dst = torch.zeros_like(src)
    return partial(dst.copy_, src)
