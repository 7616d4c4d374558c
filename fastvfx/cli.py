"""The ``fastvfx`` command: ``fastvfx info``, ``fastvfx bench``, ``fastvfx stream``."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def _cmd_info(args: argparse.Namespace) -> int:
    import fastvfx

    for key, value in fastvfx.info().items():
        print(f"{key:>22}: {value}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import report, run

    if args.compare:
        return run.compare(*args.compare)
    if args.list:
        for family, case in run.family_cases([args.only] if args.only else None, args.filter):
            print(f"{family:<9} {case.id}")
        return 0
    problem = report.check_out_dir(args.out) or run.device_problem(args.device)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return run.run_report(quick=args.quick, out_dir=args.out, threads=args.threads, family=args.only,
                          pattern=args.filter, device=args.device)


def _cmd_stream(args: argparse.Namespace) -> int:
    from .stream import run_stream

    return run_stream(frames=args.frames, backend=args.backend, size=args.size, batch=args.batch,
                      warmup=args.warmup, threads=args.threads, conv_type=args.conv_type, json_path=args.json)


def _int_at_least(minimum: int):
    """An argparse type: an integer >= minimum, with a clear message otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _families() -> list[str]:
    from .bench.run import FAMILIES

    return list(FAMILIES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fastvfx", description="fastvfx: fast ops for efficient video networks")
    parser.add_argument("--version", action="version", version=f"fastvfx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="print build and runtime information")
    p_info.set_defaults(func=_cmd_info)
    p_bench = sub.add_parser("bench", help="measure fastvfx against the PyTorch baselines on this machine")
    p_bench.add_argument("--quick", action="store_true", help="fewer repeats (under a minute)")
    p_bench.add_argument("--out", default="fastvfx-report", help="report folder (default: ./fastvfx-report)")
    p_bench.add_argument("--threads", type=_positive_int, default=None,
                         help="torch threads (default: torch's default)")
    p_bench.add_argument("--only", choices=list(_families()), default=None,
                         help="one family of cases (default: all)")
    p_bench.add_argument("--filter", default=None, metavar="TEXT",
                         help="only the cases whose id or label contains TEXT (see --list)")
    p_bench.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                         help="build and time the cases on this device (default: cpu)")
    p_bench.add_argument("--list", action="store_true", help="list the cases (family and id) and exit")
    p_bench.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None,
                         help="compare two report.json files case by case: exit 1 when a speed-up differs "
                              "by more than 15%% (run-to-run agreement check)")
    p_bench.set_defaults(func=_cmd_bench)
    p_stream = sub.add_parser("stream", help="stream synthetic frames through MoViNet-A0: latency and memory")
    p_stream.add_argument("--frames", type=_positive_int, default=300, help="timed frames (default: 300)")
    p_stream.add_argument("--warmup", type=_non_negative_int, default=10, help="untimed frames first (default: 10)")
    p_stream.add_argument("--backend", choices=["both", "torch", "fastvfx"], default="both",
                          help="model backend; both: same weights, compared (default)")
    p_stream.add_argument("--conv-type", choices=["3d", "2plus1d"], default="3d",
                          help="MoViNet depthwise convs: 3d or (2+1)d (default: 3d)")
    p_stream.add_argument("--size", type=_positive_int, default=172, help="frame height and width (default: 172)")
    p_stream.add_argument("--batch", type=_positive_int, default=1, help="streams in parallel (default: 1)")
    p_stream.add_argument("--threads", type=_positive_int, default=None, help="torch threads (default: torch's)")
    p_stream.add_argument("--json", default=None, metavar="PATH", help="also write the figures as JSON")
    p_stream.set_defaults(func=_cmd_stream)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
