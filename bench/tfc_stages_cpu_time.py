"""TFC 1x1 on the SqueezeTime stages, timed by process CPU time at one thread.

On a shared machine wall time swings with the scheduler; at one thread the
process's CPU time (time.process_time) leaves out the time it sat
descheduled. Per stage and batch, blocks of calls interleave SqueezeTime's
chain of modules and the fused module (the bench's own pair,
fastvfx.bench.tfc), eval mode, no grad; the minimum over 25 blocks is kept.
Prints the per-call CPU times, their ratio and the geometric mean per batch
(the goal in docs/tfc.md is stated for `fastvfx bench --only tfc`, two
threads, wall time: these one-thread ratios are a proxy for a loaded
machine, not that figure).

    python bench/tfc_stages_cpu_time.py

Run it from outside the source tree (or with the package installed).
"""

import time

import torch

from fastvfx.bench.tfc import TFC_BATCHES, TFC_STAGES, _make_tfc


def _cpu_ms(fn, calls):
    t0 = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t0) / calls * 1e3


def main():
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    for n in TFC_BATCHES:
        product = 1.0
        for c, hw in TFC_STAGES:
            x, upstream, fused = _make_tfc((n, c, hw, hw), 1)
            calls = 40 if n == 1 else 8
            fns = {"upstream": lambda: upstream(x), "fused": lambda: fused(x)}
            times = {k: [] for k in fns}
            for fn in fns.values():
                fn()
                fn()
            for _ in range(25):
                for k, fn in fns.items():
                    times[k].append(_cpu_ms(fn, calls))
            up, fu = min(times["upstream"]), min(times["fused"])
            product *= up / fu
            print(f"{n}x{c}x{hw}x{hw}  upstream {up:.3f} ms  fused {fu:.3f} ms  {up / fu:.2f}x", flush=True)
        print(f"batch {n}: geometric mean {product ** (1 / len(TFC_STAGES)):.2f}x", flush=True)


if __name__ == "__main__":
    main()
