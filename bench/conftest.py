"""pytest-benchmark setup for fastvfx: the measuring budget, the timing of one
case, and a ratio table.

``FASTVFX_BENCH_QUICK=1`` (set by CI) selects the quick budget. The table
printed at the end sets every fastvfx time against its baseline and, for the
shift ops, against clone and memcpy, all measured in this process, then the
summary of the run (geometric means per family, where fastvfx wins). The
pytest suites measure each case once (no re-measuring for noise).

pytest-benchmark times the fastvfx op; the baseline (and, where they apply,
the x.clone() floor and a memcpy of x) run in pedantic's setup, which is
untimed and called before every round, so both alternate round by round. No
test asserts on time.
"""

from __future__ import annotations

import os

import pytest

from fastvfx import bench as fvb

_RESULTS = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS] = []
    # As `fastvfx bench` does: timings that do not depend on the earlier cases' allocations.
    fvb.keep_freed_memory()


@pytest.fixture(scope="session")
def bench_budget() -> fvb.Budget:
    return fvb.QUICK if os.environ.get("FASTVFX_BENCH_QUICK") == "1" else fvb.DEFAULT


@pytest.fixture
def record_result(request: pytest.FixtureRequest):
    """Append a fastvfx.bench.Result to the end-of-run table."""
    return request.config.stash[_RESULTS].append


@pytest.fixture
def run_case(benchmark, bench_budget: fvb.Budget, record_result):
    """Verify a fastvfx.bench.Case, time it against its baseline and
    record the result."""

    def run(case: fvb.Case) -> None:
        with fvb.threads_for(case):
            _run(case)

    def _run(case: fvb.Case) -> None:
        fvb.verify(case)
        calls, skipped = fvb.prepare(case)
        rounds = fvb.warm_up(calls, bench_budget)
        candidate = calls.pop("fastvfx")
        references = fvb.InterleavedTimer(calls)

        benchmark.group = case.op
        # Warm-up already ran (all calls), hence warmup_rounds=0.
        benchmark.pedantic(candidate, setup=references.round, rounds=rounds, iterations=1, warmup_rounds=0)
        if not benchmark.enabled:
            return

        stats = references.stats()
        candidate_times = benchmark.stats.stats.data
        stats["fastvfx"] = fvb.summarize(candidate_times)
        # setup ran the references' round right before each candidate call:
        # the i-th samples share a round.
        ratios = fvb.summarize([b / f for b, f in zip(references.samples["baseline"], candidate_times) if f > 0])
        result = fvb.Result(case, stats, skipped=skipped, ratios=ratios)
        benchmark.extra_info.update(result.summary())
        record_result(result)

    return run


# trylast: print after pytest-benchmark's own tables, as the run's last word.
@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, [])
    terminalreporter.section("fastvfx vs baseline (medians, this run)")
    if not results:
        # --benchmark-disable runs each candidate once, untimed: nothing to compare.
        terminalreporter.write_line("no timings recorded (benchmarks disabled or none ran)")
        return
    for line in fvb.format_table(results).splitlines():
        terminalreporter.write_line(line)
    for line in fvb.summary_lines([(fvb.family_of(result.case), result) for result in results]):
        terminalreporter.write_line(line)
