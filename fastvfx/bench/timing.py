"""How a case is timed: a budget of rounds, interleaved rounds of the
baseline beside the candidate (DESIGN.md, "What fast means here"), and the
statistics kept of them."""

from __future__ import annotations

import dataclasses
import statistics
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


class InterleavedTimer:
    """Times named callables in rounds (A B C, A B C, ...), so that machine
    noise (clock changes, other processes) hits all of them alike."""

    def __init__(self, calls: dict[str, Callable[[], object]], sync: Optional[Callable[[], None]] = None):
        self.calls = dict(calls)
        # Called after each call inside its timing (torch.cuda.synchronize on CUDA).
        self.sync = sync or (lambda: None)
        self.samples: dict[str, list[float]] = {name: [] for name in self.calls}

    def round(self) -> None:
        """Run each callable once and record its time."""
        for name, call in self.calls.items():
            start = time.perf_counter()
            call()
            self.sync()
            self.samples[name].append(time.perf_counter() - start)

    def stats(self) -> dict[str, dict]:
        return {name: summarize(samples) for name, samples in self.samples.items()}


def measure_interleaved(calls: dict[str, Callable[[], object]], repeats: int, warmup: int,
                        sync: Optional[Callable[[], None]] = None) -> dict[str, dict]:
    """``warmup`` untimed rounds, then ``repeats`` timed rounds of all calls."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    timer = InterleavedTimer(calls, sync)
    for _ in range(repeats):
        timer.round()
    return timer.stats()


def warm_up(calls: dict[str, Callable[[], object]], budget: Budget,
            sync: Optional[Callable[[], None]] = None) -> int:
    """Run the budget's warm-up rounds; return how many timed rounds fit it."""
    for _ in range(budget.warmup):
        start = time.perf_counter()
        for call in calls.values():
            call()
        if sync:
            sync()
        seconds_per_round = time.perf_counter() - start
    return budget.rounds_for(seconds_per_round)


def memcpy_call(nbytes: int, device: torch.device = torch.device("cpu")) -> Callable[[], object]:
    """``dst.copy_(src)`` on preallocated float32 buffers of ``nbytes`` each.

    torch's parallel copy is the practical memcpy roof here. Both buffers are
    written once so that page faults stay out of the timing.
    """
    src = torch.ones(nbytes // 4, device=device)
    dst = torch.zeros_like(src)
    return partial(dst.copy_, src)
