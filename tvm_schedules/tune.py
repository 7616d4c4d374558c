"""Tune the kernels of a shape set with MetaSchedule.

    python -m tvm_schedules.tune --target host --trials 64 [--shapes squeezetime-k400] [--db DIR]
    python -m tvm_schedules.tune --target rpi4 --trials 256 --rpc-tracker HOST:9190 --rpc-key rpi4

Without a tracker the candidates run on this machine (only meaningful for
``--target host``); with one, every candidate is cross-compiled here into a
shared library, uploaded to a board that runs ``python -m
tvm.exec.rpc_server --tracker HOST:9190 --key KEY`` and timed there. The
records go to a persistent JSON database directory (default
``tvm_db/<target>``); a later run continues it, and ``python -m
tvm_schedules.build --db DIR`` applies the best schedule of each kernel.
In-place kernels (the in-place / online shifts, the streaming step's ring
update) are not tuned: a search may reorder the loops their correctness
relies on; they keep their hand schedules.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from typing import Optional, Sequence

from . import shapes as shape_sets
from . import targets
from .kernel import Kernel


class TuneError(RuntimeError):
    """A tuning run that cannot start, with a message meant for the user."""


def parse_tracker(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise TuneError(f"--rpc-tracker must be HOST:PORT, got {value!r}")
    return host, int(port)


def check_tracker(host: str, port: int, timeout: float = 5.0) -> None:
    """Fail early, with a clear message, when the tracker cannot be reached."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise TuneError(
            f"cannot reach the RPC tracker at {host}:{port} ({err.strerror or err}); start it with "
            "python -m tvm.exec.rpc_tracker --host 0.0.0.0 --port 9190 and the board's "
            "python -m tvm.exec.rpc_server --tracker HOST:9190 --key KEY"
        ) from None


def select_kernels(shape_set: str, names: Optional[Sequence[str]] = None) -> list[Kernel]:
    kernels = [k for k in shape_sets.kernels_of(shape_set) if k.tunable]
    if names:
        known = {k.name for k in kernels}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise TuneError(f"no tunable kernel named {', '.join(unknown)} in {shape_set!r}; "
                            f"tunable kernels: {', '.join(sorted(known))}")
        kernels = [k for k in kernels if k.name in names]
    if not kernels:
        raise TuneError(f"shape set {shape_set!r} has no tunable kernel")
    return kernels


def _builder(target_name: str, workers: int):
    """A LocalBuilder whose workers build with tvm.tirx.build directly.

    The default build function imports tvm.s_tir.tensor_intrin (~40 s here,
    mostly CUDA intrinsics) in every fresh worker and times out; nothing on a
    CPU target needs it. For a board the export cross-compiles a shared
    library (the default exports a .tar that needs a compiler on the board).
    The functions are closures so that cloudpickle sends them by value: the
    workers need not import tvm_schedules.
    """
    from tvm.s_tir import meta_schedule as ms

    compiler = targets.cross_compiler(target_name)

    def f_build(mod, target, _params):
        import tvm

        return tvm.tirx.build(mod, target=target)

    def f_export(mod):
        import os as os_
        import tempfile

        path = os_.path.join(tempfile.mkdtemp(), "candidate.so")
        if compiler is None:
            mod.export_library(path)
        else:
            from tvm.support import cc

            mod.export_library(path, fcompile=cc.cross_compiler(compiler))
        return path

    return ms.builder.LocalBuilder(max_workers=workers, timeout_sec=60.0, f_build=f_build, f_export=f_export)


def _runner(tracker: Optional[tuple[str, int]], key: Optional[str]):
    from tvm.s_tir import meta_schedule as ms

    evaluator = ms.runner.EvaluatorConfig(number=3, repeat=1, min_repeat_ms=50, enable_cpu_cache_flush=False)
    if tracker is None:
        return ms.runner.LocalRunner(evaluator_config=evaluator, timeout_sec=60.0)
    config = ms.runner.RPCConfig(tracker_host=tracker[0], tracker_port=tracker[1], tracker_key=key,
                                 session_timeout_sec=120)
    return ms.runner.RPCRunner(rpc_config=config, evaluator_config=evaluator, max_workers=1)


def _progress_callback(total: int, names: list[str], log):
    from tvm.s_tir import meta_schedule as ms
    from tvm.ir.utils import derived_object

    @derived_object
    class Progress(ms.measure_callback.PyMeasureCallback):
        """One line per measured batch: trials so far, the batch's best and
        the best so far of that kernel."""

        def __init__(self):
            self.done = 0
            self.best: dict[int, float] = {}
            self.start = time.time()

        def apply(self, task_scheduler, task_id, measure_candidates, builder_results, runner_results):
            self.done += len(runner_results)
            times = []
            for build, run in zip(builder_results, runner_results):
                if build.error_msg is None and run.error_msg is None and run.run_secs:
                    times.append(min(float(s) for s in run.run_secs))
            failed = len(runner_results) - len(times)
            if times:
                self.best[task_id] = min(self.best.get(task_id, float("inf")), min(times))
            best = self.best.get(task_id)
            # The last batch may run past the budget: MetaSchedule measures whole batches.
            log(f"[{self.done:>4} trials, budget {total}] {names[task_id]:<30} batch best "
                f"{'-' if not times else f'{1e3 * min(times):.4f} ms'}  kernel best "
                f"{'-' if best is None else f'{1e3 * best:.4f} ms'}"
                f"{f'  ({failed} failed)' if failed else ''}  {time.time() - self.start:.0f}s")

    return Progress()


