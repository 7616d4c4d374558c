"""The ``fastvfx`` command: ``fastvfx info`` and ``fastvfx bench``."""

from __future__ import annotations

import argparse
import sys


def _cmd_info(args: argparse.Namespace) -> int:
    import fastvfx

    for key, value in fastvfx.info().items():
        print(f"{key:>22}: {value}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from . import benchmark

    return benchmark.run_report(quick=args.quick, out_dir=args.out, threads=args.threads, family=args.only)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fastvfx", description="fastvfx: fast ops for efficient video networks")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="print build and runtime information")
    p_info.set_defaults(func=_cmd_info)
    p_bench = sub.add_parser("bench", help="measure fastvfx against the PyTorch baselines on this machine")
    p_bench.add_argument("--quick", action="store_true", help="fewer repeats (under a minute)")
    p_bench.add_argument("--out", default="fastvfx-report", help="report folder (default: ./fastvfx-report)")
    p_bench.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    p_bench.add_argument("--only", choices=["shift", "dwconv3d", "tfc", "models"], default=None,
                         help="one family: temporal shift, causal depthwise Conv3D, Temporal Focus Convolution, "
                              "or the reference models (default: all)")
    p_bench.set_defaults(func=_cmd_bench)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
