"""Temporal-shift family: fastvfx against the upstream PyTorch formulations.

pytest-benchmark times the fastvfx op; the baseline (and, where they apply,
the x.clone() floor and a memcpy of x) run in pedantic's setup,
which is untimed and called before every round, so both alternate round by
round. No test asserts on time.
"""

from __future__ import annotations

import pytest

from fastvfx import benchmark as fvb


@pytest.mark.parametrize("case", fvb.cases(), ids=lambda case: case.id)
def test_temporal_shift(case: fvb.Case, benchmark, bench_budget: fvb.Budget, record_result) -> None:
    fvb.verify(case)
    calls = fvb.prepare(case)
    rounds = fvb.warm_up(calls, bench_budget)
    candidate = calls.pop("fastvfx")
    references = fvb.InterleavedTimer(calls)

    benchmark.group = case.op
    # Warm-up already ran (all calls), hence warmup_rounds=0.
    benchmark.pedantic(candidate, setup=references.round, rounds=rounds, iterations=1, warmup_rounds=0)
    if not benchmark.enabled:
        return

    stats = references.stats()
    stats["fastvfx"] = fvb.summarize(benchmark.stats.stats.data)
    result = fvb.Result(case, stats)
    benchmark.extra_info.update(result.summary())
    record_result(result)