def _search_strategy(trials: int):
    """MetaSchedule's evolutionary search, its population scaled down for
    short runs: the default (512 candidates evolved 4 times, ~35 s per batch
    on 2 cores for a TFC) only pays off over hundreds of trials."""
    from tvm.s_tir import meta_schedule as ms

    if trials >= 128:
        return ms.search_strategy.EvolutionarySearch()
    return ms.search_strategy.EvolutionarySearch(population_size=max(32, 4 * trials), init_min_unmeasured=16,
                                                 genetic_num_iters=1 if trials < 32 else 2)


def default_cost_model() -> str:
    try:
        import xgboost  # noqa: F401
    except ImportError:
        return "random"
    return "xgb"


def tune(target_name: str, trials: int, shape_set: str = "small", kernel_names: Optional[Sequence[str]] = None,
         db_dir: Optional[str] = None, tracker: Optional[str] = None, key: Optional[str] = None,
         cost_model: Optional[str] = None, trials_per_iter: int = 16, workers: int = 1, seed: int = 0,
         log=print) -> str:
    """Run MetaSchedule; returns the database directory."""
    target_dict = targets.target_dict(target_name)  # unknown target: ValueError
    if trials < 1:
        raise TuneError(f"--trials must be >= 1, got {trials}")
    tracker_addr = None
    if tracker:
        if not key:
            raise TuneError("--rpc-tracker needs --rpc-key (the key the board's rpc_server registered)")
        tracker_addr = parse_tracker(tracker)
        check_tracker(*tracker_addr)
    elif targets.is_cross(target_name):
        raise TuneError(f"target {target_name!r} is a board: candidates must run there, pass "
                        "--rpc-tracker HOST:PORT --rpc-key KEY (or tune --target host)")
    kernels = select_kernels(shape_set, kernel_names)
    db_dir = db_dir or os.path.join("tvm_db", target_name)
    os.makedirs(db_dir, exist_ok=True)
    cost_model = cost_model or default_cost_model()
    if cost_model == "xgb":
        try:
            import xgboost  # noqa: F401
        except ImportError:
            raise TuneError("--cost-model xgb needs xgboost (pip install xgboost-cpu); or use --cost-model random") \
                from None

    import tvm
    from tvm.s_tir import meta_schedule as ms

    mod = tvm.IRModule({k.name: k.prim_func() for k in kernels})
    names = sorted(k.name for k in kernels)  # tune_tir orders its tasks by name
    log(f"tuning {len(kernels)} kernel(s) of {shape_set!r} for {target_name!r} ({target_dict}), {trials} trials, "
        f"cost model {cost_model}, {'RPC ' + tracker if tracker else 'local runner'}, database {db_dir}")
    callbacks = ms.measure_callback.MeasureCallback.create("default") + [_progress_callback(trials, names, log)]
    database = ms.database.JSONDatabase(work_dir=db_dir)
    ms.tune_tir(
        mod, tvm.target.Target(target_dict), os.path.join(db_dir, "work"), max_trials_global=trials,
        num_trials_per_iter=min(trials_per_iter, trials), builder=_builder(target_name, workers),
        runner=_runner(tracker_addr, key), database=database, cost_model=cost_model,
        measure_callbacks=callbacks, strategy=_search_strategy(trials), num_tuning_cores=max(1, min(2, os.cpu_count() or 1)), seed=seed,
    )
    log(f"done; build with: python -m tvm_schedules.build --target {target_name} --shapes {shape_set} "
        f"--db {db_dir} --out DIR")
    return db_dir


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tvm_schedules.tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help=f"one of: {', '.join(targets.target_names())}")
    parser.add_argument("--trials", type=int, required=True, help="measured candidates in all")
    parser.add_argument("--shapes", default="small", help=f"shape set, one of: {', '.join(shape_sets.SHAPE_SETS)}")
    parser.add_argument("--kernels", help="comma-separated kernel names of the shape set (default: all tunable)")
    parser.add_argument("--db", help="database directory (default: tvm_db/<target>); reused across runs")
    parser.add_argument("--rpc-tracker", metavar="HOST:PORT", help="RPC tracker the board is registered with")
    parser.add_argument("--rpc-key", metavar="KEY", help="the board's key at the tracker")
    parser.add_argument("--cost-model", choices=("xgb", "random"), help="default: xgb if xgboost is installed")
    parser.add_argument("--trials-per-iter", type=int, default=16, help="candidates measured per batch")
    parser.add_argument("--workers", type=int, default=1, help="parallel build workers (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        targets.target_dict(args.target)
        shape_sets.kernels_of(args.shapes)
        tune(args.target, args.trials, args.shapes, args.kernels.split(",") if args.kernels else None, args.db,
             args.rpc_tracker, args.rpc_key, args.cost_model, args.trials_per_iter, args.workers, args.seed,
             log=lambda line: print(line, flush=True))
    except (ValueError, TuneError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
